/**
 * keyrelay's application client: the current API key of a keyrelay-managed secret, cached within a bound that keeps
 * revoked keys out, refreshed on auth failures. `getApiKey`/`withApiKey` for most apps, `createKeyClient` for the rest.
 * See docs/client.md.
 */
export { getApiKey, withApiKey, CLIENT_ENV } from './default-client';
export { createKeyClient, type KeyClient } from './key-client';
export { CLIENT_DEFAULTS, safetyMargin, type KeyClientOptions } from './options';
export { isAuthFailure } from './auth-failure';
export { handleKeyRotatedEvent } from './events';
export {
  ClientOptionsError,
  SecretAccessDeniedError,
  SecretNotFoundError,
  SecretReadError,
  SecretUnavailableError,
} from './errors';
export { KeyRelayError, StateError } from '../core/errors';
