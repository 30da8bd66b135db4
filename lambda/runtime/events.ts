import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KeyRelayError } from '../../core/errors';
import { EVENTS, type EventPublisher, type KeyRotatedDetail } from '../../core/ports';

/** EventBridge refused an event (PutEvents answers 200 with failed entries). */
export class EventPublishError extends KeyRelayError {
  constructor(message: string) {
    super('EventPublishFailed', message);
  }
}

/**
 * An {@link EventPublisher} on EventBridge: `PutEvents` with source `keyrelay` and detail-type `KeyRotated`.
 * @param busName event bus. @default 'default'
 */
export function eventBridgePublisher(client: EventBridgeClient, busName = 'default'): EventPublisher {
  return {
    async keyRotated(detail: KeyRotatedDetail): Promise<void> {
      const out = await client.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: EVENTS.source,
              DetailType: EVENTS.keyRotated,
              Detail: JSON.stringify(detail),
              EventBusName: busName,
              Resources: [detail.secretArn],
            },
          ],
        }),
      );
      const failed = out.Entries?.find((e) => e.ErrorCode);
      if ((out.FailedEntryCount ?? 0) > 0 || failed) {
        throw new EventPublishError(
          `EventBridge bus '${busName}' refused KeyRotated for '${detail.secretName}': ${failed?.ErrorCode ?? 'unknown'} ` +
            `${failed?.ErrorMessage ?? ''}`.trim(),
        );
      }
    },
  };
}
