import { parseDuration } from '../core/duration';
import { ConfigError } from '../core/errors';
import { ClientOptionsError } from './errors';
import { createKeyClient, type KeyClient } from './key-client';
import type { KeyClientOptions } from './options';

/** Environment variables the default client reads (seconds, or a duration such as `5m`). */
export const CLIENT_ENV = {
  /** `ttl` of the default client. @default - see KeyClientOptions.ttl */
  ttl: 'KEYRELAY_CLIENT_TTL',
  /** `staleIfError` of the default client. @default - see KeyClientOptions.staleIfError */
  staleIfError: 'KEYRELAY_CLIENT_STALE_IF_ERROR',
  /** `gracePeriod` of the default client. @default - learned from each secret */
  gracePeriod: 'KEYRELAY_CLIENT_GRACE_PERIOD',
} as const;

let shared: KeyClient | undefined;

function seconds(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(raw.trim())) return Number(raw);
  try {
    return parseDuration(raw, name);
  } catch (err) {
    throw new ClientOptionsError(err instanceof ConfigError ? err.message : String(err));
  }
}

/** Options of the default client, from {@link CLIENT_ENV}. @throws ClientOptionsError naming the variable */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): KeyClientOptions {
  return {
    ttl: seconds(env, CLIENT_ENV.ttl),
    staleIfError: seconds(env, CLIENT_ENV.staleIfError),
    gracePeriod: seconds(env, CLIENT_ENV.gracePeriod),
  };
}

/** The default client, created on first use with {@link optionsFromEnv}; undefined before that. */
export function defaultKeyClient(create = true): KeyClient | undefined {
  if (shared === undefined && create) shared = createKeyClient(optionsFromEnv());
  return shared;
}

/**
 * The current API key of secret `name`, from the default client (created on first use; options from the
 * environment, see {@link CLIENT_ENV}). Same contract as {@link KeyClient.getApiKey}.
 * @example
 * const key = await getApiKey('payments/stripe');
 */
export function getApiKey(name: string): Promise<string> {
  if (shared !== undefined) return shared.getApiKey(name);
  return created().then((client) => client.getApiKey(name));
}

/**
 * `fn(apiKey)` with the default client, retried once with the new key after an auth failure when the key changed.
 * Same contract as {@link KeyClient.withApiKey}.
 * @example
 * const user = await withApiKey('search/reference-api', (key) => api.whoami(key));
 */
export function withApiKey<T>(name: string, fn: (apiKey: string) => Promise<T> | T): Promise<T> {
  if (shared !== undefined) return shared.withApiKey(name, fn);
  return created().then((client) => client.withApiKey(name, fn));
}

/**
 * The default client, created now; a malformed environment variable rejects (the next call tries again) rather than
 * throwing past a caller that chains `.catch()` on the promise these functions return.
 */
async function created(): Promise<KeyClient> {
  return defaultKeyClient() as KeyClient;
}
