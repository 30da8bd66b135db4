import { describeError } from '../../core/errors';
import { METRICS } from '../../core/metrics';
import { canaryTag, putStateTags, stageHolders, type AutoAction, type CanaryVerdict, type ManagedSecret } from '../../core/state';
import { ProviderAuthError } from '../providers/errors';
import type { KeyProvider } from '../providers/types';
import { autoEmergency, BREAKER_KEYS, heldBecause, holdEmergency, recentEmergencies } from './automatic';
import type { RevokerDeps } from './deps';
import { readVersionKey } from './keys';
import { callProvider } from './lifecycle';
import type { KeyOutcome, RevokerRequest, RevokerResponse } from './protocol';
import { CanaryFailedError } from './errors';
import { declaredSecrets, SWEEP_RESERVE_MS } from './sweep';

/**
 * The canary (docs/revocation.md, "Leak response"): on its schedule, the revoker verifies each key's `AWSCURRENT` key
 * at the provider, as often as the key's `canary` setting says (a key whose last check is younger is skipped). A key
 * the provider rejects while the admin credential still works is dead: an automatic emergency replaces and revokes it.
 * A provider outage, or a rejected admin credential, proves nothing about the key: nothing rotates, the alarm fires.
 * Many keys of one provider dead at once open the provider's circuit breaker: none of them rotates, the alarm fires.
 * The verdict is the canary's own (the provider's answers); the invocation only says "check now".
 */

/** A check this much earlier than the interval still counts as due: the schedule fires at a fixed rate, with jitter. */
export const CANARY_SLACK_MS = 30_000;

/** One key's check. */
interface Checked {
  secret: ManagedSecret;
  verdict: CanaryVerdict;
  keyId?: string;
  detail?: string;
}

/** Whether the canary checks `secret` now: it has an interval, and its last check is at least that old. */
export function canaryDue(secret: ManagedSecret, now: number): boolean {
  const every = secret.settings.canaryEvery;
  if (every === undefined) return false;
  const last = secret.canary?.at;
  return last === undefined || now - last >= every * 1000 - CANARY_SLACK_MS;
}

/**
 * Verifies one key: `ok`; `rejected` when the provider refuses the key but accepts the admin credential (a listing);
 * `admin-rejected` when it refuses both; `provider-unavailable` for anything else (after the retry budget).
 */
export async function judgeKey(deps: RevokerDeps, provider: KeyProvider, secret: string, apiKey: string): Promise<{ verdict: CanaryVerdict; detail?: string }> {
  try {
    await callProvider(deps, provider, secret, 'verify', undefined, () => provider.verify(apiKey));
    return { verdict: 'ok' };
  } catch (err) {
    if (!(err instanceof ProviderAuthError)) return { verdict: 'provider-unavailable', detail: describeError(err) };
  }
  try {
    await callProvider(deps, provider, secret, 'list', undefined, () => provider.list());
    return { verdict: 'rejected' };
  } catch (err) {
    return { verdict: err instanceof ProviderAuthError ? 'admin-rejected' : 'provider-unavailable', detail: describeError(err) };
  }
}

async function check(deps: RevokerDeps, secret: ManagedSecret): Promise<Checked> {
  // One read: the listing names the current version, and a version's value never changes.
  const current = await readVersionKey(deps.sm, secret, stageHolders(secret.versions).current, false);
  if (!current) return { secret, verdict: 'no-key' };
  const provider = await deps.provider(secret);
  return { secret, keyId: current.keyId, ...(await judgeKey(deps, provider, secret.name, current.apiKey)) };
}

/**
 * `canary`: checks every managed key that is due (or the one named), then starts an automatic emergency for each key
 * found dead, unless held (per key: off, frozen, the hourly limit, a running rotation; per provider: the breaker).
 * Notes each verdict on its secret (`keyrelay:canary`: `keyrelay status` shows it). Stops starting checks inside the
 * sweep's reserve; the keys left stay due for the next run. Throws (the Errors alarm) only when a check failed.
 */
export async function canary(deps: RevokerDeps, request: Extract<RevokerRequest, { action: 'canary' }>): Promise<RevokerResponse> {
  const failures: string[] = [];
  const failed = (secret: string, err: unknown): void => {
    deps.logger.error('canary failed for a secret', { secret, error: describeError(err) });
    failures.push(`'${secret}': ${describeError(err)}`);
  };
  const { secrets } = await declaredSecrets(deps, request.secretId, failed);
  const now = deps.clock.now();
  const due = secrets.filter((s) => request.secretId !== undefined || canaryDue(s, now));
  const checked: Checked[] = [];
  for (const secret of due) {
    if ((deps.remainingMs?.() ?? Infinity) < SWEEP_RESERVE_MS) break;
    try {
      checked.push(await check(deps, secret));
    } catch (err) {
      failed(secret.name, err);
    }
  }
  const dead = checked.filter((c) => c.verdict === 'rejected');
  // The breaker: many keys of one provider dead at once (this run, plus the last hour's emergencies) is the provider.
  const open = new Set<string>();
  for (const provider of new Set(dead.map((c) => c.secret.settings.provider))) {
    const count = dead.filter((c) => c.secret.settings.provider === provider && !heldBecause(c.secret, now)).length + recentEmergencies(secrets, provider, now);
    if (count < BREAKER_KEYS) continue;
    open.add(provider);
    deps.metrics.addMetric(METRICS.canaryBreakerOpen, 'Count', 1);
    deps.logger.error('circuit breaker open: many keys of one provider found dead at once; no key of it is rotated automatically', {
      provider, keys: dead.filter((c) => c.secret.settings.provider === provider).map((c) => c.secret.name), count, threshold: BREAKER_KEYS,
      next: `check the provider's status and its admin credential; rotate the keys that are really dead with \`keyrelay rotate --emergency NAME\``,
    });
  }
  const keys: KeyOutcome[] = [];
  let ok = 0;
  for (const c of checked) {
    let action: AutoAction | undefined;
    if (c.verdict === 'ok') ok++;
    else if (c.verdict === 'rejected' && c.keyId) {
      deps.metrics.addMetric(METRICS.canaryKeyRejected, 'Count', 1);
      const request = { secretArn: c.secret.arn, trigger: 'canary' as const, keyId: c.keyId, reason: 'the provider rejects the current key while the admin credential works' };
      if (open.has(c.secret.settings.provider)) {
        action = 'held-breaker';
        holdEmergency(deps, c.secret.name, request, action);
      } else {
        const done = await autoEmergency(deps, request);
        action = done.action;
        keys.push(...done.keys);
      }
    } else if (c.verdict === 'provider-unavailable' || c.verdict === 'admin-rejected') {
      deps.metrics.addMetric(METRICS.canaryInconclusive, 'Count', 1);
      deps.logger.error('canary inconclusive: nothing was rotated', {
        secret: c.secret.name, verdict: c.verdict, error: c.detail,
        next: c.verdict === 'admin-rejected'
          ? `the provider rejects the admin credential too: fix the secret '${c.secret.settings.adminSecret ?? '?'}'`
          : `the provider is unavailable: check its status; the canary checks again on its next run`,
      });
    }
    try {
      await putStateTags(deps.sm, c.secret.arn, [canaryTag({ at: now, verdict: c.verdict, ...(action ? { action } : {}) })]);
    } catch (err) {
      failed(c.secret.name, err);
    }
  }
  deps.logger.info('canary done', { checked: checked.length, ok, dead: dead.length, skipped: secrets.length - due.length, breakerOpen: [...open] });
  if (failures.length > 0) throw new CanaryFailedError(failures);
  return { action: 'canary', keys };
}
