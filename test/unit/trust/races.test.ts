import { UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { putKeyRecord, readManagedSecret, stageHolders } from '../../../core/state';
import { type RevokerWorld, rotatedWorld } from '../../support/revoker-harness';
import { rotationHarness } from '../rotation/harness';

/**
 * The races of issue 13: each test stops one operation between two of its calls (a hook on the provider or on
 * Secrets Manager) and lets the other operation run there.
 */

/** finishSecret as Secrets Manager's retry runs it: AWSCURRENT moves to the pending version, AWSPENDING stays. */
async function promote(world: RevokerWorld, token: string): Promise<void> {
  const current = stageHolders(world.sm.stages(world.arn)).current;
  await world.sm.send(new UpdateSecretVersionStageCommand({ SecretId: world.arn, VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: current }));
}

describe('Race: cancel against a retried rotation', () => {
  it('never deletes the key a rotation promoted while cancel was listing the provider', async () => {
    // Prepare: the rotation failed after createSecret; its retry finishes while the revoker lists the provider's keys
    const { world } = await rotatedWorld();
    const token = await world.createPending();
    const pending = world.value('AWSPENDING');
    const list = world.provider.list.bind(world.provider);
    let raced = false;
    world.provider.list = async () => {
      const keys = await list();
      if (!raced) {
        raced = true;
        await promote(world, token);
      }
      return keys;
    };
    // Act
    await world.handler({ action: 'cancel', secretId: world.arn, operator: 'ana' }).catch(() => undefined);
    // Assess
    expect(world.value('AWSCURRENT').keyId).toBe(pending.keyId);
    expect(world.status(pending.keyId)).toBe('active');
  });

  it('removes AWSPENDING before it deletes anything', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    await world.createPending();
    const pending = world.value('AWSPENDING');
    const revoke = world.provider.revoke.bind(world.provider);
    let pendingAtRevoke: string | undefined = 'unset';
    world.provider.revoke = async (keyId) => {
      pendingAtRevoke = stageHolders(world.sm.stages(world.arn)).pending;
      return revoke(keyId);
    };
    // Act
    await world.handler({ action: 'cancel', secretId: world.arn, operator: 'ana' });
    // Assess
    expect(world.status(pending.keyId)).toBe('deleted');
    expect(pendingAtRevoke).toBeUndefined();
  });
});

describe('Race: finishSecret against cancel and emergencies', () => {
  it.each(['cancel', 'emergency'])('refuses to promote a version whose key carries a %s record', async (reason) => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    for (const step of ['createSecret', 'setSecret', 'testSecret'] as const) await h.step(step, token);
    const secret = await readManagedSecret(h.sm.client, h.arn);
    const stored = JSON.parse(h.sm.valueAt(h.arn, 'AWSPENDING')!) as { keyId: string };
    await putKeyRecord(h.sm.client, secret.arn, { keyId: stored.keyId, phase: 'grace', due: h.clock.now(), versionId: token, reason, by: 'ana' });
    // Act
    const result = h.step('finishSecret', token);
    // Assess
    await expect(result).rejects.toThrow(/cancel|emergency/);
    expect(h.sm.stages(h.arn)[token]).not.toContain('AWSCURRENT');
  });
});
