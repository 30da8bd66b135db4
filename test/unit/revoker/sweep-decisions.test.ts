import { describe, expect, it, vi } from 'vitest';
import { isoTime } from '../../../core/clock';
import { fingerprint } from '../../../core/secret-value';
import { providerKeyLabel, putKeyRecord, readManagedSecret } from '../../../core/state';
import { RevocationFailedError } from '../../../lambda/revoker/errors';
import { createRevokerHandler } from '../../../lambda/revoker/handler';
import { loadKeyState, ORPHAN_MIN_AGE_MS } from '../../../lambda/revoker/keys';
import { deleteKey, MAX_REVOKED_RECORDS, secretWork } from '../../../lambda/revoker/lifecycle';
import { RevokerWorld, rotatedWorld } from '../../support/revoker-harness';

// The sweep's decisions (revokeDue, reconcile) as an operator sees them: which keys a sweep touches, when, and how.

const HOUR = 3_600_000;

describe('Sweep: two-phase revocation', () => {
  it('a disabled key survives sweeps until its observation window ends, then goes', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ observation: 7200 });
    await world.clock.advance(HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    expect(world.status(old.keyId)).toBe('disabled');
    // Act: sweeps inside the window (the scheduler or the periodic reconcile may run at any time)
    await world.clock.advance(7_200_000 - 1000);
    const during = await world.handler({ action: 'revokeDue', secretId: world.arn });
    const sweep = await world.handler({ action: 'reconcile', secretId: world.arn });
    // Assess: restorable until the window ends
    expect(during.keys).toEqual([]);
    expect(sweep.keys).toEqual([]);
    expect(world.status(old.keyId)).toBe('disabled');
    expect(world.provider.calls.filter((c) => c.op === 'revoke')).toEqual([]);
    // Act: the window ends
    await world.clock.advance(1000);
    const after = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(after.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'revoked' })]);
    expect(world.status(old.keyId)).toBe('deleted');
  });
});

describe('Sweep: what it arranges with the scheduler', () => {
  it('arranges nothing further for a key it revoked, nor for one revoked by an operator', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    await world.clock.advance(HOUR);
    const arranged = world.scheduler.requests.length;
    // Act
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    await world.rotate();
    const armedByRotation = world.scheduler.requests.length;
    await world.handler({ action: 'revokeNow', secretId: world.arn, previous: true, reason: 'leak', operator: 'ana' });
    // Assess
    expect(armedByRotation).toBe(arranged + 1); // only the rotation's own deadline
    expect(world.scheduler.requests).toHaveLength(armedByRotation);
  });
});

describe('Sweep: repeated sweeps', () => {
  it('a second sweep changes nothing once the due key is revoked', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    await world.clock.advance(HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    const recordAfterFirst = await world.record(old.keyId);
    const callsAfterFirst = world.provider.calls.length;
    const tagWritesAfterFirst = world.sm.sent.length;
    await world.clock.advance(HOUR);
    // Act
    const second = await world.handler({ action: 'revokeDue', secretId: world.arn });
    const sweep = await world.handler({ action: 'reconcile', secretId: world.arn });
    // Assess
    expect(second.keys).toEqual([]);
    expect(sweep.keys).toEqual([]);
    expect(world.provider.calls.slice(callsAfterFirst).filter((c) => c.op !== 'list')).toEqual([]);
    expect(world.sm.sent.slice(tagWritesAfterFirst).filter((name) => name === 'TagResourceCommand')).toEqual([]);
    expect(await world.record(old.keyId)).toEqual(recordAfterFirst);
    expect(world.metrics.sum('RevocationSucceeded')).toBe(1);
  });
});

describe('Sweep: records that a manual action left due', () => {
  it.each(['emergency', 'cancel', 'no-replacement'])(
    "deletes a key recorded with reason '%s' at once: no usage hold, no disabling first",
    async (reason) => {
      // Prepare: the manual action's own delete failed, leaving a due record; the key is still in use
      const { world, old } = await rotatedWorld({ observation: 7200, usageQuiet: 600, usageMaxHold: 6 * 3600 });
      await putKeyRecord(world.sm.client, world.arn, { keyId: old.keyId, phase: 'grace', due: world.clock.now(), reason, by: 'ana' });
      world.provider.use(world.provider.keys.get(old.keyId)!.apiKey);
      // Act
      const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
      // Assess
      expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'revoked' })]);
      expect(world.status(old.keyId)).toBe('deleted');
      expect(world.provider.calls.map((c) => c.op)).not.toContain('disable');
      expect(world.metrics.sum('OldKeyInUse')).toBe(0);
      expect(await world.record(old.keyId)).toMatchObject({ phase: 'revoked', reason, by: 'ana' });
    },
  );

  it('holds and then disables an ordinary previous key in the same situation (the contrast)', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ observation: 7200, usageQuiet: 600, usageMaxHold: 6 * 3600 });
    const apiKey = world.provider.keys.get(old.keyId)!.apiKey;
    await world.clock.advance(HOUR);
    world.provider.use(apiKey);
    // Act
    const held = await world.handler({ action: 'revokeDue', secretId: world.arn });
    await world.clock.advance(600_000);
    const disabled = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(held.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'held' })]);
    expect(disabled.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'disabled' })]);
    expect(world.status(old.keyId)).toBe('disabled');
  });
});

describe('Sweep: pruning revoked records', () => {
  it('keeps the deadline of a key whose revocation keeps failing while pruning older revoked records', async () => {
    // Prepare: the previous key's deadline passed long ago, and MAX_REVOKED_RECORDS + 1 keys were revoked since
    const { world, old } = await rotatedWorld();
    await world.clock.advance(3 * HOUR);
    const now = world.clock.now();
    for (let i = 1; i <= MAX_REVOKED_RECORDS + 1; i++) {
      await putKeyRecord(world.sm.client, world.arn, { keyId: `gone-${i}`, phase: 'revoked', due: now - i * 1000 });
    }
    world.provider.fail({ op: 'revoke', error: 'unavailable', times: 5 });
    // Act
    await expect(world.handler({ action: 'revokeDue', secretId: world.arn })).rejects.toThrow(RevocationFailedError);
    // Assess
    const records = (await readManagedSecret(world.sm.client, world.arn)).records;
    expect(records.filter((r) => r.phase === 'revoked').map((r) => r.keyId).sort()).toEqual(
      Array.from({ length: MAX_REVOKED_RECORDS }, (_, i) => `gone-${i + 1}`).sort(),
    );
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'grace' });
    expect(world.status(old.keyId)).toBe('active');
    // Act: the provider recovers; the next sweep finishes the job because the deadline was kept
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(world.status(old.keyId)).toBe('deleted');
  });

  it('keeps the deadlines of keys still in grace, held or disabled', async () => {
    // Prepare: one key of each live phase, all due later than the revoked ones
    const world = new RevokerWorld('payments/api', {}, undefined);
    await world.rotate();
    const now = world.clock.now();
    const live = [
      { keyId: 'in-grace', phase: 'grace', due: now + HOUR },
      { keyId: 'in-hold', phase: 'held', due: now + HOUR, heldSince: now - HOUR },
      { keyId: 'in-window', phase: 'disabled', due: now + HOUR },
    ] as const;
    for (const record of live) await putKeyRecord(world.sm.client, world.arn, record);
    for (let i = MAX_REVOKED_RECORDS + 2; i >= 1; i--) { // oldest first: the order of the tags is not the order of the deadlines
      await putKeyRecord(world.sm.client, world.arn, { keyId: `gone-${i}`, phase: 'revoked', due: now - i * 1000 });
    }
    // Act
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    const records = (await readManagedSecret(world.sm.client, world.arn)).records;
    expect(records.filter((r) => r.phase === 'revoked')).toHaveLength(MAX_REVOKED_RECORDS);
    expect(records.filter((r) => r.phase !== 'revoked').map((r) => r.keyId).sort()).toEqual(['in-grace', 'in-hold', 'in-window']);
    // the newest revoked records stay
    expect(records.some((r) => r.keyId === 'gone-1')).toBe(true);
    expect(records.filter((r) => r.phase === 'revoked').map((r) => r.keyId).sort()).toEqual(
      Array.from({ length: MAX_REVOKED_RECORDS }, (_, i) => `gone-${i + 1}`).sort(),
    );
  });
});

describe('Sweep: KeysPastDeadline', () => {
  it('counts only unreferenced keys past their deadline that are neither held nor revoked', async () => {
    // Prepare: a held previous key (in use), a revoked record, a rolled-back current key with an old record, and one
    // key whose revocation fails
    const { world, old } = await rotatedWorld({ usageQuiet: 600, usageMaxHold: 6 * 3600 });
    const current = world.value('AWSCURRENT');
    const stuck = await world.provider.issue({ label: 'keyrelay/payments/api/lost' });
    await world.clock.advance(HOUR);
    const now = world.clock.now();
    await putKeyRecord(world.sm.client, world.arn, { keyId: 'revoked-long-ago', phase: 'revoked', due: now - HOUR });
    await putKeyRecord(world.sm.client, world.arn, { keyId: current.keyId, phase: 'grace', due: now - HOUR });
    await putKeyRecord(world.sm.client, world.arn, { keyId: stuck.keyId, phase: 'grace', due: now - HOUR });
    world.provider.use(world.provider.keys.get(old.keyId)!.apiKey);
    world.provider.fail({ op: 'revoke', error: 'auth' });
    // Act
    await expect(world.handler({ action: 'reconcile', secretId: world.arn })).rejects.toThrow(RevocationFailedError);
    // Assess
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'held' });
    expect(world.status(stuck.keyId)).toBe('active');
    expect(world.metrics.last('KeysPastDeadline')).toBe(1);
  });
  it('inspect reports a due grace key as past its deadline, but not a held key whose next usage check is due', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ usageQuiet: 600, usageMaxHold: 6 * 3600 });
    const now = world.clock.now();
    await putKeyRecord(world.sm.client, world.arn, { keyId: old.keyId, phase: 'held', due: now - 1000, heldSince: now - HOUR });
    // Act
    const held = await world.handler({ action: 'inspect', secretId: world.arn });
    await putKeyRecord(world.sm.client, world.arn, { keyId: old.keyId, phase: 'grace', due: now }); // due this very second
    const due = await world.handler({ action: 'inspect', secretId: world.arn });
    // Assess
    expect(held.inspect?.problems.filter((p) => p.includes('past their revocation deadline'))).toEqual([]);
    expect(due.inspect?.problems.filter((p) => p.startsWith('1 key(s) past their revocation deadline'))).toHaveLength(1);
  });
});

describe('Sweep: reconcile response', () => {
  it('answers with every key it acted on and the outcome', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    await world.clock.advance(HOUR);
    // Act
    const response = await world.handler({ action: 'reconcile' });
    // Assess
    expect(response).toEqual({
      action: 'reconcile',
      keys: [{ secretName: 'payments/api', keyId: old.keyId, outcome: 'revoked', detail: 'deleted' }],
    });
  });
});

describe('Function: deleteKey', () => {
  it('refuses to delete a key a staging label references, and reports the failure', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    const current = world.value('AWSCURRENT');
    const work = secretWork(world.deps, await loadKeyState(world.sm.client, world.arn), world.provider);
    // Act
    const deleted = await deleteKey(work, current.keyId, { versionId: undefined, reason: 'emergency', by: 'ana' });
    // Assess
    expect(deleted).toBe(false);
    expect(world.status(current.keyId)).toBe('active');
    expect(world.provider.calls.filter((c) => c.op === 'revoke')).toEqual([]);
    expect(work.failures).toEqual([expect.objectContaining({ keyId: current.keyId, secretName: 'payments/api' })]);
    expect(work.failures[0]!.reason).toMatch(/AWSCURRENT/);
    expect(world.metrics.sum('RevocationFailed')).toBe(1);
    expect(await world.record(current.keyId)).toBeUndefined();
  });
});

// Operators search the revoker's log by these fields (key id, fingerprint, outcome), never by the sentence.
describe('Sweep: what the log lines carry', () => {
  const fields = (world: RevokerWorld, level: string, key: string) =>
    world.logger.lines.filter((l) => l.level === level && key in l.attributes).map((l) => l.attributes);

  it('names the secret, the key and the outcome of a revocation, and the key, operation and wait of each retry', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    await world.clock.advance(HOUR);
    world.provider.fail({ op: 'revoke', error: 'throttled' });
    // Act
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(fields(world, 'warn', 'attempt')).toEqual([
      { secret: 'payments/api', op: 'revoke', keyId: old.keyId, attempt: 1, waitMs: 1000, error: expect.stringContaining('slow down') },
    ]);
    expect(fields(world, 'info', 'detail')).toEqual([{ secret: 'payments/api', keyId: old.keyId, detail: 'deleted', reason: undefined }]);
    expect(world.metrics.points.filter((p) => p.name === 'RevocationSucceeded')).toEqual([{ name: 'RevocationSucceeded', unit: 'Count', value: 1 }]);
  });

  it('names the secret, the key and the error of a failed revocation', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    await world.clock.advance(HOUR);
    world.provider.fail({ op: 'revoke', error: 'auth' });
    // Act
    await expect(world.handler({ action: 'revokeDue', secretId: world.arn })).rejects.toThrow(RevocationFailedError);
    // Assess
    expect(fields(world, 'error', 'keyId')).toEqual([{ secret: 'payments/api', keyId: old.keyId, error: expect.stringContaining('credential rejected') }]);
    expect(world.metrics.points.filter((p) => p.name === 'RevocationFailed')).toEqual([{ name: 'RevocationFailed', unit: 'Count', value: 1 }]);
  });

  it('names an orphan it found by key id, with the deadline it gave it', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    const orphan = await world.provider.issue({ label: providerKeyLabel(world, 'crashed-token') });
    await world.clock.advance(ORPHAN_MIN_AGE_MS);
    // Act
    await world.handler({ action: 'reconcile', secretId: world.arn });
    // Assess
    expect(fields(world, 'warn', 'deadline')).toEqual([{ secret: 'payments/api', keyId: orphan.keyId, deadline: isoTime(world.clock.now() + HOUR) }]);
  });

  it('says when a disabled key will be deleted', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ observation: 7200 });
    await world.clock.advance(HOUR);
    // Act
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(fields(world, 'info', 'deleteAt')).toEqual([{ secret: 'payments/api', keyId: old.keyId, deleteAt: isoTime(world.clock.now() + 7_200_000) }]);
  });

  it('names a held key by id and fingerprint, with its last use, next check and hold cap', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ usageQuiet: 600, usageMaxHold: 1800 });
    const apiKey = world.provider.keys.get(old.keyId)!.apiKey;
    await world.clock.advance(HOUR);
    const deadline = world.clock.now();
    world.provider.use(apiKey);
    // Act
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    await world.clock.advance(1800_000);
    world.provider.use(apiKey);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    const seen = { secret: 'payments/api', keyId: old.keyId, fingerprint: fingerprint(apiKey) };
    expect(fields(world, 'warn', 'holdCap')).toEqual([
      { ...seen, lastUsedAt: isoTime(deadline), nextCheck: isoTime(deadline + 600_000), holdCap: isoTime(deadline + 1_800_000) },
      { ...seen, lastUsedAt: isoTime(world.clock.now()), holdCap: isoTime(deadline + 1_800_000) },
    ]);
    expect(world.metrics.points.filter((p) => p.name.startsWith('OldKeyInUse'))).toEqual([
      { name: 'OldKeyInUse', unit: 'Count', value: 1 },
      { name: 'OldKeyInUsePastHold', unit: 'Count', value: 1 },
    ]);
    expect(world.status(old.keyId)).toBe('deleted');
  });
});

describe('Sweep: keys the provider already deleted, and providers that report less', () => {
  it.each([
    ['checks its last use first', { usageQuiet: 600, usageMaxHold: 3600 }],
    ['disables it first', { observation: 7200 }],
  ])('records a key deleted at the provider as revoked (already gone) when the sweep %s', async (_what, settings) => {
    // Prepare
    const { world, old } = await rotatedWorld(settings);
    await world.provider.revoke(old.keyId); // deleted by hand at the provider
    await world.clock.advance(HOUR);
    // Act
    const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'revoked', detail: 'already gone' })]);
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'revoked' });
    expect(world.metrics.sum('RevocationFailed')).toBe(0);
  });

  it.each([
    ['its last use cannot be read', 'lastUsed', { usageQuiet: 600, usageMaxHold: 3600 }],
    ['it cannot be disabled', 'disable', { observation: 7200 }],
  ] as const)('fails loudly and leaves the key alive when %s (never deletes it at once instead)', async (_what, op, settings) => {
    // Prepare
    const { world, old } = await rotatedWorld(settings);
    await world.clock.advance(HOUR);
    world.provider.fail({ op, error: 'unavailable', times: 5 });
    // Act
    await expect(world.handler({ action: 'revokeDue', secretId: world.arn })).rejects.toThrow(RevocationFailedError);
    // Assess
    expect(world.status(old.keyId)).toBe('active');
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'grace' });
    expect(world.provider.calls.filter((c) => c.op === 'revoke')).toEqual([]);
  });

  it("asks the provider about the one key's last use, not for its whole key list, when it can", async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ usageQuiet: 600, usageMaxHold: 3600 });
    await world.clock.advance(HOUR);
    const before = world.provider.calls.length;
    // Act
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    // The one list is the ownership check's (labels), made right before the revoke: never a list for the last use.
    expect(world.provider.calls.slice(before)).toEqual([{ op: 'lastUsed', keyId: old.keyId }, { op: 'list', keyId: undefined }, { op: 'revoke', keyId: old.keyId }]);
  });

  it('holds a key in use by the last use its key list reports, when the provider has no last-use call', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ usageQuiet: 600, usageMaxHold: 3600 });
    Object.assign(world.provider, { lastUsed: undefined });
    await world.clock.advance(HOUR);
    world.provider.use(world.provider.keys.get(old.keyId)!.apiKey);
    // Act
    const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'held' })]);
    expect(world.status(old.keyId)).toBe('active');
  });

  it("reads the last use of the key itself from the key list, not of another key listed before it", async () => {
    // Prepare: a key made by hand (never used) is listed first
    const world = new RevokerWorld('payments/api', { usageQuiet: 600, usageMaxHold: 3600 });
    await world.provider.issue({ label: 'made by hand' });
    await world.rotate();
    const old = world.value('AWSCURRENT');
    await world.rotate();
    Object.assign(world.provider, { lastUsed: undefined });
    await world.clock.advance(HOUR);
    world.provider.use(world.provider.keys.get(old.keyId)!.apiKey);
    // Act
    const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'held' })]);
  });

  it('revokes a key missing from the key list as already gone, when the provider has no last-use call', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ usageQuiet: 600, usageMaxHold: 3600 });
    Object.assign(world.provider, { lastUsed: undefined });
    await world.provider.revoke(old.keyId);
    await world.clock.advance(HOUR);
    // Act
    const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'revoked', detail: 'already gone' })]);
  });

  it('revokes at the deadline, without a hold, a key whose last use the provider does not report', async () => {
    // Prepare: the key list carries no lastUsedAt at all
    const { world, old } = await rotatedWorld({ usageQuiet: 600, usageMaxHold: 3600 });
    Object.assign(world.provider, { lastUsed: undefined });
    const list = world.provider.list.bind(world.provider);
    vi.spyOn(world.provider, 'list').mockImplementation(async () => (await list()).map((k) => ({ ...k, lastUsedAt: undefined })));
    await world.clock.advance(HOUR);
    // Act
    const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'revoked', detail: 'deleted' })]);
    expect(world.metrics.sum('OldKeyInUse')).toBe(0);
  });

  it('asks nothing about last use of a provider that cannot report it, and revokes at the deadline', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ usageQuiet: 600, usageMaxHold: 3600 });
    Object.assign(world.provider, { capabilities: { disable: true, lastUsed: false } });
    await world.clock.advance(HOUR);
    world.provider.use(world.provider.keys.get(old.keyId)!.apiKey);
    // Act
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(world.status(old.keyId)).toBe('deleted');
    expect(world.provider.calls.filter((c) => c.op === 'lastUsed')).toEqual([]);
    expect(world.provider.calls.filter((c) => c.op === 'list')).toHaveLength(1); // the ownership check's labels
  });
});

describe('Sweep: order and budget', () => {
  it('acts on due keys earliest deadline first', async () => {
    // Prepare: an orphan whose deadline passed before the previous key's, recorded after it
    const { world, old } = await rotatedWorld();
    const orphan = await world.provider.issue({ label: providerKeyLabel(world, 'lost') });
    await putKeyRecord(world.sm.client, world.arn, { keyId: orphan.keyId, phase: 'grace', due: world.clock.now() + HOUR / 2, reason: 'orphan' });
    await world.clock.advance(HOUR);
    // Act
    const response = await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(response.keys.map((k) => k.keyId)).toEqual([orphan.keyId, old.keyId]);
  });

  it("honours the deployment's retry budget for provider calls", async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    const handler = createRevokerHandler({ ...world.deps, retry: { attempts: 2 } });
    await world.clock.advance(HOUR);
    world.provider.fail({ op: 'revoke', error: 'unavailable', times: 5 });
    // Act
    await expect(handler({ action: 'revokeDue', secretId: world.arn })).rejects.toThrow(RevocationFailedError);
    // Assess
    expect(world.provider.calls.filter((c) => c.op === 'revoke' && c.keyId === old.keyId)).toHaveLength(2);
  });
});
