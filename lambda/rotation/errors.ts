import { KeyRelayError } from '../../core/errors';

/**
 * Errors the rotation function throws on purpose, besides `RotationStateError` (start checks) and the provider's own
 * errors. Secrets Manager records any of them as a failed step and retries the rotation; the messages say what the
 * operator can do when retrying will not help. Branch with `instanceof` or on `code`.
 */

/** The Lambda event is not a rotation event (bad shape, unknown `Step`). Never quotes `RotationToken`. */
export class RotationEventError extends KeyRelayError {
  constructor(message: string) {
    super('RotationEventInvalid', message);
  }
}

/** createSecret refused: the secret is frozen (`keyrelay:frozen` tag). */
export class RotationFrozenError extends KeyRelayError {
  constructor(secretName: string, note: string) {
    super(
      'RotationFrozen',
      `secret '${secretName}' is frozen (${note}); no new key is issued while frozen. ` +
        `Run \`keyrelay unfreeze ${secretName}\` and rotate again`,
    );
  }
}

/** The provider's key quota stayed full after freeing what could be freed. */
export class RotationQuotaError extends KeyRelayError {
  constructor(secretName: string, provider: string, quota: number | undefined, freed: number, options: { cause?: unknown }) {
    const limit = quota === undefined ? "the provider's key quota" : `the provider's quota of ${quota} keys`;
    super(
      'RotationQuotaFull',
      `secret '${secretName}': ${provider} refused a new key: ${limit} for this admin credential is full ` +
        `(freed ${freed} expired key(s) first). Way out: \`keyrelay cancel NAME\` for rotations stuck with a pending key, ` +
        `\`keyrelay revoke NAME --key-id ID\` for keys no longer needed, or an emergency rotation ` +
        `(\`keyrelay rotate ${secretName} --emergency\`), then rotate again`,
      options,
    );
  }
}

/** setSecret: the pending key acts as another principal than the current key (confused-deputy guard). */
export class PrincipalMismatchError extends KeyRelayError {
  constructor(secretName: string, current: string, pending: string) {
    super(
      'PrincipalMismatch',
      `secret '${secretName}': the pending key acts as '${pending}' but the current key acts as '${current}'; ` +
        `check the admin credential (keyrelay:admin-secret) points at the same account, then \`keyrelay cancel ${secretName}\``,
    );
  }
}

/** testSecret/setSecret: the provider kept rejecting the pending key after bounded retries. */
export class PendingKeyRejectedError extends KeyRelayError {
  constructor(secretName: string, keyFingerprint: string, attempts: number, waitedMs: number, options: { cause?: unknown }) {
    super(
      'PendingKeyRejected',
      `secret '${secretName}': the provider rejected the pending key ${keyFingerprint} ${attempts} time(s) over ` +
        `${Math.round(waitedMs / 1000)} s. If the provider is slow to activate keys, raise the rotation function's ` +
        `timeout; otherwise \`keyrelay cancel ${secretName}\` and rotate again`,
      options,
    );
  }
}

/** createSecret: the pending version already holds a different value, which Secrets Manager will not replace. */
export class PendingValueConflictError extends KeyRelayError {
  constructor(secretName: string, token: string, options: { cause?: unknown }) {
    super(
      'PendingValueConflict',
      `secret '${secretName}': pending version '${token}' already holds a value that is not a valid keyrelay value, and ` +
        `Secrets Manager does not replace a version's value. Run \`keyrelay cancel ${secretName}\` and rotate again`,
      options,
    );
  }
}

/**
 * finishSecret: the pending version was cancelled (its `AWSPENDING` label is gone, or its key carries a `cancel` or
 * `emergency` record), so it is never promoted: the key may be revoked at any moment.
 */
export class RotationCancelledError extends KeyRelayError {
  constructor(secretName: string, token: string, why: string) {
    super(
      'RotationCancelled',
      `secret '${secretName}': version '${token}' is not promoted: ${why}. The rotation was abandoned on purpose; ` +
        `\`keyrelay rotate ${secretName}\` starts a new one`,
    );
  }
}
