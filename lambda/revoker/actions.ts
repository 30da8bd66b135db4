import { UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { isoTime } from '../../core/clock';
import { describeError } from '../../core/errors';
import { fingerprint } from '../../core/secret-value';
import { labelledTokenFor, providerKeyLabel, type ManagedSecret } from '../../core/state';
import { KeyNotFoundError, ProviderAuthError } from '../providers/errors';
import type { KeyProvider, ProviderKey } from '../providers/types';
import type { RevokerDeps } from './deps';
import { KeyInUseError, KeyMovedError, NothingToDoError } from './errors';
import { findOrphans, loadKeyState, readVersionKey, type KeyState } from './keys';
import {
  deleteKey,
  fail,
  pastDeadline,
  processDue,
  providerCall,
  recordOrphans,
  secretWork,
  throwIfFailed,
  writeRecord,
  type SecretWork,
} from './lifecycle';
import { errorName } from '../../core/versions';
import { ownershipProblem, refreshLabels } from './ownership';
import type { InspectedKey, RevokerRequest, RevokerResponse } from './protocol';

type Req<A extends RevokerRequest['action']> = Extract<RevokerRequest, { action: A }>;

/** Opens the work on one secret: its state re-read (settings from the manifest) and its provider. */
export async function open(deps: RevokerDeps, secretId: string): Promise<SecretWork> {
  const state = await loadKeyState(deps.sm, secretId, { trust: deps.trust });
  return secretWork(deps, state, await deps.provider(state.secret));
}

/** The audit line of a manual action. */
export function audit(deps: RevokerDeps, action: string, secret: string, fields: Record<string, unknown>): void {
  // One structured line per manual action: `keyrelay history` and CloudTrail queries key on `audit`.
  deps.logger.warn('audit', { audit: true, action, secret, ...fields });
}

function done(work: SecretWork, action: RevokerRequest['action']): RevokerResponse {
  throwIfFailed(work.failures);
  return { action, keys: work.outcomes };
}

/** `revokeDue`: act on every due record of one secret (hold, disable, delete), re-arming for what comes next. */
export async function revokeDue(deps: RevokerDeps, request: Req<'revokeDue'>): Promise<RevokerResponse> {
  const work = await open(deps, request.secretId);
  await processDue(work);
  return done(work, 'revokeDue');
}

/**
 * Quota pressure hook for createSecret (`onQuotaFull`): revokes the keys `secret` no longer references whose grace is
 * over (due records, disabled keys, due orphans), skipping the observation window (a disabled key still counts
 * against the quota) but honouring the usage hold. Never touches a key `AWSCURRENT` or `AWSPENDING` references. A new
 * secret (its current value a placeholder naming no key) holds no key, so a rotation that still cannot issue fails
 * with createSecret's quota error, which names the way out.
 * @returns how many keys it revoked.
 * @throws RevocationFailedError when a revocation gave up (metric emitted).
 */
export async function freeQuota(deps: RevokerDeps, secret: Pick<ManagedSecret, 'arn'>, provider: KeyProvider): Promise<number> {
  const work = secretWork(deps, await loadKeyState(deps.sm, secret.arn, { newSecretOk: true, trust: deps.trust }), provider);
  const listed = await providerCall(work, 'list', undefined, () => provider.list());
  await recordOrphans(work, listed);
  await processDue(work, { quota: true });
  throwIfFailed(work.failures);
  return work.outcomes.filter((o) => o.outcome === 'revoked').length;
}

function refuseReferenced(state: KeyState, keyId: string, what: string): void {
  const stages = state.referenced.get(keyId);
  if (stages) {
    throw new KeyInUseError(
      `secret '${state.secret.name}': key '${keyId}' is referenced by ${stages.join(' and ')}; ${what}`,
    );
  }
}

/**
 * Refuses when the key an emergency would revoke is not the one the operator confirmed (a rotation or rollback ran
 * after the confirmation). @throws KeyMovedError
 */
function refuseUnconfirmed(
  secret: string,
  stage: 'previous' | 'current',
  found: { keyId: string; versionId?: string },
  confirmed: { expectedKeyId?: string; expectedVersionId?: string },
): void {
  const keyMoved = confirmed.expectedKeyId !== undefined && confirmed.expectedKeyId !== found.keyId;
  const versionMoved = confirmed.expectedVersionId !== undefined && confirmed.expectedVersionId !== found.versionId;
  if (!keyMoved && !versionMoved) return;
  throw new KeyMovedError(
    `secret '${secret}': the ${stage} key is '${found.keyId}', not the confirmed '${confirmed.expectedKeyId ?? '?'}' ` +
      `(version ${found.versionId ?? 'none'}, confirmed ${confirmed.expectedVersionId ?? '?'}): a rotation or rollback ran meanwhile; nothing was revoked`,
  );
}

/**
 * `revokeNow`: delete one key at once (no grace, no hold, no observation), by key id or the key `AWSPREVIOUS`
 * references. The record is written first so a crash mid-way leaves a due record the sweep finishes.
 */
export async function revokeNow(deps: RevokerDeps, request: Req<'revokeNow'>): Promise<RevokerResponse> {
  const work = await open(deps, request.secretId);
  const { state } = work;
  let keyId = request.keyId;
  let versionId: string | undefined;
  let keyFingerprint: string | undefined;
  if (request.previous) {
    const previous = await readVersionKey(deps.sm, state.secret, state.holders.previous, false);
    if (!previous) {
      throw new NothingToDoError(
        `secret '${state.secret.name}' has no AWSPREVIOUS key to revoke (previous version: ${state.holders.previous ?? 'none'}); ` +
          'to revoke a key by id pass keyId',
      );
    }
    keyId = previous.keyId;
    versionId = state.holders.previous;
    keyFingerprint = fingerprint(previous.apiKey);
    refuseUnconfirmed(state.secret.name, 'previous', { keyId, versionId }, request);
  }
  if (keyId === undefined) throw new NothingToDoError('revokeNow needs keyId or previous: true');
  refuseReferenced(state, keyId, 'rotate first (emergency rotation), or revokeWithoutReplacement if no replacement can be issued');
  const problem = await ownershipProblem(work, keyId);
  if (problem) throw new KeyInUseError(`secret '${state.secret.name}': key '${keyId}' may not be revoked here: ${problem}`);
  const id = keyId;
  audit(deps, 'revokeNow', state.secret.name, { keyId: id, fingerprint: keyFingerprint, operator: request.operator, reason: request.reason });
  const by = request.operator;
  await writeRecord(work, { keyId: id, phase: 'grace', due: deps.clock.now(), versionId, reason: 'emergency', by }, false);
  await deleteKey(work, id, { versionId, reason: 'emergency', by });
  return done(work, 'revokeNow');
}

/** `revokeWithoutReplacement`: the confirmed emergency with no replacement: deletes the key `AWSCURRENT` references. */
export async function revokeWithoutReplacement(
  deps: RevokerDeps,
  request: Req<'revokeWithoutReplacement'>,
): Promise<RevokerResponse> {
  const work = await open(deps, request.secretId);
  const { state } = work;
  if (!state.current) throw new NothingToDoError(`secret '${state.secret.name}' has no current key to revoke`);
  const { keyId, apiKey } = state.current;
  refuseUnconfirmed(state.secret.name, 'current', { keyId, versionId: state.holders.current }, request);
  audit(deps, 'revokeWithoutReplacement', state.secret.name, {
    keyId, fingerprint: fingerprint(apiKey), operator: request.operator, reason: request.reason,
    downtime: 'applications using this secret fail until the next rotation issues a key',
  });
  await deleteKey(work, keyId, { versionId: state.holders.current, reason: 'no-replacement', by: request.operator }, true);
  return done(work, 'revokeWithoutReplacement');
}

/**
 * `cancel`: abandons a failed rotation: removes `AWSPENDING` from the pending version first (never
 * `CancelRotateSecret`, which turns rotation off), records the pending key(s) as due, checks the labels again, then
 * deletes them. A key labelled with the pending token but never stored (createSecret crashed before `PutSecretValue`)
 * goes too. Repeating finishes what a crash left; a crash between the label and the records leaves keys the sweep
 * revokes as orphans (after a grace period).
 * A leftover `AWSPENDING` on a version that was current (it also holds `AWSPREVIOUS`, after a rollback) is only
 * removed: that key gets an ordinary grace period, since applications may still hold it.
 */
export async function cancel(deps: RevokerDeps, request: Req<'cancel'>): Promise<RevokerResponse> {
  const work = await open(deps, request.secretId);
  const { state, provider } = work;
  const pending = state.holders.pending;
  audit(deps, 'cancel', state.secret.name, { pendingVersion: pending ?? null, operator: request.operator, reason: request.reason });
  if (pending !== undefined) {
    const label = providerKeyLabel(state.secret, pending);
    const listed = await providerCall(work, 'list', undefined, () => provider.list());
    work.listed = listed;
    const targets = new Set(listed.filter((k) => k.label === label).map((k) => k.keyId));
    if (state.pending) targets.add(state.pending.keyId);
    const current = state.current?.keyId;
    if (current) targets.delete(current);
    const wasCurrent = pending === state.holders.previous;
    // The label first: finishSecret removes it too before it promotes, and Secrets Manager lets only one of the two
    // removals succeed. Losing means the rotation is finishing: nothing may be recorded or revoked.
    try {
      await deps.sm.send(
        new UpdateSecretVersionStageCommand({ SecretId: state.secret.arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: pending }),
      );
    } catch (err) {
      if (errorName(err) !== 'InvalidParameterException') throw err;
      throw new NothingToDoError(
        `secret '${state.secret.name}': version '${pending}' lost its AWSPENDING label before the cancel could remove it (the ` +
          `rotation's finishSecret claimed it); nothing was revoked. \`keyrelay status ${state.secret.name}\` shows whether it became current`,
      );
    }
    const now = deps.clock.now();
    for (const keyId of targets) {
      await writeRecord(
        work,
        wasCurrent
          ? { keyId, phase: 'grace', due: now + state.secret.settings.gracePeriod * 1000, versionId: pending, by: request.operator }
          : { keyId, phase: 'grace', due: now, versionId: pending, reason: 'cancel', by: request.operator },
        wasCurrent,
      );
    }
  }
  // Check again (and deleteKey re-reads the labels before each provider call).
  await refreshLabels(work);
  const now = deps.clock.now();
  for (const record of [...work.state.records.values()]) {
    if (record.reason === 'cancel' && record.phase !== 'revoked' && record.due <= now && !work.state.referenced.has(record.keyId)) {
      await deleteKey(work, record.keyId, record);
    }
  }
  return done(work, 'cancel');
}

/**
 * `restore`: re-enables a disabled key during its observation window and pushes its deadline out by the window again
 * (phase back to `grace`). Without `keyId`, the most recently disabled key. Repeating is a no-op.
 */
export async function restore(deps: RevokerDeps, request: Req<'restore'>): Promise<RevokerResponse> {
  const work = await open(deps, request.secretId);
  const { state, provider } = work;
  const name = state.secret.name;
  const records = [...state.records.values()];
  const record = request.keyId
    ? state.records.get(request.keyId)
    : (records.filter((r) => r.phase === 'disabled').sort((a, b) => b.due - a.due)[0] ??
      records.filter((r) => r.phase !== 'revoked' && r.reason === 'restored').sort((a, b) => b.due - a.due)[0]);
  if (!record) {
    throw new NothingToDoError(
      `secret '${name}': ${request.keyId ? `key '${request.keyId}' has no lifecycle record` : 'no disabled key to restore'}; ` +
        'inspect the secret to see its keys',
    );
  }
  if (record.phase === 'revoked') {
    throw new NothingToDoError(
      `secret '${name}': key '${record.keyId}' was deleted at ${isoTime(record.due)} and cannot come back; rotate to issue a new key`,
    );
  }
  audit(deps, 'restore', name, { keyId: record.keyId, operator: request.operator, reason: request.reason });
  if (record.phase !== 'disabled') {
    work.outcomes.push({ secretName: name, keyId: record.keyId, outcome: 'restored', nextDue: isoTime(record.due), detail: `already ${record.phase}` });
    return done(work, 'restore');
  }
  if (!provider.enable) throw new NothingToDoError(`provider '${provider.type}' cannot enable keys`);
  try {
    await providerCall(work, 'enable', record.keyId, () => provider.enable!(record.keyId));
  } catch (err) {
    if (err instanceof KeyNotFoundError) {
      await writeRecord(work, { ...record, phase: 'revoked', due: deps.clock.now() }, false);
      throw new NothingToDoError(`secret '${name}': key '${record.keyId}' is already deleted at the provider; rotate to issue a new key`);
    }
    fail(work, record.keyId, err);
    return done(work, 'restore');
  }
  const window = (state.secret.settings.observation ?? state.secret.settings.gracePeriod) * 1000;
  const due = deps.clock.now() + window;
  await writeRecord(work, { keyId: record.keyId, phase: 'grace', due, versionId: record.versionId, reason: 'restored', by: request.operator });
  work.outcomes.push({ secretName: name, keyId: record.keyId, outcome: 'restored', nextDue: isoTime(due) });
  return done(work, 'restore');
}

/** `inspect`: the provider's keys for a secret with their labels, records and orphan flag, and the quota headroom. */
export async function inspect(deps: RevokerDeps, request: Req<'inspect'>): Promise<RevokerResponse> {
  const work = await open(deps, request.secretId);
  const { state, provider } = work;
  const problems: string[] = [];
  let listed: ProviderKey[] = [];
  try {
    listed = await providerCall(work, 'list', undefined, () => provider.list());
  } catch (err) {
    problems.push(
      err instanceof ProviderAuthError
        ? `admin credential rejected by '${provider.type}' (${err.message}): fix the secret '${state.secret.settings.adminSecret ?? '?'}'`
        : `provider '${provider.type}' could not list keys: ${describeError(err)}`,
    );
  }
  const previous = await readVersionKey(deps.sm, state.secret, state.holders.previous, false);
  const now = deps.clock.now();
  const orphans = new Set(findOrphans(state, listed, now).map((o) => o.keyId));
  const keys: InspectedKey[] = [];
  for (const key of listed) {
    const stages = [...(state.referenced.get(key.keyId) ?? [])];
    if (previous?.keyId === key.keyId) stages.push('AWSPREVIOUS');
    const record = state.records.get(key.keyId);
    if (labelledTokenFor(state.secret, key.label) === undefined && stages.length === 0 && !record) continue;
    keys.push({
      keyId: key.keyId,
      status: key.status,
      stages,
      phase: record?.phase,
      due: record ? isoTime(record.due) : undefined,
      createdAt: key.createdAt === undefined ? undefined : isoTime(key.createdAt),
      lastUsedAt: key.lastUsedAt === undefined || key.lastUsedAt === null ? key.lastUsedAt : isoTime(key.lastUsedAt),
      orphan: orphans.has(key.keyId),
    });
  }
  const limit = provider.quota;
  const quota = limit === undefined || problems.length > 0 ? undefined : { used: listed.length, limit };
  if (quota && quota.used >= quota.limit) {
    problems.push(
      `quota full: ${quota.used} of ${quota.limit} keys for this admin credential; the next rotation frees only keys past their grace. ` +
        'Way out: cancel a stuck rotation, revokeNow a key by id, or wait for a grace period to end',
    );
  }
  const pastDue = pastDeadline(state, now);
  if (pastDue > 0) problems.push(`${pastDue} key(s) past their revocation deadline and not yet revoked: reconcile the secret; if that fails, see RevocationFailed`);
  return {
    action: 'inspect',
    keys: [],
    inspect: { secretName: state.secret.name, provider: provider.type, keys, quota, problems },
  };
}
