import { randomUUID } from 'node:crypto';
import { DescribeSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { isoTime } from '../../core/clock';
import { describeError } from '../../core/errors';
import { METRICS } from '../../core/metrics';
import { fingerprint } from '../../core/secret-value';
import {
  autoEmergencyTag,
  putStateTags,
  stageHolders,
  tagMap,
  TAGS,
  type AutoAction,
  type AutoTrigger,
  type ManagedSecret,
} from '../../core/state';
import { audit, revokeNow } from './actions';
import type { RevokerDeps } from './deps';
import { loadKeyState } from './keys';
import type { KeyOutcome } from './protocol';

/**
 * The automatic emergency (docs/revocation.md, "Leak response"): what `keyrelay rotate --emergency` does, started by
 * the canary's own verdict or an AWS Health event the rule delivered, never by anything a caller can write. One per
 * key per {@link AUTO_EMERGENCY_LIMIT_MS}; off per key and globally (`autoEmergency: false`); held while the key is
 * frozen or a rotation is running; held for a whole provider while its circuit breaker is open.
 */

/** At most one automatic emergency per key within this. */
export const AUTO_EMERGENCY_LIMIT_MS = 3_600_000;

/**
 * The per-provider circuit breaker: this many keys of one provider found dead within {@link AUTO_EMERGENCY_LIMIT_MS}
 * (in one canary run, plus automatic emergencies of that provider in the last hour) is the provider, not the keys:
 * no automatic emergency for it until fewer are.
 */
export const BREAKER_KEYS = 3;

/** How long the revoker waits for the emergency rotation to make the new key current. */
export const EMERGENCY_WAIT_MS = 300_000;

/** Why an automatic emergency may not start for `secret` now; undefined when it may. */
export function heldBecause(secret: ManagedSecret, now: number): AutoAction | undefined {
  if (secret.settings.autoEmergency === false) return 'held-off';
  if (secret.frozen !== undefined) return 'held-frozen';
  const last = secret.lastAutoEmergency;
  if (last && now - last.at < AUTO_EMERGENCY_LIMIT_MS) return 'held-limit';
  const { current, pending } = stageHolders(secret.versions);
  if (pending !== undefined && pending !== current) return 'held-busy';
  return undefined;
}

/** Automatic emergencies of `provider` started within the limit window, by the secrets' notes. */
export function recentEmergencies(secrets: readonly ManagedSecret[], provider: string, now: number): number {
  return secrets.filter((s) => s.settings.provider === provider && s.lastAutoEmergency && now - s.lastAutoEmergency.at < AUTO_EMERGENCY_LIMIT_MS).length;
}

/** What an automatic emergency is asked to do. */
export interface AutoEmergencyRequest {
  secretArn: string;
  trigger: AutoTrigger;
  /** The dead or exposed key. */
  keyId: string;
  /** Why, for the audit line and the alarm's log line. */
  reason: string;
}

/** Logs and counts an emergency that was due but not started. */
export function holdEmergency(deps: RevokerDeps, secret: string, request: Pick<AutoEmergencyRequest, 'trigger' | 'keyId' | 'reason'>, held: AutoAction): void {
  deps.metrics.addMetric(METRICS.autoEmergencyHeld, 'Count', 1);
  deps.logger.error('automatic emergency held: the key is dead or exposed and was NOT rotated', {
    secret, keyId: request.keyId, trigger: request.trigger, reason: request.reason, held,
    next: held === 'held-off'
      ? `automatic emergencies are off for this key: \`keyrelay rotate --emergency ${secret}\``
      : held === 'held-frozen'
        ? `the key is frozen: unfreeze it, then \`keyrelay rotate --emergency ${secret}\``
        : held === 'held-busy'
          ? `a rotation is running or stuck: \`keyrelay status ${secret}\`; cancel it, then \`keyrelay rotate --emergency ${secret}\``
          : `\`keyrelay status\`; if the key is really dead, \`keyrelay rotate --emergency ${secret}\``,
  });
}

/**
 * Runs one automatic emergency: re-reads the secret, refuses what {@link heldBecause} holds, notes the attempt
 * (the limit) before anything changes, then, for the current key, rotates (`RotateSecret`: the rotation function
 * issues, checks and promotes a new key), waits for it to become current and revokes the dead key by the confirmed
 * id (`revokeNow`, audited with the trigger as operator); a key that is no longer current is revoked at once.
 * @returns what was done, and the revoker's outcomes. Never throws for a held or failed emergency: it is alarmed.
 */
export async function autoEmergency(deps: RevokerDeps, request: AutoEmergencyRequest): Promise<{ action: AutoAction; keys: KeyOutcome[] }> {
  const state = await loadKeyState(deps.sm, request.secretArn, { trust: deps.trust });
  const { secret } = state;
  const now = deps.clock.now();
  const held = heldBecause(secret, now);
  if (held) {
    holdEmergency(deps, secret.name, request, held);
    return { action: held, keys: [] };
  }
  const operator = `keyrelay:${request.trigger}`;
  const isCurrent = state.current?.keyId === request.keyId;
  // The note first: a crash or retry from here on counts against the limit, so it never starts a second rotation.
  await putStateTags(deps.sm, secret.arn, [autoEmergencyTag({ at: now, trigger: request.trigger, keyId: request.keyId })]);
  audit(deps, 'automaticEmergency', secret.name, {
    trigger: request.trigger, reason: request.reason, keyId: request.keyId,
    fingerprint: isCurrent && state.current ? fingerprint(state.current.apiKey) : undefined, operator,
    plan: isCurrent ? 'rotate, then revoke the dead key' : 'revoke the key (it is no longer current)',
  });
  try {
    if (isCurrent) {
      const versionId = await rotateNow(deps, secret);
      deps.logger.info('automatic emergency: new key current', { secret: secret.name, versionId, trigger: request.trigger });
    }
    const revoked = await revokeNow(deps, {
      action: 'revokeNow', secretId: secret.arn, ...(isCurrent ? { previous: true, expectedKeyId: request.keyId } : { keyId: request.keyId }),
      reason: `automatic emergency (${request.trigger}): ${request.reason}`, operator,
    });
    deps.metrics.addMetric(METRICS.autoEmergencyDone, 'Count', 1);
    return { action: isCurrent ? 'rotated' : 'revoked', keys: revoked.keys };
  } catch (err) {
    deps.metrics.addMetric(METRICS.autoEmergencyFailed, 'Count', 1);
    deps.logger.error('automatic emergency failed: the dead or exposed key may still be current or alive', {
      secret: secret.name, keyId: request.keyId, trigger: request.trigger, error: describeError(err),
      next: `\`keyrelay status ${secret.name}\`; then \`keyrelay rotate --emergency ${secret.name}\` (or, if the new key is current, \`keyrelay revoke ${secret.name} --key-id ${request.keyId}\`)`,
    });
    return { action: 'failed', keys: [] };
  }
}

/**
 * Starts a rotation with its own token and waits, on the revoker's clock, until `AWSCURRENT` moves to it.
 * @returns the new current version.
 * @throws Error when the rotation ended without promoting its version, or did not finish in {@link EMERGENCY_WAIT_MS}.
 */
async function rotateNow(deps: RevokerDeps, secret: ManagedSecret): Promise<string> {
  const token = randomUUID();
  const started = deps.clock.now();
  await (deps.rotateSecret ?? ((arn, t) => deps.sm.send(new RotateSecretCommand({ SecretId: arn, ClientRequestToken: t })).then(() => undefined)))(secret.arn, token);
  let wait = 500;
  for (;;) {
    const described = await deps.sm.send(new DescribeSecretCommand({ SecretId: secret.arn }));
    const stages = described.VersionIdsToStages?.[token] ?? [];
    if (stages.includes('AWSCURRENT')) return token;
    // finishSecret notes the new key and claims the version (removes AWSPENDING) just before it moves AWSCURRENT.
    const finishing = tagMap(described.Tags)[TAGS.current]?.startsWith(`v=${token} `) === true;
    if (!stages.includes('AWSPENDING') && !finishing) {
      throw new Error(`the emergency rotation of '${secret.name}' ended without promoting version ${token}: read the rotation function's logs`);
    }
    const waited = deps.clock.now() - started;
    if (waited >= EMERGENCY_WAIT_MS) {
      throw new Error(`the emergency rotation of '${secret.name}' has not finished after ${Math.round(waited / 1000)} s (since ${isoTime(started)})`);
    }
    await deps.clock.sleep(wait);
    wait = Math.min(5_000, wait * 2);
  }
}
