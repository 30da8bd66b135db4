import { UntagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { readManagedSecret, setFrozen, TAGS } from '../../../core/state';
import { type RevokerWorld, rotatedWorld } from '../../support/revoker-harness';

/**
 * Tags the functions write outside the template (`keyrelay:key:*` records, `keyrelay:current`, `keyrelay:frozen`) may be
 * removed by a CloudFormation update of the secret (a drift-aware change set reverts a resource to its template; see
 * docs/cdk.md). Losing them mid-lifecycle must never revoke a key early: the scheduled `revokeDue` finds no record and
 * does nothing, and the reconcile sweep rebuilds the record from the provider's labels with a fresh grace period.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const GRACE = HOUR; // TEST_SETTINGS.gracePeriod

/** What a stack update that reverts the secret to its template leaves: every tag but the ones the functions write. */
async function stripRuntimeTags(world: RevokerWorld): Promise<string[]> {
  const { tags } = await readManagedSecret(world.sm.client, world.arn);
  const runtime = Object.keys(tags).filter((k) => k.startsWith(TAGS.keyRecord) || k === TAGS.current || k === TAGS.frozen);
  await world.sm.client.send(new UntagResourceCommand({ SecretId: world.arn, TagKeys: runtime }));
  return runtime;
}

/** When each provider key was first seen in each status other than `active`. */
type Seen = Map<string, Partial<Record<'disabled' | 'deleted', number>>>;

/**
 * Runs what AWS would run for `span`: every `step`, the revocation schedules that have fallen due (`revokeDue`, as
 * EventBridge Scheduler invokes it) and the reconcile sweep. @returns when each key was first seen disabled or deleted.
 */
async function runFor(world: RevokerWorld, span: number, step = 10 * MINUTE): Promise<Seen> {
  const end = world.clock.now() + span;
  const fired = new Set<number>();
  const seen: Seen = new Map();
  while (world.clock.now() < end) {
    await world.clock.advance(step);
    const now = world.clock.now();
    for (const [i, r] of world.scheduler.requests.entries()) {
      if (r.due > now || fired.has(i)) continue;
      fired.add(i);
      await world.handler({ action: 'revokeDue', secretId: r.secretArn });
    }
    await world.handler({ action: 'reconcile' });
    for (const [keyId, key] of world.provider.keys) {
      if (key.status === 'active') continue;
      const times = seen.get(keyId) ?? {};
      times[key.status] ??= now;
      seen.set(keyId, times);
    }
  }
  return seen;
}

/** When `keyId` first stopped working (disabled or deleted). */
const stopped = (seen: Seen, keyId: string): number | undefined => {
  const t = seen.get(keyId);
  return t && Math.min(t.disabled ?? Infinity, t.deleted ?? Infinity);
};

describe('Lost runtime tags (a stack update removed them)', () => {
  it('rebuilds a lost grace record with a fresh grace period: the old key outlives its original deadline, then is revoked', async () => {
    // Prepare: the old key's grace record is written; half its grace later the update strips the runtime tags.
    const { world, old } = await rotatedWorld();
    const current = world.value('AWSCURRENT');
    const originalDue = (await world.record(old.keyId))!.due;
    await world.clock.advance(GRACE / 2);
    const lostAt = world.clock.now();
    expect(await stripRuntimeTags(world)).toEqual(expect.arrayContaining([TAGS.keyRecord + old.keyId, TAGS.current]));
    // Act
    const stoppedAt = stopped(await runFor(world, 4 * GRACE), old.keyId);
    // Assess: never before a full grace period from the loss (so never before the original deadline either)...
    expect(stoppedAt).toBeDefined();
    expect(stoppedAt!).toBeGreaterThanOrEqual(lostAt + GRACE);
    expect(stoppedAt!).toBeGreaterThan(originalDue);
    // ...rebuilt as an orphan record by the sweep, and the current key untouched throughout.
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'revoked', reason: 'orphan' });
    expect(world.status(current.keyId)).toBe('active');
    expect(world.provider.calls.filter((c) => c.keyId === current.keyId && c.op !== 'verify')).toEqual([]);
  });

  it('does nothing when the schedule fires at the original deadline and the record is gone', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    await stripRuntimeTags(world);
    await world.clock.advance(GRACE);
    // Act: only the schedule EventBridge Scheduler holds, no sweep.
    const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(response.keys).toEqual([]);
    expect(world.status(old.keyId)).toBe('active');
  });

  it('restarts the observation window of a disabled key whose record was lost, never deleting it sooner', async () => {
    // Prepare: two-phase revocation; the old key is disabled at its deadline, then the update strips its record.
    const { world, old } = await rotatedWorld({ observation: 2 * 3600 });
    await world.clock.advance(GRACE);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    expect(world.status(old.keyId)).toBe('disabled');
    const deleteAt = (await world.record(old.keyId))!.due;
    await stripRuntimeTags(world);
    // Act
    const seen = await runFor(world, 8 * HOUR);
    // Assess: still disabled until the original delete time at least; deleted only later.
    const deletedAt = seen.get(old.keyId)?.deleted;
    expect(deletedAt).toBeDefined();
    expect(deletedAt!).toBeGreaterThan(deleteAt);
  });

  it('revokes nothing when the freeze note is lost: rotation resumes, and the demoted key gets its full grace', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    await setFrozen(world.sm.client, world.arn, '2026-11-22T10:00:00Z oncall: provider incident');
    await stripRuntimeTags(world);
    const before = world.value('AWSCURRENT');
    // Act: the next rotation runs (nothing stops it now) and the sweeps go on.
    await world.rotate();
    const demotedAt = world.clock.now();
    const seen = await runFor(world, 4 * GRACE);
    // Assess
    expect(stopped(seen, before.keyId)!).toBeGreaterThanOrEqual(demotedAt + GRACE);
    expect(stopped(seen, old.keyId)!).toBeGreaterThanOrEqual(demotedAt + GRACE); // its record was lost too: rebuilt
    expect(world.status(world.value('AWSCURRENT').keyId)).toBe('active');
  });
});
