import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { asArray, buildFast, SMALL_CONFIG, type Json, type Statement } from './fixture';

/** Issue 13 (part B): the confused-deputy and reader findings, as template assertions. */
describe('Hardening: service principals and readers (issue 13)', () => {
  let built: ReturnType<typeof buildFast>;
  let engine: Template;
  let keys: Template[];

  beforeAll(() => {
    built = buildFast();
    engine = Template.fromStack(built.engineStack);
    keys = [...built.keyStacks.values()].map((s) => Template.fromStack(s));
  });

  const keyPolicy = (): Statement[] => {
    const [key] = Object.values(engine.findResources('AWS::KMS::Key')) as Json[];
    return key!.Properties.KeyPolicy.Statement as Statement[];
  };
  const services = (s: Statement): string[] =>
    typeof s.Principal === 'object' && s.Principal !== null && 'Service' in s.Principal ? asArray((s.Principal as { Service: string | string[] }).Service) : [];

  it('lets cloudwatch.amazonaws.com and events.amazonaws.com use the KMS key only for this account and its own alarms and rules', () => {
    // Prepare
    const forServices = keyPolicy().filter((s) => services(s).some((p) => p === 'cloudwatch.amazonaws.com' || p === 'events.amazonaws.com'));

    // Assess
    expect(forServices.flatMap(services).sort()).toEqual(['cloudwatch.amazonaws.com', 'events.amazonaws.com']);
    for (const s of forServices) {
      expect(s.Condition?.StringEquals?.['aws:SourceAccount'], JSON.stringify(s)).toBe('123456789012');
    }
    const sourceArns = (service: string) => asArray(forServices.find((s) => services(s).includes(service))?.Condition?.ArnLike?.['aws:SourceArn']).map((a) => JSON.stringify(a));
    expect(sourceArns('cloudwatch.amazonaws.com')).toEqual([expect.stringMatching(/:cloudwatch:eu-west-1:123456789012:alarm:KeyRelay-\*"$/)]);
    expect(sourceArns('events.amazonaws.com').sort()).toEqual([
      expect.stringMatching(/:events:eu-west-1:123456789012:rule\/KeyRelay-aws-health"$/),
      expect.stringMatching(/:events:eu-west-1:123456789012:rule\/KeyRelay-canary"$/),
      expect.stringMatching(/:events:eu-west-1:123456789012:rule\/KeyRelay-reconcile"$/),
      expect.stringMatching(/:events:eu-west-1:123456789012:rule\/KeyRelay-rotation-failed"$/),
    ]);
  });

  it('names the rules and alarms the way the key policy expects', () => {
    // Assess
    const rules = (Object.values(engine.findResources('AWS::Events::Rule')) as Json[]).map((r) => r.Properties.Name as string);
    expect(rules.sort()).toEqual(['KeyRelay-aws-health', 'KeyRelay-canary', 'KeyRelay-reconcile', 'KeyRelay-rotation-failed']);
    for (const alarm of Object.values(engine.findResources('AWS::CloudWatch::Alarm')) as Json[]) {
      expect(alarm.Properties.AlarmName).toMatch(/^KeyRelay-/);
    }
  });

  it("conditions the scheduler role's trust on aws:SourceArn, the engine's schedule group, next to aws:SourceAccount", () => {
    // Prepare
    const roles = (Object.values(engine.findResources('AWS::IAM::Role')) as Json[]).filter((r) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'),
    );

    // Assess
    expect(roles).toHaveLength(1);
    const [trust] = roles[0]!.Properties.AssumeRolePolicyDocument.Statement as Statement[];
    expect(trust?.Condition?.StringEquals?.['aws:SourceAccount']).toBe('123456789012');
    expect(JSON.stringify(trust?.Condition?.StringEquals?.['aws:SourceArn'])).toMatch(/:scheduler:eu-west-1:123456789012:schedule-group\/KeyRelay-revocations"$/);
  });

  it('lets readers read only AWSCURRENT when they name a stage: AWSPENDING and AWSPREVIOUS by stage are refused', () => {
    // Prepare
    const statements = keys.flatMap((t) =>
      (Object.values(t.findResources('AWS::SecretsManager::ResourcePolicy')) as Json[]).flatMap((p) => p.Properties.ResourcePolicy.Statement as Statement[]),
    );
    const reads = statements.filter((s) => asArray(s.Action).includes('secretsmanager:GetSecretValue'));

    // Assess: every GetSecretValue allow is conditioned: either no stage named (a read by VersionId, as the client's
    // check does) or the stage AWSCURRENT.
    expect(reads.length).toBeGreaterThan(0);
    for (const s of reads) {
      expect(s.Effect).toBe('Allow');
      expect(s.Condition, JSON.stringify(s)).toBeDefined();
      const ok =
        JSON.stringify(s.Condition) === JSON.stringify({ Null: { 'secretsmanager:VersionStage': 'true' } }) ||
        JSON.stringify(s.Condition) === JSON.stringify({ StringEquals: { 'secretsmanager:VersionStage': 'AWSCURRENT' } });
      expect(ok, JSON.stringify(s.Condition)).toBe(true);
    }
  });

  it('warns at synth when a whole account may read every key', () => {
    // Act
    const app = buildFast({ ...SMALL_CONFIG, readers: [{ principal: '222222222222', keys: ['*'] }] });

    // Assess
    const warnings = Annotations.fromStack(app.engineStack).findWarning('*', Match.stringLikeRegexp('whole account 222222222222 may read every key'));
    expect(warnings.length).toBe(1);
  });

  it('does not warn for a role, or for an account reading a named group of keys', () => {
    // Act
    const app = buildFast({
      ...SMALL_CONFIG,
      readers: [
        { principal: 'arn:aws:iam::111111111111:role/payments-app', keys: ['*'] },
        { principal: '222222222222', keys: ['search/*'] },
      ],
    });

    // Assess
    expect(Annotations.fromStack(app.engineStack).findWarning('*', Match.stringLikeRegexp('may read every key'))).toEqual([]);
  });
});
