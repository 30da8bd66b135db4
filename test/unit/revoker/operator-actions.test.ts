import { describe, expect, it } from 'vitest';
import { isoTime } from '../../../core/clock';
import { providerKeyLabel, putKeyRecord, settingsToTags } from '../../../core/state';
import { NothingToDoError, RevocationFailedError } from '../../../lambda/revoker/errors';
import { RevokerWorld, rotatedWorld, TEST_SETTINGS } from '../../support/revoker-harness';

// Operator actions (restore, inspect, reconcile's metrics) beyond the happy paths (issue 14's mutation survivors).

const HOUR = 3_600_000;

/** A world whose two most recent previous keys are both disabled (two-phase), the newer one disabled later. */
async function twoDisabled() {
  const { world, old: older } = await rotatedWorld({ observation: 7200 });
  await world.clock.advance(HOUR);
  await world.handler({ action: 'revokeDue', secretId: world.arn });
  const newer = world.value('AWSCURRENT');
  await world.rotate();
  await world.clock.advance(HOUR);
  await world.handler({ action: 'revokeDue', secretId: world.arn });
  return { world, older, newer };
}

describe('Action: restore, which key and what then', () => {
  it('without a key id restores the most recently disabled key, and only that one', async () => {
    // Prepare
    const { world, older, newer } = await twoDisabled();
    expect([world.status(older.keyId), world.status(newer.keyId)]).toEqual(['disabled', 'disabled']);
    // Act
    const response = await world.handler({ action: 'restore', secretId: world.arn, operator: 'ana' });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: newer.keyId, outcome: 'restored' })]);
    expect(world.status(newer.keyId)).toBe('active');
    expect(world.status(older.keyId)).toBe('disabled');
    expect(await world.record(newer.keyId)).toMatchObject({ phase: 'grace', reason: 'restored', by: 'ana' });
  });

  it('restores the key named by id even when another key was disabled later', async () => {
    // Prepare
    const { world, older, newer } = await twoDisabled();
    // Act
    await world.handler({ action: 'restore', secretId: world.arn, keyId: older.keyId, operator: 'ana' });
    // Assess
    expect(world.status(older.keyId)).toBe('active');
    expect(world.status(newer.keyId)).toBe('disabled');
  });

  it('gives a restored key the grace period again when the secret has no observation window', async () => {
    // Prepare: a key disabled under an earlier setting
    const { world, old } = await rotatedWorld();
    await world.provider.disable(old.keyId);
    await putKeyRecord(world.sm.client, world.arn, { keyId: old.keyId, phase: 'disabled', due: world.clock.now() + HOUR });
    // Act
    const response = await world.handler({ action: 'restore', secretId: world.arn, operator: 'ana' });
    // Assess
    expect(response.keys).toEqual([{ secretName: 'payments/api', keyId: old.keyId, outcome: 'restored', nextDue: isoTime(world.clock.now() + HOUR) }]);
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'grace', due: world.clock.now() + HOUR });
  });

  it('records a key the provider already deleted as revoked, and says to rotate', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ observation: 7200 });
    await world.clock.advance(HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    world.provider.fail({ op: 'enable', error: 'notFound' });
    // Act
    const result = world.handler({ action: 'restore', secretId: world.arn, operator: 'ana' });
    // Assess
    await expect(result).rejects.toThrow(NothingToDoError);
    await expect(result).rejects.toThrow(new RegExp(`key '${old.keyId}' is already deleted at the provider; rotate`));
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'revoked' });
  });

  it('fails loudly and keeps the key disabled when the provider cannot enable it', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ observation: 7200 });
    await world.clock.advance(HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    world.provider.fail({ op: 'enable', error: 'unavailable', times: 5 });
    // Act
    const result = world.handler({ action: 'restore', secretId: world.arn, operator: 'ana' });
    // Assess
    await expect(result).rejects.toThrow(RevocationFailedError);
    expect(world.metrics.sum('RevocationFailed')).toBe(1);
    expect(world.status(old.keyId)).toBe('disabled');
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'disabled' });
  });

  it('says there is nothing to restore for a key without a record', async () => {
    const { world } = await rotatedWorld();
    await expect(world.handler({ action: 'restore', secretId: world.arn, keyId: 'nobody', operator: 'ana' })).rejects.toThrow(
      "key 'nobody' has no lifecycle record",
    );
  });
});

describe('Action: inspect, what each key shows', () => {
  it("shows status, stages, phase, deadline, creation and last use; leaves out keys that are not this secret's", async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ observation: 7200 });
    const created = world.provider.keys.get(old.keyId)!.createdAt;
    await world.provider.issue({ label: providerKeyLabel({ arn: 'arn:aws:secretsmanager:us-east-1:1:secret:other-AbCdEf', name: 'other' }, 't') });
    await world.provider.issue({ label: 'made by hand' });
    await world.clock.advance(HOUR);
    world.provider.use(world.provider.keys.get(old.keyId)!.apiKey);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    const current = world.value('AWSCURRENT');
    // Act
    const { inspect } = await world.handler({ action: 'inspect', secretId: world.arn });
    // Assess
    expect(inspect?.keys).toEqual([
      {
        keyId: old.keyId, status: 'disabled', stages: ['AWSPREVIOUS'], phase: 'disabled', due: isoTime(world.clock.now() + 7_200_000),
        createdAt: isoTime(created), lastUsedAt: isoTime(world.clock.now()), orphan: false,
      },
      expect.objectContaining({ keyId: current.keyId, status: 'active', stages: ['AWSCURRENT'], phase: undefined, due: undefined, lastUsedAt: null }),
    ]);
    expect(inspect?.secretName).toBe('payments/api');
    expect(inspect?.provider).toBe('fake');
  });

  it('reports no quota when the keys could not be listed', async () => {
    const { world } = await rotatedWorld();
    world.provider.fail({ op: 'list', error: 'unavailable', times: 5 });
    const { inspect } = await world.handler({ action: 'inspect', secretId: world.arn });
    expect(inspect?.quota).toBeUndefined();
    expect(inspect?.problems).toEqual([expect.stringMatching(/provider 'fake' could not list keys/)]);
  });
});

describe('Action: reconcile, metrics', () => {
  it('counts only orphans in OrphansRevoked', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    await world.clock.advance(HOUR);
    // Act
    await world.handler({ action: 'reconcile', secretId: world.arn });
    // Assess
    expect(world.status(old.keyId)).toBe('deleted');
    expect(world.metrics.points.filter((p) => p.name === 'OrphansRevoked')).toEqual([]);
  });

  it('reports the longest time since a rotation across every managed secret', async () => {
    // Prepare
    const world = new RevokerWorld();
    await world.clock.advance(HOUR);
    const now = world.clock.now();
    for (const [name, ago] of [['a/recent', HOUR], ['b/oldest', 5 * HOUR], ['c/older', 3 * HOUR]] as const) {
      world.sm.setRotation(world.sm.create(name, settingsToTags(TEST_SETTINGS)), { lastRotated: now - ago });
    }
    // Act
    await world.handler({ action: 'reconcile' });
    // Assess
    expect(world.metrics.points.filter((p) => p.name === 'SecondsSinceLastRotation')).toEqual([
      { name: 'SecondsSinceLastRotation', unit: 'Seconds', value: 5 * 3600 },
    ]);
  });
});
