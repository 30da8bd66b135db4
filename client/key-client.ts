import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
  type Tag,
} from '@aws-sdk/client-secrets-manager';
import { systemClock } from '../core/clock';
import { type KeyRelayError, describeError } from '../core/errors';
import { httpStatus, isTransient } from '../core/retry';
import { parseSecretValue } from '../core/secret-value';
import { TAGS, gracePeriodFromTags, stageHolders, tagMap } from '../core/state';
import { isAuthFailure } from './auth-failure';
import {
  ClientOptionsError,
  SecretAccessDeniedError,
  SecretNotFoundError,
  SecretReadError,
  SecretUnavailableError,
} from './errors';
import { CLIENT_DEFAULTS, timingsFor, validateOptions, type KeyClientOptions, type Timings } from './options';

/** Reads API keys from keyrelay-managed secrets, cached within the staleness bound. See {@link createKeyClient}. */
export interface KeyClient {
  /**
   * The current API key of secret `name` (name or ARN; each spelling is cached apart). Resolves from the cache
   * without a backend call while the key is fresh, and keeps doing so while a background check runs.
   * @throws SecretNotFoundError, SecretAccessDeniedError, SecretUnavailableError, SecretReadError,
   *   ClientOptionsError (the options break the secret's grace period), StateError (the value does not match the schema)
   */
  getApiKey(name: string): Promise<string>;
  /**
   * Calls `fn(apiKey)`. When `fn` throws an auth failure (see `isAuthFailure`), forces one check of the secret
   * (shared with concurrent callers, at most one per `forcedRefreshInterval` per key) and, only if the key changed,
   * calls `fn` once more with the new key. Otherwise rethrows `fn`'s error unchanged.
   */
  withApiKey<T>(name: string, fn: (apiKey: string) => Promise<T> | T): Promise<T>;
  /** Forgets `name`: the next read fetches the current key. Wire it to the `KeyRotated` event (docs/client.md). */
  invalidate(name: string): void;
}

/**
 * Hits served from one clock reading, at most (all within one event-loop turn): bounds how far the cached time can
 * lag when an app reads keys in a long synchronous stretch without yielding.
 */
const HIT_CLOCK_READS = 128;

/** Background checks that fail transiently are retried after 1 s, 2 s, 4 s... up to this, within the stale window. */
const MAX_BACKOFF_MS = 30_000;

/**
 * One cached key. A class so every entry has one shape (a monomorphic hit path); only what every read needs lives
 * here, the rarely used state (check in flight, failures, forced checks) in the client's WeakMaps.
 */
class Entry {
  // Times are ms since the client's epoch (its creation), so they stay small integers (V8 Smis: no boxed number
  // per field) for 24 days of uptime; later they become doubles, correct but 48 bytes more per key.
  /** Reads before this are served without a look at anything else; never after `expiresAt`. */
  refreshAt = 0;
  /** No read is served from this entry after this: checkedAt + ttl + staleIfError. */
  expiresAt = 0;
  /** When the last successful check (or the cold read) was sent, ms: the cached key was current then or later. */
  checkedAt = 0;

  constructor(
    /** The key; '' while the entry holds a refusal (a real key is never empty: the schema requires one character). */
    public apiKey: string,
    /** What every read returns: resolved with `apiKey`, or rejected with a refusal. One object per version. */
    public promise: Promise<string>,
    public versionId: string,
  ) {}
}

const noop = (): void => undefined;

/**
 * Creates a client that reads API keys from keyrelay-managed secrets.
 *
 * - Hit: a `Map` lookup and one clock compare, returning the same resolved promise on every read (no allocation).
 *   The clock is read at most once per event-loop turn and per 128 hits (it costs as much as the rest of the hit).
 * - Cold read: one `GetSecretValue(VersionStage=AWSCURRENT)`. Check after `ttl`: one `DescribeSecret`, plus
 *   `GetSecretValue(VersionId)` only when `AWSCURRENT` moved. Concurrent cold reads and checks of one key share one
 *   request. The first read after `ttl` starts the check in the background and is served the cached key, as is every
 *   read until `ttl + staleIfError`; past that, readers wait for a successful check.
 * - Staleness bound: `ttl + staleIfError` stays below the key's grace period (tag `keyrelay:grace-period`, learned at
 *   the first check) minus a safety margin, so a rotated key is dropped before it is revoked. Until the tag is known,
 *   the config's minimum grace period (or `options.gracePeriod`) is assumed: the first check comes early.
 * - Failures: transient ones (throttling, 5xx, network) serve the cached key within the bound; access denied,
 *   not found, an invalid value or a refused grace period are never served around.
 *
 * @throws ClientOptionsError when an option is malformed, or `gracePeriod` is given and `ttl + staleIfError` breaks it
 * @example
 * const keys = createKeyClient({ ttl: 60 });
 * const res = await keys.withApiKey('payments/stripe', (key) => charge(key, order));
 */
export function createKeyClient(options: KeyClientOptions = {}): KeyClient {
  validateOptions(options);
  const clock = options.clock ?? systemClock;
  const requestHandler = { connectionTimeout: 3000, requestTimeout: 5000 };
  const sm = options.secretsManager ?? new SecretsManagerClient({ requestHandler });
  const smIn = options.secretsManagerIn ?? ((region: string) => new SecretsManagerClient({ region, requestHandler }));
  /** Replicated secrets read in a replica region: name -> the primary's region and the replica's ARN. */
  const replicas = new Map<string, { primaryRegion: string; arn: string }>();
  /** Entries holding the primary's key while the replica has not caught up (see {@link readPrimary}). */
  const fromPrimary = new WeakSet<Entry>();
  /** When withApiKey last read an entry's primary, ms. */
  const primaryReadAt = new WeakMap<Entry, number>();
  const authFailure = options.isAuthFailure ?? isAuthFailure;
  const forcedIntervalMs = (options.forcedRefreshInterval ?? CLIENT_DEFAULTS.forcedRefreshInterval) * 1000;
  const assumed = options.gracePeriod ?? CLIENT_DEFAULTS.assumedGracePeriod;
  const provisional = timingsFor(options, { seconds: assumed, from: 'assumed' }, false);
  // Intervals on the monotonic clock: a wall clock set back (NTP, a VM resumed) must not keep a key past its bound.
  const elapsed = clock.elapsed ? clock.elapsed.bind(clock) : clock.now.bind(clock);
  const epoch = elapsed();
  const now = (): number => elapsed() - epoch;
  const maxKeys = options.maxKeys ?? CLIENT_DEFAULTS.maxKeys;
  const entries = new Map<string, Entry>();
  const loading = new Map<string, Promise<string>>();
  /** The check in flight per entry (single-flight). */
  const flights = new WeakMap<Entry, Promise<void>>();
  /** Transient check failures in a row, while failing. */
  const failures = new WeakMap<Entry, number>();
  /** When withApiKey last forced a check of the entry, ms. */
  const forcedAt = new WeakMap<Entry, number>();

  // Reading the clock costs as much as the rest of a hit (Date.now(): ~60-110 ns here, bench/client.ts), so hits
  // read it at most once per event-loop turn and per HIT_CLOCK_READS hits. The cached time is dropped by a
  // setImmediate, which runs before Lambda's runtime asks for the next event (and so before a freeze).
  let hitTime = 0;
  let hitReads = 0;
  let clearing = false;
  const clearHitTime = (): void => {
    hitReads = 0;
    clearing = false;
  };
  function hitNow(): number {
    if (hitReads > 0) {
      hitReads--;
      return hitTime;
    }
    hitTime = now();
    hitReads = HIT_CLOCK_READS - 1;
    if (!clearing) {
      clearing = true;
      setImmediate(clearHitTime);
    }
    return hitTime;
  }

  function getApiKey(name: string): Promise<string> {
    const entry = entries.get(name);
    if (entry !== undefined && hitNow() < entry.refreshAt) return entry.promise;
    return readSlow(name, entry);
  }

  function readSlow(name: string, entry: Entry | undefined): Promise<string> {
    if (entry === undefined) return load(name);
    if (now() < entry.expiresAt) {
      refresh(name, entry).catch(noop); // the check reports through the entry; this reader is served now
      return entry.promise;
    }
    return refresh(name, entry).then(
      () => entries.get(name)?.promise ?? load(name),
      (err: unknown) => {
        if (err instanceof SecretUnavailableError) {
          const age = (now() - entry.checkedAt) / 1000;
          throw new SecretUnavailableError(
            `${err.message}; the cached key, last confirmed ${age.toFixed(1)} s ago, is past this key's staleness bound ` +
              '(ttl + staleIfError) and is not served: it may have been revoked',
            { cause: err.cause },
          );
        }
        throw err;
      },
    );
  }

  function load(name: string): Promise<string> {
    const pending = loading.get(name);
    if (pending !== undefined) return pending;
    const sentAt = now();
    const flight: Promise<string> = readVersion(name, undefined).then(
      ({ apiKey, versionId }) => {
        const entry = new Entry(apiKey, Promise.resolve(apiKey), versionId);
        stamp(entry, sentAt, provisional);
        // An invalidate() while this read was in flight wins: its callers get the key, the cache does not.
        if (loading.get(name) === flight) {
          loading.delete(name);
          entries.set(name, entry);
          // Bounded: the key cached first goes (a Map iterates in insertion order).
          if (entries.size > maxKeys) entries.delete(entries.keys().next().value!);
        }
        return apiKey;
      },
      (err: unknown) => {
        if (loading.get(name) === flight) loading.delete(name);
        throw err;
      },
    );
    loading.set(name, flight);
    return flight;
  }

  function refresh(name: string, entry: Entry): Promise<void> {
    let flight = flights.get(entry);
    if (flight === undefined) {
      flight = check(name, entry).finally(() => flights.delete(entry));
      flights.set(entry, flight);
    }
    return flight;
  }

  async function check(name: string, entry: Entry): Promise<void> {
    const sentAt = now();
    entry.refreshAt = entry.expiresAt; // readers keep hitting while the check runs
    try {
      const described = await send(name, () => sm.send(new DescribeSecretCommand({ SecretId: name })));
      if (described.DeletedDate !== undefined) {
        throw new SecretNotFoundError(
          `secret '${name}' is scheduled for deletion: restore it (RestoreSecret) or point the app at another secret`,
        );
      }
      const timings = learnedTimings(name, described.Tags);
      noteReplica(name, described.ARN, described.PrimaryRegion);
      const versions = described.VersionIdsToStages ?? {};
      const current = stageHolders(versions).current;
      // A key read from the primary stays until the replica has its version: the replica is behind, not ahead.
      const behind = fromPrimary.has(entry) && versions[entry.versionId] === undefined;
      if (!behind) fromPrimary.delete(entry);
      const moved = !behind && (current === undefined || current !== entry.versionId);
      const read = moved ? await readVersion(name, current) : undefined;
      if (entries.get(name) !== entry) return; // invalidated meanwhile
      if (read !== undefined) {
        entry.apiKey = read.apiKey;
        entry.promise = Promise.resolve(read.apiKey);
        entry.versionId = read.versionId;
      }
      stamp(entry, sentAt, timings);
    } catch (err) {
      if (entries.get(name) !== entry) throw err;
      if (err instanceof ClientOptionsError) {
        refuse(entry, err);
      } else if (err instanceof SecretUnavailableError) {
        const failed = (failures.get(entry) ?? 0) + 1;
        failures.set(entry, failed);
        entry.refreshAt = Math.min(now() + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failed - 1)), entry.expiresAt);
      } else {
        entries.delete(name); // never serve around access denied, not found or an invalid value
      }
      throw err;
    }
  }

  /**
   * Keeps a refused key's error as the entry's answer (the key itself is dropped), so every reader sees it rather than
   * a cold read serving the key again until the next check; the tag is checked again after the provisional `ttl`.
   */
  function refuse(entry: Entry, err: ClientOptionsError): void {
    const rejected = Promise.reject(err);
    rejected.catch(noop);
    entry.apiKey = '';
    entry.promise = rejected;
    entry.versionId = '';
    entry.refreshAt = entry.expiresAt = now() + provisional.ttlMs;
  }

  function stamp(entry: Entry, sentAt: number, timings: Timings): void {
    entry.checkedAt = sentAt;
    entry.refreshAt = sentAt + timings.ttlMs;
    entry.expiresAt = sentAt + timings.ttlMs + timings.staleMs;
    failures.delete(entry);
  }

  function learnedTimings(name: string, tags: Tag[] | undefined): Timings {
    const seconds = gracePeriodFromTags(name, tagMap(tags));
    if (seconds === undefined) {
      // Not rotated by keyrelay (no revocation deadline to respect), unless the options say otherwise.
      const given = options.gracePeriod;
      return timingsFor(options, given === undefined ? undefined : { seconds: given, from: 'options.gracePeriod' }, true);
    }
    return timingsFor(options, { seconds, from: `tag '${TAGS.gracePeriod}' of secret '${name}'` }, true);
  }

  async function readVersion(name: string, versionId: string | undefined): Promise<{ apiKey: string; versionId: string }> {
    const input = versionId === undefined ? { SecretId: name, VersionStage: 'AWSCURRENT' } : { SecretId: name, VersionId: versionId };
    const out = await send(name, () => sm.send(new GetSecretValueCommand(input)));
    const { apiKey } = parseSecretValue(out.SecretString, name);
    return { apiKey, versionId: out.VersionId ?? versionId ?? '' };
  }

  /** Remembers that `name` is a replica (its ARN's region is not its primary's), or forgets it. */
  function noteReplica(name: string, arn: string | undefined, primaryRegion: string | undefined): void {
    const region = arn?.split(':')[3];
    if (arn && primaryRegion && region && region !== primaryRegion) replicas.set(name, { primaryRegion, arn });
    else replicas.delete(name);
  }

  /**
   * After an auth failure a refresh did not cure, on a replica: reads `AWSCURRENT` from the primary, at most once per
   * `forcedRefreshInterval` per key. A different key replaces the cached one, and stays until the replica has its
   * version (its next checks do not go back to the replica's older key).
   * @returns the primary's key, or undefined when the secret is not a replica, it was read recently, or it failed.
   */
  async function readPrimary(name: string): Promise<string | undefined> {
    const replica = replicas.get(name);
    const entry = entries.get(name);
    if (!replica || !entry) return undefined;
    const at = now();
    if (at - (primaryReadAt.get(entry) ?? Number.NEGATIVE_INFINITY) < forcedIntervalMs) return undefined;
    primaryReadAt.set(entry, at);
    const primaryArn = replica.arn.split(':').map((part, i) => (i === 3 ? replica.primaryRegion : part)).join(':');
    try {
      const out = await send(name, () =>
        smIn(replica.primaryRegion).send(new GetSecretValueCommand({ SecretId: primaryArn, VersionStage: 'AWSCURRENT' })),
      );
      const { apiKey } = parseSecretValue(out.SecretString, name);
      if (entries.get(name) === entry && apiKey !== entry.apiKey && out.VersionId) {
        entry.apiKey = apiKey;
        entry.promise = Promise.resolve(apiKey);
        entry.versionId = out.VersionId;
        fromPrimary.add(entry);
      }
      return apiKey;
    } catch {
      return undefined; // the replica's answer stands; getApiKey reports the replica's state
    }
  }

  async function keyAfterAuthFailure(name: string, failedKey: string, failedAt: number): Promise<string> {
    for (;;) {
      const entry = entries.get(name);
      if (entry === undefined || entry.apiKey === '') return getApiKey(name);
      // A check sent after the failure has the answer; one sent before it may not have seen the rotation.
      if (entry.apiKey !== failedKey || entry.checkedAt > failedAt) return entry.apiKey;
      const flight = flights.get(entry);
      if (flight !== undefined) {
        await flight.catch(noop);
        continue;
      }
      const at = now();
      if (at - (forcedAt.get(entry) ?? Number.NEGATIVE_INFINITY) < forcedIntervalMs) return failedKey;
      forcedAt.set(entry, at);
      await refresh(name, entry).catch(noop);
      const after = entries.get(name);
      return after === undefined || after.apiKey === '' ? getApiKey(name) : after.apiKey;
    }
  }

  async function withApiKey<T>(name: string, fn: (apiKey: string) => Promise<T> | T): Promise<T> {
    const apiKey = await getApiKey(name);
    try {
      return await fn(apiKey);
    } catch (err) {
      if (!authFailure(err)) throw err;
      let fresh: string;
      try {
        fresh = await keyAfterAuthFailure(name, apiKey, now());
      } catch {
        throw err; // the secret cannot be read now; getApiKey reports why on the next call
      }
      if (fresh === apiKey) fresh = (await readPrimary(name)) ?? apiKey;
      if (fresh === apiKey) throw err;
      return await fn(fresh);
    }
  }

  function invalidate(name: string): void {
    entries.delete(name);
    loading.delete(name);
  }

  return { getApiKey, withApiKey, invalidate };
}

/** Runs one SDK call, turning its failure into the client's typed errors (the SDK error as `cause`). */
async function send<T>(name: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw classify(err, name);
  }
}

function classify(err: unknown, name: string): KeyRelayError {
  const status = httpStatus(err);
  if (status === 401 || status === 403) {
    return new SecretAccessDeniedError(
      `Secrets Manager refused to let this app read secret '${name}' (HTTP ${status}): grant it ` +
        "secretsmanager:GetSecretValue and secretsmanager:DescribeSecret on the secret, and kms:Decrypt on the secret's key",
      { cause: err },
    );
  }
  if (err instanceof Error && err.name === 'ResourceNotFoundException') {
    return new SecretNotFoundError(
      `secret '${name}' was not found: check the name, and the region or endpoint the app uses`,
      { cause: err },
    );
  }
  if (isTransient(err)) {
    return new SecretUnavailableError(`secret '${name}' could not be read, retry later (${describeError(err)})`, {
      cause: err,
    });
  }
  return new SecretReadError(
    `secret '${name}' could not be read: ${describeError(err)}; check the secret and its KMS key (the app needs ` +
      'kms:Decrypt), then retry',
    { cause: err },
  );
}
