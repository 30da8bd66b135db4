import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../../core/secret-value';
import { putKeyRecord } from '../../../core/state';
import { RevocationFailedError } from '../../../lambda/revoker/errors';
import { MAX_REVOKED_RECORDS } from '../../../lambda/revoker/lifecycle';
import { RevokerWorld, rotatedWorld } from '../../support/revoker-harness';

const HOUR = 3_600_000;

describe('Action: revokeDue', () => {
  it('keeps the previous key during its grace period', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    await world.clock.advance(HOUR - 1000);
    // Act
    const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(response.keys).toEqual([]);
    expect(world.status(old.keyId)).toBe('active');
  });

  it('deletes the previous key once its deadline has passed and records it revoked', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    await world.clock.advance(HOUR);
    // Act
    const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'revoked', detail: 'deleted' })]);
    expect(world.status(old.keyId)).toBe('deleted');
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'revoked' });
    expect(world.metrics.sum('RevocationSucceeded')).toBe(1);
    expect(world.status(world.value('AWSCURRENT').keyId)).toBe('active');
  });

  it('never revokes a key AWSCURRENT references, even with a due record (rollback)', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    const current = world.value('AWSCURRENT');
    await putKeyRecord(world.sm.client, world.arn, { keyId: current.keyId, phase: 'grace', due: world.clock.now() - 1000 });
    // Act
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(world.status(current.keyId)).toBe('active');
    expect(world.provider.calls.filter((c) => c.keyId === current.keyId)).toEqual([]);
  });

  it('never revokes the key AWSPENDING references', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    await world.createPending();
    const pending = world.value('AWSPENDING');
    await putKeyRecord(world.sm.client, world.arn, { keyId: pending.keyId, phase: 'disabled', due: 0 });
    await world.clock.advance(2 * HOUR);
    // Act
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(world.status(pending.keyId)).toBe('active');
  });

  it('counts a key that is already gone as revoked', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    await world.provider.revoke(old.keyId);
    await world.clock.advance(HOUR);
    // Act
    const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'revoked', detail: 'already gone' })]);
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'revoked' });
  });

  it('retries a throttled provider on the injected clock, then revokes', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    await world.clock.advance(HOUR);
    world.provider.fail({ op: 'revoke', error: 'throttled', times: 2 });
    const before = world.clock.now();
    // Act
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(world.status(old.keyId)).toBe('deleted');
    expect(world.clock.now() - before).toBe(2000); // Retry-After: 1 s, twice
    expect(world.metrics.sum('RevocationFailed')).toBe(0);
  });

  it('throws RevocationFailedError and emits RevocationFailed when the provider keeps failing', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    await world.clock.advance(HOUR);
    world.provider.fail({ op: 'revoke', error: 'unavailable', times: 5 });
    // Act
    const result = world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    await expect(result).rejects.toThrow(RevocationFailedError);
    await expect(result).rejects.toThrow(new RegExp(`key '${old.keyId}'.*outage`));
    expect(world.metrics.sum('RevocationFailed')).toBe(1);
    expect(world.status(old.keyId)).toBe('active');
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'grace' });
  });

  it('does not retry a rejected admin credential, and fails loudly', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    await world.clock.advance(HOUR);
    world.provider.fail({ op: 'revoke', error: 'auth' });
    // Act
    const result = world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    await expect(result).rejects.toMatchObject({ code: 'RevocationFailed' });
    expect(world.provider.calls.filter((c) => c.op === 'revoke')).toHaveLength(1);
  });

  it('holds a key still in use, names it by fingerprint, and re-arms for when it goes quiet', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ usageQuiet: 600, usageMaxHold: 6 * 3600 });
    const apiKey = world.provider.keys.get(old.keyId)!.apiKey;
    await world.clock.advance(HOUR);
    world.provider.use(apiKey);
    // Act
    const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'held' })]);
    expect(world.status(old.keyId)).toBe('active');
    expect(world.metrics.sum('OldKeyInUse')).toBe(1);
    const line = world.logger.lines.find((l) => l.message.startsWith('old key still in use'));
    expect(line?.attributes).toMatchObject({ keyId: old.keyId, fingerprint: fingerprint(apiKey) });
    expect(world.scheduler.requests.at(-1)).toMatchObject({ keyId: old.keyId, due: world.clock.now() + 600_000 });
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'held', due: world.clock.now() + 600_000 });
  });

  it('revokes a held key once it has been quiet for the quiet period', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ usageQuiet: 600, usageMaxHold: 6 * 3600 });
    await world.clock.advance(HOUR);
    world.provider.use(world.provider.keys.get(old.keyId)!.apiKey);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    await world.clock.advance(600_000);
    // Act
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(world.status(old.keyId)).toBe('deleted');
  });

  it('revokes a key used without pause once the hold cap after the deadline is reached', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ usageQuiet: 600, usageMaxHold: 1800 });
    const apiKey = world.provider.keys.get(old.keyId)!.apiKey;
    await world.clock.advance(HOUR);
    // Act: traffic every 5 minutes, revokeDue whenever the scheduler asks
    for (let i = 0; i < 10 && world.status(old.keyId) === 'active'; i++) {
      world.provider.use(apiKey);
      await world.handler({ action: 'revokeDue', secretId: world.arn });
      await world.clock.advance(300_000);
    }
    // Assess
    expect(world.status(old.keyId)).toBe('deleted');
    expect(world.metrics.sum('OldKeyInUsePastHold')).toBe(1);
    const revokedAt = (await world.record(old.keyId))!.due;
    expect(revokedAt).toBe(world.scheduler.requests[0]!.due + 1_800_000); // deadline + usageMaxHold
  });

  it('disables first, then deletes after the observation window (two-phase)', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ observation: 7200 });
    await world.clock.advance(HOUR);
    // Act
    const first = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(first.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'disabled' })]);
    expect(world.status(old.keyId)).toBe('disabled');
    expect(world.scheduler.requests.at(-1)).toMatchObject({ keyId: old.keyId, due: world.clock.now() + 7_200_000 });
    // Act: the window passes
    await world.clock.advance(7_200_000);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(world.status(old.keyId)).toBe('deleted');
  });

  it('is idempotent: two concurrent runs revoke once and both succeed', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    await world.clock.advance(HOUR);
    // Act
    const [a, b] = await Promise.all([
      world.handler({ action: 'revokeDue', secretId: world.arn }),
      world.handler({ action: 'revokeDue', secretId: world.arn }),
    ]);
    // Assess
    expect([...a.keys, ...b.keys].every((k) => k.outcome === 'revoked')).toBe(true);
    expect(world.status(old.keyId)).toBe('deleted');
    expect(world.metrics.sum('RevocationFailed')).toBe(0);
  });

  it(`prunes revoked records beyond the newest ${MAX_REVOKED_RECORDS}`, async () => {
    // Prepare
    const world = new RevokerWorld('payments/api', {}, undefined);
    await world.rotate();
    // Act
    for (let i = 0; i < MAX_REVOKED_RECORDS + 3; i++) {
      await world.rotate();
      await world.clock.advance(HOUR);
      await world.handler({ action: 'revokeDue', secretId: world.arn });
    }
    // Assess
    const secret = await import('../../../core/state').then((m) => m.readManagedSecret(world.sm.client, world.arn));
    expect(secret.records.filter((r) => r.phase === 'revoked')).toHaveLength(MAX_REVOKED_RECORDS);
    expect(world.provider.alive()).toHaveLength(1);
  });
});
