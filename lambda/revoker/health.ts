import * as z from 'zod/mini';
import '../../core/zod-mini';
import { describeError } from '../../core/errors';
import { METRICS } from '../../core/metrics';
import { AWS_EVENTS_ALIAS, HEALTH_EXPOSED } from '../../core/ports';
import { stageHolders, type ManagedSecret } from '../../core/state';
import { awsIamProvider } from '../providers/aws-iam';
import { autoEmergency, BREAKER_KEYS, holdEmergency, recentEmergencies } from './automatic';
import type { RevokerDeps } from './deps';
import { UntrustedEventError } from './errors';
import { readVersionKey } from './keys';
import type { KeyOutcome, RevokerResponse } from './protocol';
import { declaredSecrets } from './sweep';

/**
 * AWS Health's `AWS_RISK_CREDENTIALS_EXPOSED` (docs/revocation.md, "Leak response"): AWS found an IAM access key in
 * public. The event names the key in `detail.affectedEntities[].entityValue` (AWS's own sample responder reads it
 * there; `resources` is often empty). A key that is the current key of a keyrelay `aws-iam` secret gets the automatic
 * emergency; a key that is one of its older keys is revoked at once; any other key is only reported.
 */

/** An EventBridge event as Lambda receives it from a rule: what tells it from a revoker request. */
export function isEventBridgeEvent(event: unknown): event is { source: string; 'detail-type': string } {
  return typeof event === 'object' && event !== null && typeof (event as { source?: unknown }).source === 'string' &&
    typeof (event as { 'detail-type'?: unknown })['detail-type'] === 'string';
}

/**
 * Refuses an AWS event that did not come through the rule's alias ({@link AWS_EVENTS_ALIAS}): Lambda sets
 * `invokedFunctionArn`, a payload cannot. @throws UntrustedEventError (metric `UntrustedEvent` emitted)
 */
export function requireRuleInvocation(deps: RevokerDeps, event: { source: string; 'detail-type': string }, invokedFunctionArn: string | undefined): void {
  if (invokedFunctionArn?.split(':')[7] === AWS_EVENTS_ALIAS) return;
  deps.metrics.addMetric(METRICS.untrustedEvent, 'Count', 1);
  deps.logger.error('refused an AWS event that did not come through the EventBridge rule: nothing was done', {
    source: event.source, detailType: event['detail-type'], invokedFunctionArn: invokedFunctionArn ?? 'unknown',
    next: 'someone invoked the revoker directly with an event-shaped payload: find who in CloudTrail (lambda Invoke on the revoker)',
  });
  throw new UntrustedEventError(
    `an event with source '${event.source}' reached the revoker as '${invokedFunctionArn ?? 'unknown'}', not through its '${AWS_EVENTS_ALIAS}' alias (only keyrelay's EventBridge rule may invoke it): refused, nothing was done`,
  );
}

const HealthEventSchema = z.object({
  source: z.literal(HEALTH_EXPOSED.source),
  'detail-type': z.literal(HEALTH_EXPOSED.detailType),
  resources: z.optional(z.array(z.string())),
  detail: z.object({
    eventTypeCode: z.string(),
    eventArn: z.optional(z.string()),
    affectedEntities: z.optional(z.array(z.object({ entityValue: z.optional(z.string()) }))),
  }),
});

// IAM access key ids: AKIA (long-term) or ASIA (temporary), then upper-case letters and digits.
const ACCESS_KEY_ID = /^(AKIA|ASIA)[A-Z0-9]{12,124}$/;

/** The access key ids an exposure event names; empty for any other event. */
export function exposedKeyIds(event: unknown): { keyIds: string[]; eventArn?: string } {
  const parsed = HealthEventSchema.safeParse(event);
  if (!parsed.success || parsed.data.detail.eventTypeCode !== HEALTH_EXPOSED.eventTypeCode) return { keyIds: [] };
  const named = [...(parsed.data.detail.affectedEntities ?? []).map((e) => e.entityValue ?? ''), ...(parsed.data.resources ?? [])];
  return { keyIds: [...new Set(named.filter((id) => ACCESS_KEY_ID.test(id)))], eventArn: parsed.data.detail.eventArn };
}

/** The secret that holds `keyId` as its current key (read, when the note does not say) or as a recorded older key. */
async function holderOf(deps: RevokerDeps, secrets: ManagedSecret[], keyId: string): Promise<ManagedSecret | undefined> {
  for (const secret of secrets) {
    if (secret.records.some((r) => r.keyId === keyId && r.phase !== 'revoked')) return secret;
    const current = stageHolders(secret.versions).current;
    const note = secret.currentKey;
    if (note && note.versionId === current) {
      if (note.keyId === keyId) return secret;
      continue;
    }
    if ((await readVersionKey(deps.sm, secret, current, false))?.keyId === keyId) return secret;
  }
  return undefined;
}

/**
 * Acts on an AWS Health event the rule delivered (the caller checked it came through the alias): for each exposed
 * access key keyrelay manages, the automatic emergency (held per key, and for the whole provider when
 * {@link BREAKER_KEYS} emergencies ran within the hour); every other key is reported (`HealthKeyUnmanaged`).
 */
export async function healthEvent(deps: RevokerDeps, event: unknown): Promise<RevokerResponse> {
  const { keyIds, eventArn } = exposedKeyIds(event);
  if (keyIds.length === 0) {
    deps.logger.warn('AWS event ignored: not an exposed access key event keyrelay acts on', { eventArn });
    return { action: 'awsHealth', keys: [] };
  }
  const { secrets } = await declaredSecrets(deps, undefined, (secret, err) =>
    deps.logger.error('could not read a secret while matching an exposed key', { secret, error: describeError(err) }),
  );
  const iam = secrets.filter((s) => s.settings.provider === awsIamProvider.type);
  const keys: KeyOutcome[] = [];
  for (const keyId of keyIds) {
    const secret = await holderOf(deps, iam, keyId);
    if (!secret) {
      deps.metrics.addMetric(METRICS.healthKeyUnmanaged, 'Count', 1);
      deps.logger.error('AWS Health: an exposed access key that keyrelay does not manage (reported only)', {
        accessKeyId: keyId, eventArn, next: 'find its user (`aws iam get-access-key-last-used --access-key-id ID`), rotate and delete it by hand',
      });
      continue;
    }
    deps.metrics.addMetric(METRICS.healthKeyExposed, 'Count', 1);
    const request = { secretArn: secret.arn, trigger: 'aws-health' as const, keyId, reason: `AWS Health ${HEALTH_EXPOSED.eventTypeCode} ${eventArn ?? ''}`.trim() };
    const now = deps.clock.now();
    if (recentEmergencies(secrets, secret.settings.provider, now) + 1 >= BREAKER_KEYS) {
      deps.metrics.addMetric(METRICS.canaryBreakerOpen, 'Count', 1);
      holdEmergency(deps, secret.name, request, 'held-breaker');
      continue;
    }
    keys.push(...(await autoEmergency(deps, request)).keys);
  }
  return { action: 'awsHealth', keys };
}
