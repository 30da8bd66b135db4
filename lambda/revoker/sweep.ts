import { isoTime } from '../../core/clock';
import { describeError } from '../../core/errors';
import { METRICS } from '../../core/metrics';
import { judgeRotation } from '../../core/overdue';
import {
  listManagedSecrets,
  parseProviderKeyLabel,
  providerIdentity,
  readManagedSecret,
  secretLabelId,
  stageHolders,
  type ListedSecret,
  type ManagedSecret,
} from '../../core/state';
import type { KeyProvider, ProviderKey } from '../providers/types';
import type { RevokerDeps } from './deps';
import { findOrphans, loadKeyState, type KeyState } from './keys';
import { callProvider, dueRecords, excessRevoked, pastDeadline, processDue, recordOrphans, secretWork, throwIfFailed, type SecretWork } from './lifecycle';
import type { KeyOutcome, RevokerRequest, RevokerResponse } from './protocol';
import { sweepReplicas } from './replicas';

/**
 * The reconcile sweep. Cost per sweep, for `n` secrets on admin credentials holding `k` keys each: `ceil(n / 100)`
 * `ListSecrets` pages, one provider listing per credential (`ceil(k / page size)` calls; see {@link listingIdentity}),
 * and, only for a secret with something to do (a due record, an orphan candidate), a `DescribeSecret` and the values
 * of `AWSCURRENT`/`AWSPENDING` re-read right before acting, plus the calls revocations make. See docs/revocation.md.
 */

/**
 * Time the sweep keeps in hand: it starts no new listing or secret when less is left, so it emits its gauges and says
 * what it left before the revoker's timeout. One secret's work (a few calls, each retried for up to ~10 s) fits.
 */
export const SWEEP_RESERVE_MS = 60_000;

/** One provider listing's worth of secrets, each with its adapter: the same {@link listingIdentity}. */
interface Group {
  members: Array<{ secret: ManagedSecret; provider: KeyProvider }>;
}

/**
 * Which listing serves a secret: provider type, admin secret, and the provider settings its adapter lists by
 * (`KeyProvider.listedBy`, @default every setting), so secrets differing only in scopes or a template key share one.
 */
function listingIdentity(secret: ManagedSecret, provider: KeyProvider): string {
  const { providerSettings } = secret.settings;
  const listedBy = provider.listedBy ?? Object.keys(providerSettings);
  const picked = Object.fromEntries(Object.entries(providerSettings).filter(([k]) => listedBy.includes(k)));
  return providerIdentity({ ...secret.settings, providerSettings: picked });
}

/** Totals the sweep reports as gauges. */
class Gauges {
  keysPastDeadline = 0;
  sinceRotation: number | undefined;
  readonly overdue: string[] = [];
  readonly frozen: string[] = [];

  constructor(private readonly deps: RevokerDeps) {}

  /** Counts one secret: records past their deadline, rotation overdue by its own schedule (logged), time since rotation. */
  add(state: KeyState, now: number): void {
    const { secret } = state;
    this.keysPastDeadline += pastDeadline(state, now);
    const last = secret.lastRotatedDate?.getTime();
    if (last !== undefined) this.sinceRotation = Math.max(this.sinceRotation ?? 0, Math.floor((now - last) / 1000));
    const verdict = judgeRotation(secret, now);
    if (verdict.state === 'frozen') this.frozen.push(secret.name);
    if (verdict.state !== 'overdue') return;
    this.overdue.push(secret.name);
    this.deps.logger.warn('rotation overdue: no successful rotation since it was due', {
      secret: secret.name, due: isoTime(verdict.due), basis: verdict.basis, overdueSince: isoTime(verdict.overdueAt),
      lastRotated: secret.lastRotatedDate && isoTime(secret.lastRotatedDate.getTime()), rotationEnabled: secret.rotationEnabled,
    });
  }
}

/**
 * A secret as the listing shows it, before any value is read: the current key is the one finishSecret noted
 * (`keyrelay:current`) while its version still holds `AWSCURRENT`, else unknown.
 */
function listedState(secret: ManagedSecret): KeyState {
  const holders = stageHolders(secret.versions);
  const note = secret.currentKey?.versionId === holders.current ? secret.currentKey : undefined;
  return {
    secret,
    holders,
    records: new Map(secret.records.map((r) => [r.keyId, r])),
    referenced: new Map(note ? [[note.keyId, ['AWSCURRENT']]] : []),
  };
}

/**
 * Whether a secret may have work: a due record, an orphan candidate among its keys, or revoked records to prune.
 * Errs towards work: a current key it cannot name from the note counts as a candidate, and the secret's state and
 * values are then re-read before anything is judged for real.
 */
function mayHaveWork(secret: ManagedSecret, keys: ProviderKey[], now: number): boolean {
  const state = listedState(secret);
  return dueRecords(state, now).length > 0 || excessRevoked(state).length > 0 || findOrphans(state, keys, now).length > 0;
}

/** The provider's keys by the secret label id their label names; keys keyrelay did not label are left out. */
function keysBySecret(listed: ProviderKey[]): Map<string, ProviderKey[]> {
  const out = new Map<string, ProviderKey[]>();
  for (const key of listed) {
    const owner = parseProviderKeyLabel(key.label)?.secret;
    if (owner === undefined) continue;
    const keys = out.get(owner);
    if (keys) keys.push(key);
    else out.set(owner, [key]);
  }
  return out;
}

/** Groups secrets by {@link listingIdentity}, in listing order; a secret whose adapter cannot be built fails alone. */
async function groupByListing(
  deps: RevokerDeps,
  secrets: ManagedSecret[],
  failed: (secret: string, err: unknown) => void,
): Promise<Group[]> {
  const groups = new Map<string, Group>();
  for (const secret of secrets) {
    let provider: KeyProvider;
    try {
      provider = await deps.provider(secret);
    } catch (err) {
      failed(secret.arn, err);
      continue;
    }
    const id = listingIdentity(secret, provider);
    const group = groups.get(id);
    if (group) group.members.push({ secret, provider });
    else groups.set(id, { members: [{ secret, provider }] });
  }
  return [...groups.values()];
}

/**
 * Judges one secret that may have work: re-reads its state and values (after the group's listing, so a key issued by
 * a rotation that started in between has its pending token visible), records orphans and acts on due records.
 */
async function sweepSecret(
  deps: RevokerDeps,
  provider: KeyProvider,
  secret: ManagedSecret,
  keys: ProviderKey[],
  listed: ProviderKey[],
): Promise<SecretWork> {
  const work = secretWork(deps, await loadKeyState(deps.sm, secret.arn, { trust: deps.trust }), provider);
  work.listed = listed; // the ownership check reads every key's label, not only this secret's
  await recordOrphans(work, keys);
  const before = work.outcomes.length;
  await processDue(work);
  const orphansRevoked = work.outcomes
    .slice(before)
    .filter((o) => o.outcome === 'revoked' && work.state.records.get(o.keyId)?.reason === 'orphan').length;
  if (orphansRevoked > 0) deps.metrics.addMetric(METRICS.orphansRevoked, 'Count', orphansRevoked);
  return work;
}

/** One secret, fresh (`DescribeSecret`), as the listing would show it. */
async function readOne(deps: RevokerDeps, secretId: string): Promise<ListedSecret> {
  try {
    const secret = await readManagedSecret(deps.sm, secretId);
    return { arn: secret.arn, name: secret.name, secret };
  } catch (error) {
    return { arn: secretId, name: secretId, error };
  }
}

/**
 * One secret (fresh) or every managed secret (`ListSecrets`), each with the deploy's settings. An undeclared secret
 * wearing keyrelay's tags is alarmed (`SettingsMismatch`) and left out; one that cannot be read or settled is passed to
 * `failed`. Shared by the sweep and the canary.
 */
export async function declaredSecrets(
  deps: RevokerDeps,
  secretId: string | undefined,
  failed: (secret: string, err: unknown) => void,
): Promise<{ listed: ListedSecret[]; secrets: ManagedSecret[] }> {
  const listed = secretId ? [await readOne(deps, secretId)] : await listManagedSecrets(deps.sm);
  const secrets: ManagedSecret[] = [];
  for (const entry of listed) {
    if (!entry.secret) failed(entry.arn, entry.error);
    else if (!deps.trust) secrets.push(entry.secret);
    else if (deps.trust.declares(entry.secret.name)) {
      try {
        secrets.push(deps.trust.settle(entry.secret));
      } catch (err) {
        failed(entry.arn, err);
      }
    } else {
      // Forged, or another deployment's: alarmed, never acted on, and not a failure of this sweep.
      deps.metrics.addMetric(METRICS.settingsMismatch, 'Count', 1);
      deps.logger.error("a secret wears keyrelay's tags but this deployment does not declare it: left alone", { secret: entry.arn });
    }
  }
  return { listed, secrets };
}

/**
 * `reconcile`: for one secret or every managed secret, records orphans and acts on due records (as `revokeDue`),
 * listing each admin credential's keys once; emits the gauges `KeysPastDeadline`, `KeysOverdue` (with a log line per
 * overdue key) and `SecondsSinceLastRotation`. A secret (or credential) that fails does not stop the others; the
 * action throws at the end when anything failed.
 */
export async function reconcile(
  deps: RevokerDeps,
  request: Extract<RevokerRequest, { action: 'reconcile' }>,
): Promise<RevokerResponse> {
  const outcomes: KeyOutcome[] = [];
  const failures: SecretWork['failures'] = [];
  const gauges = new Gauges(deps);
  const failed = (secret: string, err: unknown): void => {
    deps.metrics.addMetric(METRICS.revocationFailed, 'Count', 1);
    deps.logger.error('reconcile failed for a secret', { secret, error: describeError(err) });
    failures.push({ secretName: secret, reason: describeError(err) });
  };
  const { listed, secrets } = await declaredSecrets(deps, request.secretId, failed);
  const outOfTime = (): boolean => (deps.remainingMs?.() ?? Infinity) < SWEEP_RESERVE_MS;
  const deferred: string[] = [];
  for (const { members } of await groupByListing(deps, secrets, failed)) {
    if (outOfTime()) {
      deferred.push(...members.map((m) => m.secret.name));
      continue;
    }
    let byOwner: Map<string, ProviderKey[]>;
    let all: ProviderKey[];
    try {
      const first = members[0] as Group['members'][number];
      all = await callProvider(deps, first.provider, first.secret.name, 'list', undefined, () => first.provider.list());
      byOwner = keysBySecret(all);
    } catch (err) {
      for (const { secret } of members) failed(secret.arn, err);
      continue;
    }
    for (const { secret, provider } of members) {
      const keys = byOwner.get(secretLabelId(secret)) ?? [];
      if (!mayHaveWork(secret, keys, deps.clock.now())) {
        gauges.add(listedState(secret), deps.clock.now());
        continue;
      }
      if (outOfTime()) {
        deferred.push(secret.name);
        continue;
      }
      try {
        const work = await sweepSecret(deps, provider, secret, keys, all);
        outcomes.push(...work.outcomes);
        failures.push(...work.failures);
        gauges.add(work.state, deps.clock.now());
      } catch (err) {
        failed(secret.arn, err);
      }
    }
  }
  if (deferred.length > 0) {
    // Secrets done cost no reads next time, so each sweep gets further; revocation schedules keep firing meanwhile.
    failed(
      `${deferred.length} secret(s) from '${deferred[0]}'`,
      new Error(
        `the sweep stopped ${SWEEP_RESERVE_MS / 1000} s before the revoker's timeout and left them unjudged; the next sweep ` +
          'continues with them. If this repeats, raise revokerTimeout (up to 15 minutes)',
      ),
    );
  }
  const replicas = outOfTime() ? undefined : await sweepReplicas(deps, secrets, failed);
  deps.metrics.addMetric(METRICS.keysPastDeadline, 'Count', gauges.keysPastDeadline);
  deps.metrics.addMetric(METRICS.keysOverdue, 'Count', gauges.overdue.length);
  if (gauges.sinceRotation !== undefined) deps.metrics.addMetric(METRICS.secondsSinceLastRotation, 'Seconds', gauges.sinceRotation);
  deps.logger.info('reconcile done', {
    secrets: listed.length, keysPastDeadline: gauges.keysPastDeadline, keysOverdue: gauges.overdue.length,
    overdue: gauges.overdue, frozen: gauges.frozen, secondsSinceLastRotation: gauges.sinceRotation,
    ...(replicas && (replicas.failed > 0 || replicas.lagSeconds > 0) ? { replicasFailed: replicas.failed, replicaLagSeconds: replicas.lagSeconds } : {}),
  });
  throwIfFailed(failures);
  return { action: 'reconcile', keys: outcomes };
}
