import { KeyRelayError } from '../../core/errors';

/**
 * Errors the revoker throws on purpose. Through Lambda `Invoke` they arrive as a `FunctionError` whose `errorType`
 * is the `code`. Branch with `instanceof` in process, on `code` across `Invoke`.
 */

/** The payload is not a {@link RevokerRequest}: names the field and the value received. Code `RevokerRequestInvalid`. */
export class RevokerRequestError extends KeyRelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RevokerRequestInvalid', message, options);
  }
}

/**
 * An action that records an operator came without a proof of its caller, or with one STS rejected or that is bound to
 * another payload: nothing was done. Code `CallerNotProven`.
 */
export class CallerNotProvenError extends KeyRelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CallerNotProven', message, options);
  }
}

/**
 * One or more keys could not be revoked after retries: they may still be alive. The `RevocationFailed` metric was
 * emitted before this was thrown; the reconcile sweep retries on its next run. Code `RevocationFailed`.
 */
export class RevocationFailedError extends KeyRelayError {
  /** Key ids that failed, by secret name. */
  readonly failed: Array<{ secretName: string; keyId?: string; reason: string }>;

  constructor(failed: Array<{ secretName: string; keyId?: string; reason: string }>, options?: { cause?: unknown }) {
    const list = failed.map((f) => `'${f.secretName}'${f.keyId ? ` key '${f.keyId}'` : ''}: ${f.reason}`).join('; ');
    super(
      'RevocationFailed',
      `revocation failed for ${failed.length} item(s): ${list}. The keys may still be alive: check the provider and its ` +
        'admin credential; the reconcile sweep retries on its next run (or invoke revokeNow / reconcile for the secret)',
      options,
    );
    this.failed = failed;
  }
}

/**
 * The action would revoke a key that `AWSCURRENT` or `AWSPENDING` references (or a key that is not this secret's).
 * Code `KeyInUse`.
 */
export class KeyInUseError extends KeyRelayError {
  constructor(message: string) {
    super('KeyInUse', message);
  }
}

/**
 * An on-call action (rollback, import) refused after checking the secret and the provider. `code` says why:
 * `NoPreviousKey`, `PreviousKeyNotValid`, `RotationInProgress`, `ImportInvalid` (the CLI's codes for the same refusals).
 */
export class OnCallRefusedError extends KeyRelayError {
  constructor(code: 'NoPreviousKey' | 'PreviousKeyNotValid' | 'RotationInProgress' | 'ImportInvalid', message: string) {
    super(code, message);
  }
}

/** There is nothing the action can act on (no previous version, no disabled key, a key already deleted). Code `NothingToDo`. */
export class NothingToDoError extends KeyRelayError {
  constructor(message: string) {
    super('NothingToDo', message);
  }
}

/**
 * The key the operator confirmed is no longer the one the action would revoke (a rotation or rollback ran between the
 * confirmation and the revoker): nothing was revoked. Code `KeyMoved`.
 */
export class KeyMovedError extends KeyRelayError {
  constructor(message: string) {
    super('KeyMoved', message);
  }
}

/** The canary could not check some keys (a read failed, or a verdict could not be noted): they are checked again next run. Code `CanaryFailed`. */
export class CanaryFailedError extends KeyRelayError {
  constructor(failed: string[]) {
    super('CanaryFailed', `canary failed for ${failed.length} secret(s): ${failed.join('; ')}. Those keys were not judged; the next canary run checks them again`);
  }
}

/**
 * An invocation carried an AWS event (AWS Health) but did not come through the EventBridge rule's alias: a direct
 * `Invoke` claiming to be one. Nothing was done. Code `UntrustedEvent`.
 */
export class UntrustedEventError extends KeyRelayError {
  constructor(message: string) {
    super('UntrustedEvent', message);
  }
}
