import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock } from '../core/clock';
import { ClientOptionsError } from './errors';

/** Options of {@link createKeyClient}. Durations are in seconds (as in the secret's tags), fractions allowed. */
export interface KeyClientOptions {
  /**
   * Secrets Manager client. Needs `secretsmanager:GetSecretValue` and `secretsmanager:DescribeSecret` on the secrets.
   * @default - `new SecretsManagerClient({})` with 3 s connection and 5 s request timeouts (region and endpoint from
   *   the environment, e.g. `AWS_ENDPOINT_URL_SECRETS_MANAGER`)
   */
  secretsManager?: SecretsManagerClient;
  /**
   * How long a key is served before the next read triggers a background check (one `DescribeSecret`). Readers never
   * wait for that check while it completes within `staleIfError`.
   * @default 300 - or a quarter of what the key's grace period allows, when that is less
   */
  ttl?: number;
  /**
   * How long past `ttl` the cached key may still be served while the check is in flight or fails transiently
   * (throttling, 5xx, network). `ttl + staleIfError` is the client's maximum staleness and must stay below the key's
   * grace period minus a safety margin ({@link safetyMargin}). 0: readers wait for the check at every `ttl`.
   * @default 900 - or what remains of the grace period's budget after `ttl`, when that is less
   */
  staleIfError?: number;
  /**
   * The keys' grace period, when known ahead: checks `ttl`/`staleIfError` at construction. Each secret's
   * `keyrelay:grace-period` tag, learned at the first check, is checked as well and wins. Trusted until that first
   * check: it must not exceed the smallest grace period of the secrets read, or a lower one can be outlasted.
   * @default - learned from each secret; until then the config's minimum (60 s) is assumed
   */
  gracePeriod?: number;
  /**
   * Least time between two refreshes that `withApiKey` forces for one key after auth failures, so an app whose key is
   * refused for another reason (a 403 on one resource) cannot hammer Secrets Manager.
   * @default 5
   */
  forcedRefreshInterval?: number;
  /**
   * Whether an error thrown by `withApiKey`'s function means the key was refused.
   * @default isAuthFailure - HTTP 401 or 403 in `status`, `statusCode`, `response.status`, `response.statusCode` or
   *   `$metadata.httpStatusCode`
   */
  isAuthFailure?: (err: unknown) => boolean;
  /** Clock for expiry checks: intervals are measured on its `elapsed()` (monotonic) when it has one. @default systemClock */
  clock?: Clock;
  /**
   * Most keys cached at once; reading one more drops the one cached first (it is read again when next asked for).
   * @default 1000
   */
  maxKeys?: number;
  /**
   * A Secrets Manager client for a secret's primary region. The client reads a replicated secret in its own region
   * (the replica); after an auth failure that a refresh did not cure, `withApiKey` reads the primary once, so a
   * replica lagging behind a rotation cannot cause a second failure (docs/client.md, "Replicas").
   * @default - `new SecretsManagerClient({ region })` with the default client's timeouts
   */
  secretsManagerIn?: (region: string) => SecretsManagerClient;
}

/** The defaults of {@link KeyClientOptions}, in seconds. */
export const CLIENT_DEFAULTS = {
  ttl: 300,
  staleIfError: 900,
  forcedRefreshInterval: 5,
  maxKeys: 1000,
  /** Grace period assumed before a secret's tag is known: the smallest `gracePeriod` keyrelay.config.json allows. */
  assumedGracePeriod: 60,
} as const;

/**
 * Seconds kept between the client's maximum staleness and the grace period: 10 % of the grace period, at least 10 s.
 * It absorbs what the client cannot see: the rotation writes the revocation deadline just before it moves
 * `AWSCURRENT` (seconds, more if finishSecret is retried), Secrets Manager's eventual consistency (seconds), and clock
 * error between the app's host and the scheduler (skew, and drift, which grows with the interval).
 */
export function safetyMargin(gracePeriod: number): number {
  return Math.max(10, gracePeriod * 0.1);
}

/** How long one key is served: fresh for `ttlMs`, then stale (check in flight or failing) for `staleMs` more. */
export interface Timings {
  ttlMs: number;
  staleMs: number;
}

/** Where a grace period came from, for messages. */
export interface GraceSource {
  seconds: number;
  /** e.g. `options.gracePeriod` or `tag 'keyrelay:grace-period' of secret 'x'`. */
  from: string;
}

function checkSeconds(name: string, value: number | undefined, min: number, exclusive: boolean): void {
  if (value === undefined) return;
  const bad = typeof value !== 'number' || !Number.isFinite(value) || (exclusive ? value <= min : value < min);
  if (bad) {
    throw new ClientOptionsError(
      `${name} must be a number of seconds ${exclusive ? 'above' : 'of at least'} ${min}, got ${String(value)}`,
    );
  }
}

/** Checks option types and ranges, and `ttl + staleIfError` against `gracePeriod` when given. @throws ClientOptionsError */
export function validateOptions(options: KeyClientOptions): void {
  checkSeconds('ttl', options.ttl, 0, true);
  checkSeconds('staleIfError', options.staleIfError, 0, false);
  checkSeconds('gracePeriod', options.gracePeriod, 0, true);
  checkSeconds('forcedRefreshInterval', options.forcedRefreshInterval, 0, false);
  if (options.maxKeys !== undefined && !(Number.isInteger(options.maxKeys) && options.maxKeys >= 1)) {
    throw new ClientOptionsError(`maxKeys must be a whole number of at least 1, got ${options.maxKeys}`);
  }
  if (options.gracePeriod !== undefined) {
    timingsFor(options, { seconds: options.gracePeriod, from: 'options.gracePeriod' }, true);
  }
}

const ms = (seconds: number): number => Math.round(seconds * 1000);
/** Seconds for messages, without float noise. */
const s = (seconds: number): number => Number(seconds.toFixed(3));

/**
 * `ttl` and `staleIfError` for one key. Without a grace period: the options or their defaults. With one, the budget
 * is `grace - safetyMargin(grace)` and `ttl + staleIfError` stays within it: unset options shrink to fit (ttl to a
 * quarter of the budget at most); options set explicitly must fit when `strict` (a grace period given or learned from
 * the tag), and shrink otherwise (a grace period merely assumed until the secret's tag is read).
 * @throws ClientOptionsError when `strict` and the options break the bound
 */
export function timingsFor(options: KeyClientOptions, grace: GraceSource | undefined, strict: boolean): Timings {
  const { ttl, staleIfError } = options;
  if (grace === undefined) {
    return { ttlMs: ms(ttl ?? CLIENT_DEFAULTS.ttl), staleMs: ms(staleIfError ?? CLIENT_DEFAULTS.staleIfError) };
  }
  const margin = safetyMargin(grace.seconds);
  const budget = grace.seconds - margin;
  if (strict && (budget <= 0 || (ttl ?? 0) + (staleIfError ?? 0) > budget || (staleIfError ?? 0) >= budget)) {
    const set = [ttl !== undefined ? `ttl (${s(ttl)} s)` : '', staleIfError !== undefined ? `staleIfError (${s(staleIfError)} s)` : '']
      .filter(Boolean)
      .join(' plus ');
    throw new ClientOptionsError(
      budget <= 0
        ? `the grace period of ${s(grace.seconds)} s (${grace.from}) leaves no room for caching after the ${s(margin)} s ` +
            'safety margin: raise gracePeriod in keyrelay.config.json'
        : `${set} must stay within the grace period of ${s(grace.seconds)} s (${grace.from}) minus a ${s(margin)} s ` +
            `safety margin, i.e. ${s(budget)} s in all, with ttl above 0: otherwise the client could serve a revoked key. ` +
            'Lower them, or leave them unset to fit the grace period automatically',
    );
  }
  let ttlSeconds: number;
  if (strict) {
    ttlSeconds = ttl ?? Math.min(CLIENT_DEFAULTS.ttl, budget / 4, budget - (staleIfError ?? 0));
  } else {
    ttlSeconds = Math.min(ttl ?? CLIENT_DEFAULTS.ttl, budget / 4);
  }
  const staleSeconds =
    strict && staleIfError !== undefined ? staleIfError : Math.min(staleIfError ?? CLIENT_DEFAULTS.staleIfError, budget - ttlSeconds);
  return { ttlMs: ms(ttlSeconds), staleMs: ms(staleSeconds) };
}
