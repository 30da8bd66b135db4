import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../../local/iam/evaluate';
import { EVALUATOR_EXCEPTIONS, EVENTS_SOURCE_SINGLE_VALUED } from '../../../local/iam/exceptions';
import type { PolicyDocument } from '../../../local/iam/policies';

// Each place the evaluator is stricter than AWS documents: the raw evaluator shows the difference, the exception
// removes exactly it, and nothing else is loosened.
const account = '123456789012';
const bus = `arn:aws:events:eu-west-1:${account}:event-bus/default`;
const publisher: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: bus, Condition: { StringEquals: { 'events:source': 'keyrelay' } } }],
};
const caller = { callerArn: `arn:aws:sts::${account}:assumed-role/publisher/s`, identityPolicies: [{ name: 'p', policy: publisher }] };
const putEvents = (source: string) => ({ action: 'events:PutEvents', resource: bus, context: { 'events:source': [source] } });

describe('local IAM: evaluator exceptions', () => {
  it('lists each exception with the AWS page that documents the behaviour', () => {
    // Assess
    for (const e of EVALUATOR_EXCEPTIONS) expect(e.source).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
  });

  it('events:source: the raw evaluator refuses the plain StringEquals of AWS\'s own examples', async () => {
    // Act
    const raw = await runSimulation(
      {
        request: { principal: caller.callerArn, action: 'events:PutEvents', resource: { resource: bus, accountId: account }, contextVariables: { 'events:source': ['keyrelay'] } },
        identityPolicies: [{ name: 'p', policy: publisher }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      { simulationMode: 'Strict' },
    );
    // Assess: if this starts passing, the exception is no longer needed: remove it.
    expect(raw.resultType !== 'error' && raw.overallResult).toBe('ImplicitlyDenied');
  });

  it('events:source: with the exception, the named source is allowed and any other still refused', async () => {
    // Act
    const keyrelay = await evaluate(caller, putEvents('keyrelay'), account);
    const other = await evaluate(caller, putEvents('payments'), account);
    // Assess
    expect(keyrelay.result).toBe('Allowed');
    expect(other.result).toBe('ImplicitlyDenied');
  });

  it('events:source: leaves set operators and other keys as written', () => {
    // Prepare
    const condition = { 'ForAllValues:StringEquals': { 'events:source': ['a'] }, StringEquals: { 'aws:SourceAccount': account, 'events:source': 'b' } };
    // Act
    const out = EVENTS_SOURCE_SINGLE_VALUED.rewrite(condition);
    // Assess
    expect(out).toEqual({
      'ForAllValues:StringEquals': { 'events:source': ['a'] },
      StringEquals: { 'aws:SourceAccount': account },
      'ForAnyValue:StringEquals': { 'events:source': 'b' },
    });
  });
});
