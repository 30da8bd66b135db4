import { DescribeSecretCommand, GetResourcePolicyCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { replicaArn } from '../../../core/replicas';
import { REPLICA_RECHECK_MS, replicaPolicyProblem } from '../../../lambda/revoker/replicas';
import { rotatedWorld, type RevokerWorld } from '../../support/revoker-harness';

const HOUR = 3_600_000;
const REPLICA = 'eu-west-1';

/**
 * Two regions over the revoker harness: the primary (the harness's memory Secrets Manager, whose DescribeSecret gains
 * `ReplicationStatus`) and one replica that serves the primary's labels, or the labels it had when `lag()` froze it.
 */
function withReplica(world: RevokerWorld) {
  let frozen: Record<string, string[]> | undefined;
  let status = 'InSync';
  const policies: { primary?: string; replica?: string } = {};
  const described: string[] = [];
  const primary = world.sm.client;
  const labels = async (): Promise<Record<string, string[]>> =>
    (await primary.send(new DescribeSecretCommand({ SecretId: world.arn }))).VersionIdsToStages ?? {};
  const wrapped = {
    async send(command: unknown) {
      if (command instanceof GetResourcePolicyCommand) return { ResourcePolicy: policies.primary };
      const out = (await primary.send(command as DescribeSecretCommand)) as unknown as Record<string, unknown>;
      if (command instanceof DescribeSecretCommand) out.ReplicationStatus = [{ Region: REPLICA, Status: status, StatusMessage: 'as set' }];
      return out;
    },
  } as unknown as SecretsManagerClient;
  const replica = {
    async send(command: unknown) {
      if (command instanceof GetResourcePolicyCommand) return { ResourcePolicy: policies.replica };
      if (!(command instanceof DescribeSecretCommand)) throw new Error('unexpected replica call');
      described.push(String(command.input.SecretId));
      return { VersionIdsToStages: frozen ?? (await labels()) };
    },
  } as unknown as SecretsManagerClient;
  world.deps.sm = wrapped;
  world.deps.smIn = (region) => {
    if (region !== REPLICA) throw new Error(`no client for ${region}`);
    return replica;
  };
  return {
    described,
    policies,
    async lag(): Promise<void> {
      frozen = await labels();
      status = 'InProgress';
    },
    catchUp(): void {
      frozen = undefined;
      status = 'InSync';
    },
    fail(): void {
      status = 'Failed';
    },
  };
}

describe('Revocation with replicas', () => {
  it('holds the old key while the replica still serves it, alarms, and revokes once the replica caught up', async () => {
    // Prepare: the replica froze before the second rotation, so its AWSCURRENT is the old key's version
    const { world, old } = await rotatedWorld({ replicaRegions: [REPLICA] });
    const replica = withReplica(world);
    await replica.lag();
    await world.rotate();
    const older = old; // the key of the first rotation: its grace is over first
    await world.clock.advance(HOUR);
    // Act
    const held = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess: held, rechecked soon, alarm metrics raised, the replica read by its own ARN
    expect(held.keys).toEqual(expect.arrayContaining([expect.objectContaining({ keyId: older.keyId, outcome: 'held', detail: `replica ${REPLICA} not in sync` })]));
    expect(held.keys.every((k) => k.outcome === 'held')).toBe(true);
    expect(world.status(older.keyId)).toBe('active');
    expect(await world.record(older.keyId)).toMatchObject({ phase: 'held', due: world.clock.now() + REPLICA_RECHECK_MS });
    expect(world.metrics.sum('ReplicaOutOfSync')).toBeGreaterThan(0);
    expect(world.metrics.last('ReplicaLagSeconds')).toBeGreaterThan(0);
    expect(replica.described).toContain(replicaArn(world.arn, REPLICA));
    expect(world.scheduler.requests).toContainEqual(expect.objectContaining({ keyId: older.keyId, due: world.clock.now() + REPLICA_RECHECK_MS }));

    // Act: the replica catches up; the recheck revokes
    replica.catchUp();
    await world.clock.advance(REPLICA_RECHECK_MS);
    const revoked = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(revoked.keys).toEqual(expect.arrayContaining([expect.objectContaining({ keyId: older.keyId, outcome: 'revoked' })]));
    expect(world.status(older.keyId)).toBe('deleted');
  });

  it('holds while replication failed, even when the replica shows the same version', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ replicaRegions: [REPLICA] });
    const replica = withReplica(world);
    replica.fail();
    await world.clock.advance(HOUR);
    // Act
    const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'held' })]);
    expect(world.status(old.keyId)).toBe('active');
  });

  it('revokes at the deadline when every replica serves the new key', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ replicaRegions: [REPLICA] });
    withReplica(world);
    await world.clock.advance(HOUR);
    // Act
    const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'revoked' })]);
    expect(world.metrics.sum('ReplicaOutOfSync')).toBe(0);
  });

  it('holds when the replica cannot be read (no client for its region)', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ replicaRegions: ['ap-south-1'] });
    withReplica(world);
    await world.clock.advance(HOUR);
    // Act
    const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess: the primary does not report ap-south-1 either: missing counts as not in sync
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'held' })]);
  });

  it('an emergency revokes at once, whatever the replicas say', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ replicaRegions: [REPLICA] });
    const replica = withReplica(world);
    await replica.lag();
    // Act
    const response = await world.handler({ action: 'revokeNow', secretId: world.arn, previous: true, reason: 'leak', operator: 'ana' });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'revoked' })]);
    expect(world.status(old.keyId)).toBe('deleted');
  });

  it('the sweep reports a failed replica', async () => {
    // Prepare
    const { world } = await rotatedWorld({ replicaRegions: [REPLICA] });
    const replica = withReplica(world);
    replica.fail();
    // Act
    await world.handler({ action: 'reconcile' });
    // Assess
    expect(world.metrics.last('ReplicationFailed')).toBe(1);
    expect(world.logger.lines.some((l) => l.message.startsWith('replica not replicated'))).toBe(true);
  });

  it("the sweep checks each replica's resource policy: one naming the primary's ARN does not cover the replica", async () => {
    // Prepare: Secrets Manager copied the policy; its statement names the primary only
    const { world } = await rotatedWorld({ replicaRegions: [REPLICA] });
    const replica = withReplica(world);
    const naming = (resource: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '111111111111' }, Action: 'secretsmanager:GetSecretValue', Resource: resource }] });
    replica.policies.primary = replica.policies.replica = naming(world.arn);
    // Act
    await world.handler({ action: 'reconcile' });
    // Assess
    expect(world.metrics.last('ReplicationFailed')).toBe(1);
    expect(world.logger.lines.find((l) => l.message.startsWith('replica resource policy'))?.attributes).toMatchObject({ region: REPLICA });
    // Act: written with Resource "*", it covers the replica
    replica.policies.primary = replica.policies.replica = naming('*');
    await world.handler({ action: 'reconcile' });
    // Assess
    expect(world.metrics.last('ReplicationFailed')).toBe(0);
    expect(world.metrics.last('ReplicaLagSeconds')).toBe(0);
  });
});

describe('replicaPolicyProblem', () => {
  const primary = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:payments/api-AbCdEf';
  const replica = replicaArn(primary, REPLICA);
  const policy = (resource: string) =>
    JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '111111111111' }, Action: 'secretsmanager:GetSecretValue', Resource: resource }] });

  it('accepts a policy written with Resource "*" (it matches the replica too)', () => {
    expect(replicaPolicyProblem(policy('*'), policy('*'), replica)).toBeUndefined();
  });

  it("refuses a statement naming the primary's ARN: it does not apply to the replica", () => {
    expect(replicaPolicyProblem(policy(primary), policy(primary), replica)).toMatch(/not the replica .*Resource": "\*"/);
  });

  it('accepts a statement that lists the replica among its resources', () => {
    const both = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [primary, replica] }] });
    expect(replicaPolicyProblem(both, both, replica)).toBeUndefined();
  });

  it("refuses a replica policy that differs from the primary's", () => {
    expect(replicaPolicyProblem(policy('*'), undefined, replica)).toMatch(/differs/);
  });

  it('accepts no policy on either side', () => {
    expect(replicaPolicyProblem(undefined, undefined, replica)).toBeUndefined();
  });
});
