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
