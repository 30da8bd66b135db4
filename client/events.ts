import { EVENTS, type KeyRotatedDetail } from '../core/ports';
import { defaultKeyClient } from './default-client';
import type { KeyClient } from './key-client';

/**
 * Invalidates the key named by a `KeyRotated` event (EventBridge source `keyrelay`, detail-type `KeyRotated`), both
 * by `detail.secretName` and `detail.secretArn`, so the next read fetches the new key at once instead of after `ttl`.
 * Pass the EventBridge event itself (an SQS message body holds it as JSON). Other events are ignored.
 *
 * @param client @default - the default client, when it has been created (nothing is cached otherwise)
 * @returns whether the event was a `KeyRotated` event
 * @example
 * // SQS queue subscribed to the rule { source: ['keyrelay'], 'detail-type': ['KeyRotated'] }
 * for (const message of messages) handleKeyRotatedEvent(JSON.parse(message.Body), keys);
 */
export function handleKeyRotatedEvent(event: unknown, client: KeyClient | undefined = defaultKeyClient(false)): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as { source?: unknown; 'detail-type'?: unknown; detail?: Partial<KeyRotatedDetail> };
  if (e.source !== EVENTS.source || e['detail-type'] !== EVENTS.keyRotated || typeof e.detail !== 'object') return false;
  for (const name of [e.detail.secretName, e.detail.secretArn]) {
    if (typeof name === 'string' && name !== '') client?.invalidate(name);
  }
  return true;
}
