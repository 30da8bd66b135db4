import type { ERROR_CODES } from '../../core/error-codes';
import { KeyRelayError } from '../../core/errors';

/** The codes of provider errors. */
export type ProviderErrorCode = (typeof ERROR_CODES.provider)[number];

/**
 * Errors every provider adapter throws, whatever the provider's own wording. Callers branch with `instanceof`:
 * - {@link ProviderAuthError}: the credential was rejected (admin credential on admin calls, the key on `verify`);
 * - {@link QuotaExceededError}: no more keys can be issued with this admin credential;
 * - {@link ThrottledError}: slow down, retry after `retryAfterMs`;
 * - {@link KeyNotFoundError}: the key does not exist (for `revoke`, "already gone" counts as revoked);
 * - {@link ProviderUnavailableError}: 5xx, timeout or no connection; retry later;
 * - {@link RevocationRefusedError}: the provider will not delete this key through its API; an operator must.
 */
export class ProviderError extends KeyRelayError {
  /** Provider type, e.g. `reference`. */
  readonly provider: string;
  /** HTTP status the provider answered, when there was one. */
  readonly status?: number;
  /** Whether retrying the same call later may succeed. */
  readonly transient: boolean;
  /**
   * The provider's own error code (`api_key_expired`, `20003`), redacted and bounded like the text in the message
   * (see `./redact.ts`), when the provider gave one.
   */
  readonly providerCode?: string;

  constructor(code: ProviderErrorCode, provider: string, message: string, options: ProviderErrorOptions & { transient?: boolean } = {}) {
    super(code, `${provider}: ${message}`, { cause: options.cause });
    this.provider = provider;
    this.status = options.status;
    this.transient = options.transient ?? false;
    this.providerCode = options.providerCode;
  }
}

/**
 * What every provider error may carry besides its message. Never put a provider's raw error text (or an error that
 * holds it) in `cause`: loggers print causes.
 */
export interface ProviderErrorOptions {
  status?: number;
  /** See {@link ProviderError.providerCode}. */
  providerCode?: string;
  cause?: unknown;
}

/** The provider rejected the credential. Check the admin credential's secret, or the key being verified. */
export class ProviderAuthError extends ProviderError {
  constructor(provider: string, message: string, options: ProviderErrorOptions = {}) {
    super('ProviderAuthFailed', provider, message, options);
  }
}

/** The admin credential holds as many keys as the provider allows. */
export class QuotaExceededError extends ProviderError {
  /** The provider's limit, when known. */
  readonly quota?: number;

  constructor(provider: string, message: string, options: ProviderErrorOptions & { quota?: number } = {}) {
    super('ProviderQuotaFull', provider, message, options);
    this.quota = options.quota;
  }
}

/** The provider asked us to slow down (HTTP 429). */
export class ThrottledError extends ProviderError {
  /** How long the provider asked us to wait, in ms (from `Retry-After`), when it said. */
  readonly retryAfterMs?: number;

  constructor(provider: string, message: string, options: ProviderErrorOptions & { retryAfterMs?: number } = {}) {
    super('ProviderThrottled', provider, message, { ...options, transient: true });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The key (or the resource named) does not exist at the provider. */
export class KeyNotFoundError extends ProviderError {
  constructor(provider: string, message: string, options: ProviderErrorOptions = {}) {
    super('ProviderKeyNotFound', provider, message, options);
  }
}

/** The provider failed or could not be reached (5xx, timeout, connection refused). */
export class ProviderUnavailableError extends ProviderError {
  constructor(provider: string, message: string, options: ProviderErrorOptions = {}) {
    super('ProviderUnavailable', provider, message, { ...options, transient: true });
  }
}

/**
 * The provider refused to delete the key for a documented reason the adapter cannot work around (OpenAI: a
 * service account's key, in organizations where its API still refuses that). Not retried; the message names where
 * an operator deletes the key by hand.
 */
export class RevocationRefusedError extends ProviderError {
  constructor(provider: string, message: string, options: ProviderErrorOptions = {}) {
    super('ProviderRevokeRefused', provider, message, options);
  }
}

/** The provider answered in a way the adapter does not understand (a contract break). Not retried. */
export class ProviderResponseError extends ProviderError {
  constructor(provider: string, message: string, options: ProviderErrorOptions = {}) {
    super('ProviderBadResponse', provider, message, options);
  }
}

/**
 * Parses an HTTP `Retry-After` header (seconds or an HTTP date) into ms, relative to `nowMs`.
 * Returns undefined when absent or unreadable.
 */
export function parseRetryAfter(header: string | null | undefined, nowMs: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
