import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildKeyRelay } from '../../../lib/app';
import { resolveConfig, type KeyRelayConfig } from '../../../lib/config';
import { engineNames } from '../../../lib/engine/names';
import { replicaPolicyProblem } from '../../../lambda/revoker/replicas';
import { buildFast, fastApp, iamStatements, type Json } from './fixture';

const REPLICA = 'us-west-2';
const CONFIG: KeyRelayConfig = {
  defaults: { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/reference' },
  keys: { 'payments/reference-api': { replicaRegions: [REPLICA] }, 'search/reference-api': {} },
  readers: [
    { principal: 'arn:aws:iam::111111111111:role/payments-app', keys: ['payments/*'] },
    { principal: 'arn:aws:iam::123456789012:role/payments-app-west', keys: ['payments/*'] },
  ],
};

describe('CDK: replicaRegions', () => {
  it('replicates the secret with the replica region\'s key, built in a stack of that region deployed first', () => {
    // Act
    const { replicas, keyStacks } = buildFast(CONFIG);
    const keys = Template.fromStack(keyStacks.get(0) as Stack);
    const replicaStack = Stack.of(replicas.get(REPLICA) as never);
    // Assess
    keys.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'payments/reference-api',
      ReplicaRegions: [{ Region: REPLICA, KmsKeyId: engineNames('KeyRelay').replicaAlias }],
    });
    expect(replicaStack.region).toBe(REPLICA);
    expect(replicaStack.stackName).toBe(`KeyRelay-Replica-${REPLICA}`);
    Template.fromStack(replicaStack).hasResourceProperties('AWS::KMS::Alias', { AliasName: engineNames('KeyRelay').replicaAlias });
    expect((keyStacks.get(0) as Stack).dependencies).toContain(replicaStack);
    const unreplicated = Object.values(keys.findResources('AWS::SecretsManager::Secret')).find((r: Json) => r.Properties.Name === 'search/reference-api') as Json;
    expect(unreplicated.Properties.ReplicaRegions).toBeUndefined();
  });

  it('writes the readers\' resource policy with Resource "*", so the replica\'s copy matches the replica (checked as the sweep checks it)', () => {
    // Act
    const { keyStacks } = buildFast(CONFIG);
    const template = Template.fromStack(keyStacks.get(0) as Stack).toJSON() as Json;
    const policy = Object.values(template.Resources as Json).find((r: Json) => r.Type === 'AWS::SecretsManager::ResourcePolicy') as Json;
    const document = JSON.stringify(policy.Properties.ResourcePolicy);
    // Assess: every statement covers the replica's ARN
    const primary = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:payments/reference-api-AbCdEf`;
    const replica = `arn:aws:secretsmanager:${REPLICA}:123456789012:secret:payments/reference-api-AbCdEf`;
    expect(replicaPolicyProblem(document, document, replica)).toBeUndefined();
    expect(replicaPolicyProblem(document.replaceAll('"*"', JSON.stringify(primary)), document.replaceAll('"*"', JSON.stringify(primary)), replica)).toMatch(/not the replica/);
  });

  it("grants readers decrypt in the replica region through that region's Secrets Manager, by the replica key's policy", () => {
    // Act
    const { replicas } = buildFast(CONFIG);
    const keyPolicy = (Object.values(Template.fromStack(Stack.of(replicas.get(REPLICA) as never)).findResources('AWS::KMS::Key'))[0] as Json).Properties.KeyPolicy;
    // Assess
    const readers = (keyPolicy.Statement as Json[]).filter((s) => s.Action === 'kms:Decrypt');
    expect(readers.flatMap((s) => [s.Principal.AWS].flat()).sort()).toEqual(CONFIG.readers?.map((r) => r.principal).sort());
    for (const s of readers) expect(s.Condition).toEqual({ StringEquals: { 'kms:ViaService': `secretsmanager.${REPLICA}.amazonaws.com` } });
  });

  it('lets the functions read the replicas, each region with its own kms:ViaService, and forwards KeyRotated there', () => {
    // Act
    const { engineStack } = buildFast(CONFIG);
    const template = Template.fromStack(engineStack);
    const statements = iamStatements(template);
    // Assess
    const replicaSecrets = statements.filter((s) => s.Sid === 'ReplicaSecrets');
    expect(replicaSecrets.length).toBeGreaterThanOrEqual(2); // both functions, and on-call
    expect(JSON.stringify(replicaSecrets)).toContain(`secretsmanager:${REPLICA}:`);
    const keys = statements.find((s) => s.Sid === 'ReplicaKeysViaSecretsManager');
    expect(keys?.Condition).toEqual({ StringEquals: { 'kms:ViaService': [`secretsmanager.${REPLICA}.amazonaws.com`] } });
    const rule = Object.values(template.findResources('AWS::Events::Rule')).find((r: Json) => r.Properties.Name === 'KeyRelay-key-rotated-to-replicas') as Json;
    expect(rule.Properties.EventPattern).toEqual({ source: ['keyrelay'], 'detail-type': ['KeyRotated'] });
    expect(JSON.stringify(rule.Properties.Targets)).toContain(`:events:${REPLICA}:123456789012:event-bus/default`);
  });

  it('alarms on replication failure and on a replica out of sync', () => {
    const { engineStack } = buildFast(CONFIG);
    const names = Object.values(Template.fromStack(engineStack).findResources('AWS::CloudWatch::Alarm')).map((a: Json) => a.Properties.AlarmName);
    expect(names).toEqual(expect.arrayContaining(['KeyRelay-ReplicationFailed', 'KeyRelay-ReplicaOutOfSync']));
  });

  it('adds nothing for replicas to a deployment without them', () => {
    const { engineStack, replicas } = buildFast({ ...CONFIG, keys: { 'search/reference-api': {} }, readers: [] });
    const names = Object.values(Template.fromStack(engineStack).findResources('AWS::CloudWatch::Alarm')).map((a: Json) => a.Properties.AlarmName);
    expect(replicas.size).toBe(0);
    expect(names).not.toContain('KeyRelay-ReplicationFailed');
    expect(iamStatements(Template.fromStack(engineStack)).some((s) => s.Sid === 'ReplicaSecrets')).toBe(false);
  });

  it('refuses replicas at synth without an explicit account and region, and a replica in the primary region', () => {
    expect(() => buildKeyRelay(fastApp(), resolveConfig(CONFIG))).toThrow(
      /key 'payments\/reference-api': replicaRegions need stacks with an explicit account and region .*CDK_DEFAULT_REGION/,
    );
    expect(() => buildKeyRelay(fastApp(), resolveConfig(CONFIG), { env: { account: '123456789012', region: REPLICA } })).toThrow(
      /replicaRegions names 'us-west-2', the primary region itself/,
    );
  });
});
