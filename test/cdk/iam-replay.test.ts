import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../lib/config';
import { Enforcer } from '../../local/iam/enforcer';
import { LOCAL_PREFIX } from '../../local/iam';
import { synthesizeDeployment } from '../../local/iam/policies';
import { localPrincipals } from '../../local/iam/principals';
import type { CallFixture } from '../../local/iam/record-calls';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../local/stack';

// Call replay: every AWS call keyrelay's functions (and the services invoking them) made in the integration suite,
// recorded by the local IAM (test/cdk/fixtures/iam-calls.json, `npm run record:iam-calls`), judged again against
// freshly synthesized policies. A permission removed from lib/ fails here; a new call without its permission fails
// the integration suite at the endpoint, and then here once recorded. The denied list is what must never be allowed.
const fixture = JSON.parse(readFileSync(new URL('./fixtures/iam-calls.json', import.meta.url), 'utf8')) as CallFixture;
const secret = (name: string) => `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${name}-AAAAAA`;
const managed = { 'aws:ResourceTag/keyrelay:revoker': `${LOCAL_PREFIX}-revoker`, 'aws:ResourceTag/keyrelay:managed': 'v1' };
let enforcer: Enforcer;

beforeAll(() => {
  // The recording's configs: keys of the reference provider reading these admin secrets, replicated where calls went.
  const replicaRegions = fixture.replicaRegions ?? [];
  const config = resolveConfig({
    defaults: { provider: { type: 'reference' }, gracePeriod: '1h', ...(replicaRegions.length > 0 ? { replicaRegions } : {}) },
    keys: Object.fromEntries(fixture.adminSecrets.map((adminSecret, i) => [`replay/key-${i}`, { adminSecret }])),
    stacks: { prefix: LOCAL_PREFIX },
  });
  const deployment = synthesizeDeployment(config, { account: LOCAL_ACCOUNT, region: LOCAL_REGION });
  enforcer = new Enforcer({ deployment, principals: localPrincipals(deployment, config), lookup: async () => undefined, recordTo: '' });
});

describe('IAM call replay against the synthesized policies', () => {
  it('holds every function role and invoking service the integration suite saw', () => {
    // Assess: an empty or partial fixture would replay nothing.
    const principals = new Set(fixture.calls.map((c) => c.principal));
    for (const p of ['rotation', 'revoker', 'scheduler', 'secretsmanager.amazonaws.com', 'scheduler.amazonaws.com', 'events.amazonaws.com']) {
      expect(principals, p).toContain(p);
    }
    expect(fixture.calls.some((c) => c.principal === 'rotation' && c.action === 'secretsmanager:TagResource')).toBe(true);
  });

  it('allows every recorded call', async () => {
    // Act
    const refused: string[] = [];
    for (const call of fixture.calls) {
      const result = await enforcer.replay(call);
      if (result !== 'Allowed') refused.push(`${call.principal} ${call.action} ${call.resource} ${JSON.stringify(call.context)}: ${result}`);
    }
    // Assess
    expect(refused).toEqual([]);
  });

  const denied: Array<[string, { principal: string; action: string; resource: string; context: Record<string, string | string[]> }]> = [
    ['a secret keyrelay does not manage', { principal: 'rotation', action: 'secretsmanager:GetSecretValue', resource: secret('payments/db-password'), context: {} }],
    [
      "another deployment's secret",
      { principal: 'revoker', action: 'secretsmanager:GetSecretValue', resource: secret('payments/api'), context: { 'aws:ResourceTag/keyrelay:revoker': 'Other-revoker', 'aws:ResourceTag/keyrelay:managed': 'v1' } },
    ],
    [
      "another deployment's secret, written",
      { principal: 'rotation', action: 'secretsmanager:PutSecretValue', resource: secret('payments/api'), context: { 'aws:ResourceTag/keyrelay:revoker': 'Other-revoker' } },
    ],
    [
      "keyrelay's settings tags, by the rotation function",
      { principal: 'rotation', action: 'secretsmanager:TagResource', resource: secret('payments/api'), context: { ...managed, 'aws:TagKeys': ['keyrelay:grace-period'], 'aws:RequestTag/keyrelay:grace-period': '1' } },
    ],
    [
      "keyrelay's revoker tag, by the revoker (a key taken into another deployment)",
      { principal: 'revoker', action: 'secretsmanager:TagResource', resource: secret('payments/api'), context: { ...managed, 'aws:TagKeys': ['keyrelay:revoker'], 'aws:RequestTag/keyrelay:revoker': 'x' } },
    ],
    [
      "keyrelay's settings tags, removed by on-call",
      { principal: 'oncall', action: 'secretsmanager:UntagResource', resource: secret('payments/api'), context: { ...managed, 'aws:TagKeys': ['keyrelay:managed'] } },
    ],
    ['a key value, by an outsider', { principal: 'outsider', action: 'secretsmanager:GetSecretValue', resource: secret('payments/api'), context: managed }],
    ['a key value, by on-call', { principal: 'oncall', action: 'secretsmanager:GetSecretValue', resource: secret('payments/api'), context: managed }],
    // import is a revoker action (issue 13): the revoker writes values, on-call never does, nor moves labels or records.
    ['a new key value, by on-call', { principal: 'oncall', action: 'secretsmanager:PutSecretValue', resource: secret('payments/api'), context: managed }],
    ['a label move, by on-call', { principal: 'oncall', action: 'secretsmanager:UpdateSecretVersionStage', resource: secret('payments/api'), context: managed }],
    [
      'a key record, by on-call',
      { principal: 'oncall', action: 'secretsmanager:TagResource', resource: secret('payments/api'), context: { ...managed, 'aws:TagKeys': ['keyrelay:key:k-1'] } },
    ],
    ['a new key value, by the revoker for a secret it does not manage', { principal: 'revoker', action: 'secretsmanager:PutSecretValue', resource: secret('payments/api'), context: { 'aws:ResourceTag/keyrelay:revoker': 'Other-revoker' } }],
    [
      'the rotation function, by the scheduler role',
      { principal: 'scheduler', action: 'lambda:InvokeFunction', resource: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${LOCAL_PREFIX}-rotation`, context: {} },
    ],
    [
      'the rotation function, by EventBridge',
      {
        principal: 'events.amazonaws.com',
        action: 'lambda:InvokeFunction',
        resource: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${LOCAL_PREFIX}-rotation`,
        context: { 'aws:SourceAccount': LOCAL_ACCOUNT },
      },
    ],
    [
      'the rotation function, by Secrets Manager for another account',
      {
        principal: 'secretsmanager.amazonaws.com',
        action: 'lambda:InvokeFunction',
        resource: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${LOCAL_PREFIX}-rotation`,
        context: { 'aws:SourceAccount': '999999999999' },
      },
    ],
    ['a role other than the scheduler role passed', { principal: 'rotation', action: 'iam:PassRole', resource: `arn:aws:iam::${LOCAL_ACCOUNT}:role/admin`, context: { 'iam:PassedToService': 'scheduler.amazonaws.com' } }],
  ];

  it.each(denied)('still refuses %s', async (_what, call) => {
    // Act
    const result = await enforcer.replay(call);
    // Assess
    expect(result).not.toBe('Allowed');
  });
});
