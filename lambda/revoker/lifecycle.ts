import { isoTime } from '../../core/clock';
import { describeError } from '../../core/errors';
import { METRICS } from '../../core/metrics';
import { retry, RETRY_BUDGETS } from '../../core/retry';
import { fingerprint } from '../../core/secret-value';
import { deleteKeyRecords, putKeyRecord, type KeyRecord } from '../../core/state';
import { KeyNotFoundError } from '../providers/errors';
import type { KeyProvider, ProviderKey } from '../providers/types';
import type { RevokerDeps } from './deps';
import { RevocationFailedError } from './errors';
import { findOrphans, readVersionKey, type KeyState } from './keys';
import { ownershipProblem } from './ownership';
import { holdForReplicas } from './replicas';
import type { KeyOutcome } from './protocol';

/** Revoked records kept per secret for `inspect`/`history`; older ones are pruned (AWS allows 50 tags per secret). */
export const MAX_REVOKED_RECORDS = 10;

/** Reasons that skip the usage hold and the observation window: nobody should be using these keys. */
const IMMEDIATE_REASONS: ReadonlySet<string> = new Set(['emergency', 'cancel', 'no-replacement']);

/** One secret's work in progress: its state, its provider, and what happened so far. */
export interface SecretWork {
  deps: RevokerDeps;
  state: KeyState;
  provider: KeyProvider;
  outcomes: KeyOutcome[];
  failures: Array<{ secretName: string; keyId?: string; reason: string }>;
  /** The provider's keys, once listed during this work (ownership checks read their labels). */
  listed?: ProviderKey[];
}

/** Starts the work on one secret. */
export function secretWork(deps: RevokerDeps, state: KeyState, provider: KeyProvider): SecretWork {
  return { deps, state, provider, outcomes: [], failures: [] };
}

/**
 * Runs a provider call under the retry budget on the injected clock, logging each retry, and paced to the provider's
 * documented rate limit.
 */
export function providerCall<T>(work: SecretWork, op: string, keyId: string | undefined, fn: () => Promise<T>): Promise<T> {
  return callProvider(work.deps, work.provider, work.state.secret.name, op, keyId, fn);
}

/** When each adapter may next be called (ms). Adapters are cached per credential, so the pace spans invocations. */
const nextCall = new WeakMap<KeyProvider, number>();

/**
 * Waits for `provider`'s next slot under its documented rate limit (`KeyProvider.rateLimit`): calls through one
 * adapter are spaced `perMs / requests` apart, so a sweep with many revocations stays inside the limit instead of
 * spending its retries on 429s. A listing's pages count as one call.
 */
async function paced(deps: RevokerDeps, provider: KeyProvider): Promise<void> {
  const limit = provider.rateLimit;
  if (!limit) return;
  const now = deps.clock.now();
  const at = Math.max(now, nextCall.get(provider) ?? now);
  nextCall.set(provider, at + limit.perMs / limit.requests);
  if (at > now) await deps.clock.sleep(at - now);
}

/** {@link providerCall} before a secret's state is loaded. */
export function callProvider<T>(
  deps: RevokerDeps,
  provider: KeyProvider,
  secret: string,
  op: string,
  keyId: string | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const budget = { ...RETRY_BUDGETS.revoker, ...deps.retry };
  return retry(async () => {
    await paced(deps, provider);
    return fn();
  }, {
    clock: deps.clock,
    attempts: budget.attempts,
    baseMs: budget.baseMs,
    maxMs: budget.maxMs,
    random: deps.random,
    onRetry: (err, attempt, waitMs) =>
      deps.logger.warn('provider call failed; retrying', {
        secret, op, keyId, attempt, waitMs, error: describeError(err),
      }),
  });
}

/** Writes a record (state contract tag) and mirrors it in memory; arms the scheduler when it falls due later. */
export async function writeRecord(work: SecretWork, record: KeyRecord, arm = true): Promise<void> {
  const { deps, state } = work;
  await putKeyRecord(deps.sm, state.secret.arn, record);
  state.records.set(record.keyId, record);
  if (arm && record.phase !== 'revoked' && record.due > deps.clock.now()) {
    await deps.scheduler.scheduleRevocation({
      secretArn: state.secret.arn, secretName: state.secret.name, keyId: record.keyId, due: record.due,
    });
  }
}

/** Records a failure that must reach an alarm: metric now, error when the action ends. */
export function fail(work: SecretWork, keyId: string | undefined, err: unknown): void {
  const { deps, state } = work;
  const reason = describeError(err);
  deps.metrics.addMetric(METRICS.revocationFailed, 'Count', 1);
  deps.logger.error('revocation failed; the key may still be alive', { secret: state.secret.name, keyId, error: reason });
  work.failures.push({ secretName: state.secret.name, keyId, reason });
}

/** Throws {@link RevocationFailedError} when anything failed. */
export function throwIfFailed(failures: SecretWork['failures']): void {
  if (failures.length > 0) throw new RevocationFailedError(failures);
}

/**
 * The last check before any provider call that stops a key working (revoke, disable): the ownership rule
 * (`./ownership`), on labels re-read right now. Refuses a key `AWSCURRENT` or `AWSPENDING` references, unless
 * `allowReferenced` (revokeWithoutReplacement), and a key that is not this secret's, whatever a record says.
 * @returns false when refused (failure recorded: metric emitted).
 */
export async function mayStopKey(work: SecretWork, keyId: string, op: 'revoke' | 'disable', allowReferenced = false): Promise<boolean> {
  const problem = await ownershipProblem(work, keyId, allowReferenced);
  if (!problem) return true;
  // Callers filter first: reaching this means the state moved under the action (a rotation finished, a rollback),
  // or a record points at a key that is not this secret's. A loud failure beats an outage.
  fail(work, keyId, new Error(`refused to ${op === 'revoke' ? 'delete' : 'disable'} key '${keyId}': ${problem}`));
  return false;
}

/**
 * Deletes a key at the provider ("already gone" counts) and records it revoked. Never called for a referenced key
 * except by revokeWithoutReplacement, which says so with `allowReferenced`.
 * @returns false when it gave up (metric emitted, failure recorded).
 */
export async function deleteKey(
  work: SecretWork,
  keyId: string,
  from: Pick<KeyRecord, 'versionId' | 'reason' | 'by'>,
  allowReferenced = false,
): Promise<boolean> {
  const { deps, state, provider } = work;
  if (!(await mayStopKey(work, keyId, 'revoke', allowReferenced))) return false;
  let detail = 'deleted';
  try {
    await providerCall(work, 'revoke', keyId, () => provider.revoke(keyId));
  } catch (err) {
    if (!(err instanceof KeyNotFoundError)) {
      fail(work, keyId, err);
      return false;
    }
    detail = 'already gone';
  }
  const now = deps.clock.now();
  await writeRecord(work, { keyId, phase: 'revoked', due: now, versionId: from.versionId, reason: from.reason, by: from.by }, false);
  deps.metrics.addMetric(METRICS.revocationSucceeded, 'Count', 1);
  deps.logger.info('key revoked', { secret: state.secret.name, keyId, detail, reason: from.reason });
  work.outcomes.push({ secretName: state.secret.name, keyId, outcome: 'revoked', detail });
  return true;
}

async function versionFingerprint(work: SecretWork, versionId: string | undefined): Promise<string | undefined> {
  if (!versionId || work.state.secret.versions[versionId] === undefined) return undefined;
  try {
    const value = await readVersionKey(work.deps.sm, work.state.secret, versionId, false);
    return value ? fingerprint(value.apiKey) : undefined;
  } catch {
    return undefined; // the fingerprint only decorates the alarm's log line
  }
}

/** Options for {@link processDue}. */
export interface DueOptions {
  /**
   * Quota pressure (createSecret could not issue): skip disabling (a disabled key still counts against the quota) and
   * delete disabled keys whose grace is over even during their observation window.
   */
  quota?: boolean;
}

/** When the provider last saw the key used: null never, undefined not reported, 'gone' deleted. */
async function lastUse(work: SecretWork, keyId: string): Promise<number | null | undefined | 'gone'> {
  const { provider } = work;
  try {
    if (provider.lastUsed) return await providerCall(work, 'lastUsed', keyId, () => provider.lastUsed!(keyId));
    const listed = (await providerCall(work, 'list', undefined, () => provider.list())).find((k) => k.keyId === keyId);
    return listed ? listed.lastUsedAt : 'gone';
  } catch (err) {
    if (err instanceof KeyNotFoundError) return 'gone';
    throw err;
  }
}

/**
 * Usage-aware hold: while the key was used within `usageQuiet`, and until `usageMaxHold` after its deadline, push
 * its record to the next check and raise `OldKeyInUse`. @returns true when held (nothing more to do now).
 */
async function hold(work: SecretWork, record: KeyRecord, used: number | null | undefined): Promise<boolean> {
  const { deps, state } = work;
  const { usageQuiet, usageMaxHold = 0 } = state.secret.settings;
  if (!usageQuiet || used === null || used === undefined) return false;
  const now = deps.clock.now();
  const quietAt = used + usageQuiet * 1000;
  if (quietAt <= now) return false;
  const deadline = record.phase === 'held' ? (record.heldSince ?? record.due) : record.due;
  const cap = deadline + usageMaxHold * 1000;
  const keyFingerprint = await versionFingerprint(work, record.versionId);
  const seen = { secret: state.secret.name, keyId: record.keyId, fingerprint: keyFingerprint, lastUsedAt: isoTime(used) };
  if (now >= cap) {
    deps.metrics.addMetric(METRICS.oldKeyInUsePastHold, 'Count', 1);
    deps.logger.warn('old key still in use past its hold cap; revoking anyway', { ...seen, holdCap: isoTime(cap) });
    return false;
  }
  const due = Math.min(quietAt, cap);
  await writeRecord(work, { ...record, phase: 'held', due, heldSince: deadline });
  deps.metrics.addMetric(METRICS.oldKeyInUse, 'Count', 1);
  deps.logger.warn('old key still in use; revocation held: an application has not picked up the new key', {
    ...seen, nextCheck: isoTime(due), holdCap: isoTime(cap),
  });
  work.outcomes.push({ secretName: state.secret.name, keyId: record.keyId, outcome: 'held', nextDue: isoTime(due) });
  return true;
}

/** Moves one due record one step: hold, disable (two-phase) or delete. Failures are recorded, not thrown. */
async function advance(work: SecretWork, record: KeyRecord, options: DueOptions): Promise<void> {
  const { deps, state, provider } = work;
  const { keyId, versionId, reason, by } = record;
  try {
    const immediate = reason !== undefined && IMMEDIATE_REASONS.has(reason);
    if (record.phase !== 'disabled' && !immediate) {
      if (await holdForReplicas(work, record)) return;
      if (state.secret.settings.usageQuiet && provider.capabilities.lastUsed) {
        const used = await lastUse(work, keyId);
        if (used === 'gone') {
          await deleteKey(work, keyId, record);
          return;
        }
        if (await hold(work, record, used)) return;
      }
      const observation = state.secret.settings.observation;
      if (!options.quota && observation && provider.capabilities.disable && provider.disable) {
        if (!(await mayStopKey(work, keyId, 'disable'))) return;
        try {
          await providerCall(work, 'disable', keyId, () => provider.disable!(keyId));
        } catch (err) {
          if (err instanceof KeyNotFoundError) return void (await deleteKey(work, keyId, record));
          throw err;
        }
        const due = deps.clock.now() + observation * 1000;
        await writeRecord(work, { keyId, phase: 'disabled', due, versionId, reason, by });
        deps.logger.info('key disabled; deleted after the observation window unless restored', {
          secret: state.secret.name, keyId, deleteAt: isoTime(due),
        });
        work.outcomes.push({ secretName: state.secret.name, keyId, outcome: 'disabled', nextDue: isoTime(due) });
        return;
      }
    }
    await deleteKey(work, keyId, record);
  } catch (err) {
    fail(work, keyId, err);
  }
}

/**
 * The records whose time has come and that no live label references, earliest first. Records of referenced keys are
 * left alone (a finishSecret about to move `AWSCURRENT`, or a rollback).
 */
export function dueRecords(state: Pick<KeyState, 'records' | 'referenced'>, now: number, options: DueOptions = {}): KeyRecord[] {
  return [...state.records.values()]
    .filter(
      (r) =>
        r.phase !== 'revoked' &&
        !state.referenced.has(r.keyId) &&
        (r.due <= now || (options.quota === true && r.phase === 'disabled')),
    )
    .sort((a, b) => a.due - b.due);
}

/** Acts on every {@link dueRecords} record, then prunes old revoked records. */
export async function processDue(work: SecretWork, options: DueOptions = {}): Promise<void> {
  for (const record of dueRecords(work.state, work.deps.clock.now(), options)) await advance(work, record, options);
  await pruneRevoked(work);
}

/** Revoked records beyond the {@link MAX_REVOKED_RECORDS} newest, to prune. */
export function excessRevoked(state: Pick<KeyState, 'records'>): string[] {
  const revoked = [...state.records.values()].filter((r) => r.phase === 'revoked').sort((a, b) => b.due - a.due);
  return revoked.slice(MAX_REVOKED_RECORDS).map((r) => r.keyId);
}

async function pruneRevoked(work: SecretWork): Promise<void> {
  const old = excessRevoked(work.state);
  if (old.length === 0) return;
  await deleteKeyRecords(work.deps.sm, work.state.secret.arn, old);
  for (const keyId of old) work.state.records.delete(keyId);
}

/**
 * Records an orphan record (a full grace period from this first sighting) for each of the secret's keys in `listed`
 * that {@link findOrphans} calls an orphan. @returns how many.
 */
export async function recordOrphans(work: SecretWork, listed: ProviderKey[]): Promise<number> {
  const orphans = findOrphans(work.state, listed, work.deps.clock.now());
  for (const orphan of orphans) {
    work.deps.logger.warn('orphan key found: labelled for this secret, referenced by no version', {
      secret: work.state.secret.name, keyId: orphan.keyId, deadline: isoTime(orphan.deadline),
    });
    await writeRecord(work, { keyId: orphan.keyId, phase: 'grace', due: orphan.deadline, versionId: orphan.versionId, reason: 'orphan' });
  }
  return orphans.length;
}

/** Records still past their deadline and alive as far as the records say (for the `KeysPastDeadline` gauge). */
export function pastDeadline(state: KeyState, now: number): number {
  return [...state.records.values()].filter(
    (r) => r.phase !== 'revoked' && r.phase !== 'held' && !state.referenced.has(r.keyId) && r.due <= now,
  ).length;
}
