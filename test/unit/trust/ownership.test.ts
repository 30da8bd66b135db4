import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { formatSecretValue } from '../../../core/secret-value';
import { providerKeyLabel, putKeyRecord, settingsToTags } from '../../../core/state';
import { RevocationFailedError } from '../../../lambda/revoker/errors';
import { rotatedWorld, TEST_SETTINGS, type RevokerWorld } from '../../support/revoker-harness';

const who = { reason: 'incident', operator: 'mallory' };

/** A second managed secret beside the world's, sharing its provider (one admin credential), with a current key. */
async function neighbour(world: RevokerWorld) {
  const arn = world.sm.create('billing/api', settingsToTags(TEST_SETTINGS));
  const other = { arn, name: 'billing/api' };
  const key = await world.provider.issue({ label: providerKeyLabel(other, 'b1') });
  await world.sm.send(
    new PutSecretValueCommand({
      SecretId: arn, ClientRequestToken: 'b1', VersionStages: ['AWSCURRENT'],
      SecretString: formatSecretValue({ apiKey: key.apiKey, keyId: key.keyId, provider: 'fake', issuedAt: '2026-11-01T00:00:00Z' }),
    }),
  );
  return { arn, key };
}

describe('Ownership: a record never widens what may be revoked', () => {
  it("the sweep never revokes another secret's current key named by a forged record", async () => {
    // Prepare: on-call (TagResource on keyrelay:key:*) writes a due record on A naming B's current key
    const { world } = await rotatedWorld();
    const b = await neighbour(world);
    await putKeyRecord(world.sm.client, world.arn, { keyId: b.key.keyId, phase: 'grace', due: world.clock.now() - 1000 });
    // Act
    await world.handler({ action: 'reconcile', secretId: world.arn }).catch(() => undefined);
    await world.handler({ action: 'revokeDue', secretId: world.arn }).catch(() => undefined);
    // Assess
    expect(world.status(b.key.keyId)).toBe('active');
  });

  it("revokeNow refuses another secret's key even when a record on this secret names it", async () => {
    // Prepare
    const { world } = await rotatedWorld();
    const b = await neighbour(world);
    await putKeyRecord(world.sm.client, world.arn, { keyId: b.key.keyId, phase: 'grace', due: world.clock.now() + 3_600_000 });
    // Act
    const result = world.handler({ action: 'revokeNow', secretId: world.arn, keyId: b.key.keyId, ...who });
    // Assess
    await expect(result).rejects.toThrow(/labelled for secret 'billing\/api-AbCdEf'/);
    expect(world.status(b.key.keyId)).toBe('active');
  });

  it("cancel never revokes another secret's key written into this secret's AWSPENDING", async () => {
    // Prepare: PutSecretValue of an AWSPENDING version naming B's current key
    const { world } = await rotatedWorld();
    const b = await neighbour(world);
    world.sm.startRotation(world.arn, 'forged');
    await world.sm.send(
      new PutSecretValueCommand({
        SecretId: world.arn, ClientRequestToken: 'forged', VersionStages: ['AWSPENDING'],
        SecretString: formatSecretValue({ apiKey: 'whatever', keyId: b.key.keyId, provider: 'fake', issuedAt: '2026-11-01T00:00:00Z' }),
      }),
    );
    // Act
    const result = world.handler({ action: 'cancel', secretId: world.arn, operator: 'mallory' });
    // Assess
    await expect(result).rejects.toThrow(RevocationFailedError);
    expect(world.status(b.key.keyId)).toBe('active');
  });
});
