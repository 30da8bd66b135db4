import { KeyRelayError } from '../core/errors';

/**
 * Errors the application client throws. Branch with `instanceof` (or on `code`); every one extends
 * {@link KeyRelayError}. Messages name the secret and what to do next, never key material. A secret value that does
 * not match the schema surfaces as the core `StateError` (code `StateInvalid`), naming the bad field.
 */

/** Options would let the client serve a key past its grace period, or are malformed. Fix the options or the tag. */
export class ClientOptionsError extends KeyRelayError {
  constructor(message: string) {
    super('ClientOptionsInvalid', message);
  }
}

/** The secret does not exist, or is scheduled for deletion. Never served from cache. */
export class SecretNotFoundError extends KeyRelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SecretNotFound', message, options);
  }
}

/** Secrets Manager refused the caller (HTTP 401/403): the app lost read access. Never served from cache. */
export class SecretAccessDeniedError extends KeyRelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SecretAccessDenied', message, options);
  }
}

/**
 * Secrets Manager failed transiently (throttling, 5xx, network) and no cached key may be served: there is none yet,
 * or the cached one is past the staleness bound. Retrying later may succeed.
 */
export class SecretUnavailableError extends KeyRelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SecretUnavailable', message, options);
  }
}

/** Any other failure to read the secret (e.g. KMS `DecryptionFailure`); the cause says which. Not served from cache. */
export class SecretReadError extends KeyRelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SecretReadFailed', message, options);
  }
}
