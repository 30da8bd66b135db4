import { UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { providerKeyLabel, stageHolders } from '../../../core/state';
import { RevocationFailedError } from '../../../lambda/revoker/errors';
import { createRevokerHandler } from '../../../lambda/revoker/handler';
import { SWEEP_RESERVE_MS } from '../../../lambda/revoker/sweep';
import { ORPHAN_MIN_AGE_MS } from '../../../lambda/revoker/keys';
import { RevokerWorld } from '../../support/revoker-harness';

// Issue 20: the sweep listed every key of the admin credential once per secret (n² provider calls). It now lists once
// per admin credential and judges every secret from that listing and the labels.

const HOUR = 3_600_000;

/** `count` secrets on one admin credential (one FakeProvider), each rotated twice, grace periods over. */
async function fleet(count: number, quota = 1000): Promise<RevokerWorld[]> {
  const first = new RevokerWorld('fleet/s0', {}, quota);
  const worlds = [first, ...Array.from({ length: count - 1 }, (_, i) => first.also(`fleet/s${i + 1}`))];
  for (const world of worlds) {
    await world.rotate();
    await world.rotate();
  }
  await first.clock.advance(2 * HOUR);
  await first.handler({ action: 'reconcile' }); // the grace records fall due: the old keys die
  first.provider.calls.length = 0;
  first.sm.sent.length = 0;
  return worlds;
}

const calls = (world: RevokerWorld, op: string) => world.provider.calls.filter((c) => c.op === op).length;

describe('Action: reconcile (every managed secret)', () => {
  it('lists the admin credential once, describes no secret and reads no value when nothing is due', async () => {
    // Prepare
    const worlds = await fleet(150);
    const [world] = worlds as [RevokerWorld];
    await world.clock.advance(HOUR);
    // Act
    await world.handler({ action: 'reconcile' });
    // Assess
    expect(world.provider.calls).toEqual([{ op: 'list' }]);
    expect(world.sm.sent).toEqual(['ListSecrets', 'ListSecrets']); // pages of 100
    expect(world.metrics.last('KeysPastDeadline')).toBe(0);
  });

  it('judges every secret from the one listing: an orphan gets a grace record from its first sighting, then is revoked', async () => {
    // Prepare
    const worlds = await fleet(20);
    const [world, , third] = worlds as [RevokerWorld, RevokerWorld, RevokerWorld];
    const orphan = await world.provider.issue({ label: providerKeyLabel(third, 'crashed-token') });
    await world.clock.advance(ORPHAN_MIN_AGE_MS);
    // Act
    await world.handler({ action: 'reconcile' });
    const firstSighting = world.clock.now();
    await world.clock.advance(HOUR);
    await world.handler({ action: 'reconcile' });
    // Assess
    expect(calls(world, 'list')).toBe(2);
    expect(world.status(orphan.keyId)).toBe('deleted');
    expect(await third.record(orphan.keyId)).toMatchObject({ phase: 'revoked', reason: 'orphan' });
    expect(world.metrics.sum('OrphansRevoked')).toBe(1);
    expect(world.scheduler.requests.at(-1)).toMatchObject({ secretArn: third.arn, keyId: orphan.keyId, due: firstSighting + HOUR });
    for (const other of worlds) expect(world.status(other.value('AWSCURRENT').keyId)).toBe('active');
  });

  it("re-reads a secret right before revoking: a key made current again after the listing survives", async () => {
    // Prepare: the old key's grace is over, and a rollback lands between the listing and the revocation
    const first = new RevokerWorld('fleet/s0', { gracePeriod: 3600 }, 1000);
    const world = first.also('fleet/rolled-back');
    await world.rotate();
    const old = world.value('AWSCURRENT');
    await world.rotate();
    await world.clock.advance(2 * HOUR);
    const list = world.provider.list.bind(world.provider);
    world.provider.list = async () => {
      world.provider.list = list; // once
      const listed = await list();
      const holders = stageHolders(world.sm.stages(world.arn));
      await world.sm.send(new UpdateSecretVersionStageCommand({ SecretId: world.arn, VersionStage: 'AWSCURRENT', MoveToVersionId: holders.previous, RemoveFromVersionId: holders.current }));
      return listed;
    };
    // Act
    await world.handler({ action: 'reconcile' });
    // Assess
    expect(world.value('AWSCURRENT').keyId).toBe(old.keyId);
    expect(world.status(old.keyId)).toBe('active');
    expect(calls(world, 'revoke')).toBe(0);
  });

  it('never revokes a key younger than the rotation window or labelled with the pending token, in a shared listing', async () => {
    // Prepare
    const worlds = await fleet(5);
    const [world, second, third] = worlds as [RevokerWorld, RevokerWorld, RevokerWorld];
    const young = await world.provider.issue({ label: providerKeyLabel(second, 'crashed-just-now') });
    world.sm.startRotation(third.arn, 'in-flight');
    const pending = await world.provider.issue({ label: providerKeyLabel(third, 'in-flight') });
    await world.clock.advance(ORPHAN_MIN_AGE_MS - 1000);
    // Act
    await world.handler({ action: 'reconcile' });
    const whileYoung = await second.record(young.keyId);
    await world.clock.advance(30 * 24 * HOUR);
    await world.handler({ action: 'reconcile' });
    // Assess
    expect(whileYoung).toBeUndefined();
    expect(await second.record(young.keyId)).toMatchObject({ phase: 'grace', reason: 'orphan', due: world.clock.now() + HOUR });
    expect(world.status(young.keyId)).toBe('active');
    expect(world.status(pending.keyId)).toBe('active');
    expect(await third.record(pending.keyId)).toBeUndefined();
  });

  it('lists each admin credential once: secrets on two credentials make two listings', async () => {
    // Prepare
    const first = new RevokerWorld('a/s0', { adminSecret: 'admin/a' }, 1000);
    const worlds = [first, first.also('a/s1', { adminSecret: 'admin/a' }), first.also('b/s0', { adminSecret: 'admin/b' }), first.also('b/s1', { adminSecret: 'admin/b' })];
    for (const w of worlds) await w.rotate();
    first.provider.calls.length = 0;
    // Act
    await first.handler({ action: 'reconcile' });
    // Assess
    expect(calls(first, 'list')).toBe(2);
  });

  it.each([
    [undefined, 2],
    [['baseUrl'], 1],
  ])('shares a listing across settings the adapter does not list by (listedBy %j): %i listing(s)', async (listedBy, listings) => {
    // Prepare: one credential, two secrets with different template keys
    const first = new RevokerWorld('a/s0', { adminSecret: 'admin/a', providerSettings: { baseUrl: 'http://p', templateKeyId: 't1' } }, 1000);
    const second = first.also('a/s1', { adminSecret: 'admin/a', providerSettings: { templateKeyId: 't2', baseUrl: 'http://p' } });
    await first.rotate();
    await second.rotate();
    first.provider.listedBy = listedBy;
    first.provider.calls.length = 0;
    // Act
    await first.handler({ action: 'reconcile' });
    // Assess
    expect(calls(first, 'list')).toBe(listings);
  });

  it("fails the secrets of a credential whose listing fails, and still sweeps the other credential's", async () => {
    // Prepare
    const first = new RevokerWorld('a/s0', { adminSecret: 'admin/a' }, 1000);
    const other = first.also('b/s0', { adminSecret: 'admin/b' });
    await first.rotate();
    await other.rotate();
    const orphan = await first.provider.issue({ label: providerKeyLabel(other, 'crashed') });
    await first.clock.advance(2 * HOUR);
    first.provider.fail({ op: 'list', error: 'auth' });
    // Act
    const result = first.handler({ action: 'reconcile' });
    // Assess
    await expect(result).rejects.toThrow(RevocationFailedError);
    await expect(result).rejects.toThrow(/'arn:[^']*a\/s0-[^']*': ProviderAuthError/);
    expect(await other.record(orphan.keyId)).toMatchObject({ phase: 'grace', reason: 'orphan' });
  });

  it('starts no new work inside its last minute, says what it left, and the next sweep continues', async () => {
    // Prepare: 6 secrets with an orphan each; the invocation has time for two of them
    const worlds = await fleet(6);
    const [world] = worlds as [RevokerWorld];
    const orphans = [];
    for (const w of worlds) orphans.push({ w, key: await world.provider.issue({ label: providerKeyLabel(w, 'crashed') }) });
    await world.clock.advance(ORPHAN_MIN_AGE_MS);
    let left = SWEEP_RESERVE_MS + 2;
    const handler = createRevokerHandler(world.deps);
    // Act
    const first = handler({ action: 'reconcile' }, { getRemainingTimeInMillis: () => left-- });
    await expect(first).rejects.toThrow(RevocationFailedError);
    const recordedFirst = await Promise.all(orphans.map(async ({ w, key }) => (await w.record(key.keyId)) !== undefined));
    await handler({ action: 'reconcile' }, { getRemainingTimeInMillis: () => 10 * SWEEP_RESERVE_MS });
    // Assess
    await expect(first).rejects.toThrow(/'4 secret\(s\) from 'fleet\/s2'': Error: the sweep stopped 60 s before the revoker's timeout .* raise revokerTimeout/);
    expect(recordedFirst).toEqual([true, true, false, false, false, false]);
    for (const { w, key } of orphans) expect(await w.record(key.keyId)).toMatchObject({ phase: 'grace', reason: 'orphan' });
  });

  it("spaces its provider calls to the adapter's documented rate limit", async () => {
    // Prepare: three orphans past their grace, a limit of 2 requests a second
    const worlds = await fleet(3);
    const [world] = worlds as [RevokerWorld];
    for (const w of worlds) await world.provider.issue({ label: providerKeyLabel(w, 'crashed') });
    await world.clock.advance(ORPHAN_MIN_AGE_MS);
    await world.handler({ action: 'reconcile' });
    await world.clock.advance(HOUR);
    world.provider.rateLimit = { requests: 2, perMs: 1000 };
    const at: number[] = [];
    const revoke = world.provider.revoke.bind(world.provider);
    world.provider.revoke = async (keyId) => {
      at.push(world.clock.now());
      return revoke(keyId);
    };
    // Act
    await world.handler({ action: 'reconcile' });
    // Assess
    expect(at).toHaveLength(3);
    expect(at.slice(1).map((t, i) => t - (at[i] as number))).toEqual([500, 500]);
  });
});
