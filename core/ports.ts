/**
 * Seams between the rotation handler, the revoker and where they run. On AWS these are EventBridge Scheduler and
 * EventBridge; in the local stack, its own scheduler and event log; in unit tests, fakes.
 */

/** A provider key whose revocation falls due at `due`. */
export interface RevocationRequest {
  secretArn: string;
  secretName: string;
  keyId: string;
  /** ms since the epoch. */
  due: number;
}

/** Arranges for the revoker's `revokeDue` to run for a secret at (or soon after) a time. */
export interface RevocationScheduler {
  scheduleRevocation(request: RevocationRequest): Promise<void>;
}

/** The `KeyRotated` event (EventBridge source `keyrelay`, detail-type `KeyRotated`). Never carries key material. */
export interface KeyRotatedDetail {
  secretName: string;
  secretArn: string;
  /** Version id now `AWSCURRENT`. */
  versionId: string;
  /** Fingerprint of the new key. */
  fingerprint: string;
  /** Version id that became `AWSPREVIOUS`, when there was one. */
  previousVersionId?: string;
  /** When the previous key's revocation is due (ISO-8601); absent in an emergency (revoked at once). */
  previousKeyDeadline?: string;
  /** True when the rotation was an emergency (the previous key is revoked at once). */
  emergency?: boolean;
}

/** Publishes lifecycle events applications can subscribe to. */
export interface EventPublisher {
  keyRotated(detail: KeyRotatedDetail): Promise<void>;
}

/** EventBridge names of the events keyrelay publishes. */
export const EVENTS = { source: 'keyrelay', keyRotated: 'KeyRotated' } as const;

/**
 * The revoker's Lambda alias that only keyrelay's EventBridge rule for AWS events (AWS Health) may invoke: its resource
 * policy names that rule, and no identity policy of the deployment (on-call, the scheduler role) names a qualified ARN.
 * Lambda reports the alias in `context.invokedFunctionArn`, so the revoker tells the rule's invocation from a direct
 * `Invoke` whose payload merely looks like an AWS event (docs/security.md, "Automatic emergencies").
 */
export const AWS_EVENTS_ALIAS = 'aws-events';

/** The AWS Health event type of an exposed IAM access key, and where its access key id sits. */
export const HEALTH_EXPOSED = { source: 'aws.health', detailType: 'AWS Health Event', eventTypeCode: 'AWS_RISK_CREDENTIALS_EXPOSED' } as const;
