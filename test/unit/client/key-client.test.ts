import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import {
  ClientOptionsError,
  SecretAccessDeniedError,
  SecretNotFoundError,
  SecretReadError,
  SecretUnavailableError,
  StateError,
  createKeyClient,
  type KeyClientOptions,
} from '../../../client/index';
import { TAGS } from '../../../core/state';
import { FakeClock } from '../../support/fake-clock';
import { FakeSecret, awsErrors, mintKey, secretJson, turn } from './fake-secret';

const NAME = 'payments/reference-api';
const TTL = 300_000;
const STALE = 900_000;

/** A client on a fake secret (grace 24 h: ttl 300 s, staleIfError 900 s) and a fake clock. */
function setup(options: KeyClientOptions = { gracePeriod: 86_400 }) {
  const secret = new FakeSecret(NAME);
  const clock = new FakeClock();
  const client = createKeyClient({ secretsManager: secret.client, clock, ...options });
  const elapse = async (ms: number): Promise<void> => {
    await clock.advance(ms);
    await turn();
  };
  return { secret, clock, client, elapse, firstKey: secret.current };
}

/** The key a version holds, by reading it through a throwaway client. */
async function keyNow(secret: FakeSecret): Promise<string> {
  return createKeyClient({ secretsManager: secret.client, clock: new FakeClock() }).getApiKey(secret.name);
}

describe('Class: KeyClient', () => {
  describe('Method: getApiKey', () => {
    it('reads the key with one GetSecretValue(AWSCURRENT) and serves later reads from the same promise', async () => {
      // Prepare
      const { secret, client } = setup();

      // Act
      const first = client.getApiKey(NAME);
      const key = await first;
      const again = client.getApiKey(NAME);
      const third = client.getApiKey(NAME);

      // Assess
      expect(key).toMatch(/^rk_test_first_/);
      expect(await again).toBe(key);
      expect(again).toBe(third); // a hit allocates nothing: the same resolved promise every time
      expect(secret.gets()).toEqual([{ SecretId: NAME, VersionStage: 'AWSCURRENT' }]);
      expect(secret.calls('describe')).toBe(0);
    });

    it('sends exactly one request for 1,000 concurrent cold reads', async () => {
      // Prepare
      const { secret, client } = setup();
      secret.hold();

      // Act
      const reads = Array.from({ length: 1000 }, () => client.getApiKey(NAME));
      secret.release();
      const keys = await Promise.all(reads);

      // Assess
      expect(new Set(keys).size).toBe(1);
      expect(secret.calls('get')).toBe(1);
      expect(secret.calls('describe')).toBe(0);
    });

    it('checks with one DescribeSecret after ttl and keeps the key when AWSCURRENT has not moved', async () => {
      // Prepare
      const { secret, client, elapse } = setup();
      const key = await client.getApiKey(NAME);

      // Act
      await elapse(TTL - 1);
      await client.getApiKey(NAME);
      const beforeTtl = secret.calls('describe');
      await elapse(1);
      const atTtl = await client.getApiKey(NAME);
      await turn();

      // Assess
      expect(beforeTtl).toBe(0);
      expect(atTtl).toBe(key);
      expect(secret.calls('describe')).toBe(1);
      expect(secret.calls('get')).toBe(1);
    });

    it('reads the new version by its id when AWSCURRENT moved', async () => {
      // Prepare
      const { secret, client, elapse } = setup();
      const oldKey = await client.getApiKey(NAME);
      const newKey = mintKey('second');
      const v2 = secret.rotate(newKey);

      // Act
      await elapse(TTL);
      const during = await client.getApiKey(NAME); // starts the check, served at once
      await turn();
      const after = await client.getApiKey(NAME);

      // Assess
      expect(during).toBe(oldKey);
      expect(after).toBe(newKey);
      expect(secret.gets()[1]).toEqual({ SecretId: NAME, VersionId: v2 });
      expect(secret.calls('describe')).toBe(1);
    });

    it('refreshes in the background: readers past ttl are served while one check is in flight', async () => {
      // Prepare
      const { secret, client, elapse } = setup();
      const oldKey = await client.getApiKey(NAME);
      const newKey = mintKey('second');
      secret.rotate(newKey);
      await elapse(TTL);
      secret.hold();

      // Act
      const served = await Promise.all(Array.from({ length: 1000 }, () => client.getApiKey(NAME)));
      await elapse(TTL - 1000); // the check is still in flight (a later answer would be due for another check)
      const stillServed = await client.getApiKey(NAME);
      secret.release();
      await turn();

      // Assess
      expect(new Set(served)).toEqual(new Set([oldKey]));
      expect(stillServed).toBe(oldKey);
      expect(await client.getApiKey(NAME)).toBe(newKey);
      expect(secret.calls('describe')).toBe(1);
      expect(secret.calls('get')).toBe(2);
    });

    it('makes readers wait past ttl + staleIfError instead of serving the old key', async () => {
      // Prepare
      const { secret, client, elapse } = setup();
      await client.getApiKey(NAME);
      const newKey = mintKey('second');
      secret.rotate(newKey);
      secret.hold();

      // Act
      await elapse(TTL + STALE);
      let settled = false;
      const read = client.getApiKey(NAME).then((k) => ((settled = true), k));
      await turn();
      const waited = !settled;
      secret.release();

      // Assess
      expect(waited).toBe(true);
      expect(await read).toBe(newKey);
    });

    it('reads the clock again at the next event-loop turn, and after at most 128 hits within one turn', async () => {
      // Prepare
      const { secret, client, clock } = setup();
      await client.getApiKey(NAME);
      await turn();
      void client.getApiKey(NAME); // a hit: the clock is read and kept for this turn

      // Act: time passes ttl with no event-loop turn in between
      await clock.advance(TTL);
      let reads = 0;
      while (secret.calls('describe') === 0 && reads < 1000) {
        void client.getApiKey(NAME);
        reads++;
      }
      const { secret: other, client: second, clock: otherClock } = setup();
      await second.getApiKey(NAME);
      await otherClock.advance(TTL);
      await turn();
      void second.getApiKey(NAME);

      // Assess
      expect(reads).toBeGreaterThan(1); // hits within the turn reuse the clock reading...
      expect(reads).toBeLessThanOrEqual(128); // ...128 of them at most
      expect(other.calls('describe')).toBe(1); // after a turn, the first read sees the new time
    });

    it('checks early until the grace period is learned, then uses the ttl that fits it', async () => {
      // Prepare: no gracePeriod option, so the config's minimum (60 s) is assumed: ttl 12.5 s until the tag is read
      const { secret, client, elapse } = setup({});
      await client.getApiKey(NAME);

      // Act
      await elapse(12_499);
      await client.getApiKey(NAME);
      const before = secret.calls('describe');
      await elapse(1);
      await client.getApiKey(NAME);
      await turn();
      const learned = secret.calls('describe');
      await elapse(TTL - 1);
      await client.getApiKey(NAME);
      const stillLearned = secret.calls('describe');

      // Assess
      expect([before, learned, stillLearned]).toEqual([0, 1, 1]);
    });

    it('serves the cached key through transient failures within the bound, and not beyond it', async () => {
      for (const fault of [awsErrors.throttled, awsErrors.serverError, awsErrors.network]) {
        // Prepare
        const { secret, client, elapse } = setup();
        const key = await client.getApiKey(NAME);
        secret.faults.describe = fault();

        // Act
        await elapse(TTL);
        const served: string[] = [];
        for (let t = 0; t < STALE; t += 10_000) {
          served.push(await client.getApiKey(NAME));
          await elapse(10_000);
        }
        const past = await client.getApiKey(NAME).catch((err: unknown) => err);

        // Assess
        expect(new Set(served)).toEqual(new Set([key]));
        expect(past).toBeInstanceOf(SecretUnavailableError);
        expect((past as Error).message).toMatch(/last confirmed 1200\.0 s ago, is past this key's staleness bound/);
        // Backing off (1 s, 2 s, ... 30 s), not a call per read: 90 reads over 900 s
        expect(secret.calls('describe')).toBeLessThan(40);
      }
    });

    it('recovers when the backend answers again after a transient failure', async () => {
      // Prepare
      const { secret, client, elapse } = setup();
      await client.getApiKey(NAME);
      secret.faults.describe = awsErrors.throttled();
      await elapse(TTL);
      await client.getApiKey(NAME);
      await turn();
      const newKey = mintKey('second');
      secret.rotate(newKey);
      delete secret.faults.describe;

      // Act
      await elapse(1000); // first back-off
      await client.getApiKey(NAME);
      await turn();

      // Assess
      expect(await client.getApiKey(NAME)).toBe(newKey);
    });

    it('does not serve the cached key once Secrets Manager denies access or the secret is gone', async () => {
      const cases = [
        { fault: awsErrors.denied, error: SecretAccessDeniedError, message: /HTTP 403.*grant it secretsmanager:GetSecretValue/ },
        { fault: awsErrors.notFound, error: SecretNotFoundError, message: /was not found: check the name/ },
        { fault: awsErrors.decryption, error: SecretReadError, message: /DecryptionFailure: KMS key is disabled/ },
      ];
      for (const { fault, error, message } of cases) {
        // Prepare
        const { secret, client, elapse } = setup();
        await client.getApiKey(NAME);
        secret.faults.describe = fault();
        secret.faults.get = fault();

        // Act
        await elapse(TTL);
        await client.getApiKey(NAME); // starts the check, which fails
        await turn();
        const next = await client.getApiKey(NAME).catch((err: unknown) => err);

        // Assess
        expect(next).toBeInstanceOf(error);
        expect((next as Error).message).toMatch(message);
        expect((next as Error).message).toContain(NAME);
      }
    });

    it('does not serve a key whose secret is scheduled for deletion', async () => {
      // Prepare
      const { secret, client, elapse } = setup();
      await client.getApiKey(NAME);
      secret.deleted = true;
      secret.faults.get = awsErrors.notFound();

      // Act
      await elapse(TTL + STALE);
      const err = await client.getApiKey(NAME).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(SecretNotFoundError);
      expect((err as Error).message).toMatch(/scheduled for deletion: restore it/);
    });

    it('fails a cold read on a transient error, saying to retry', async () => {
      // Prepare
      const { secret, client } = setup();
      secret.faults.get = awsErrors.throttled();

      // Act
      const err = await client.getApiKey(NAME).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(SecretUnavailableError);
      expect((err as Error).message).toMatch(/could not be read, retry later \(ThrottlingException/);
      expect((err as SecretUnavailableError).code).toBe('SecretUnavailable');
    });

    it('sends a new request on the next read after a cold read failed (no poisoned single-flight)', async () => {
      // Prepare
      const { secret, client } = setup();
      secret.faults.get = awsErrors.serverError();
      const failed = await Promise.allSettled([client.getApiKey(NAME), client.getApiKey(NAME)]);
      delete secret.faults.get;

      // Act
      const key = await client.getApiKey(NAME);

      // Assess
      expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      expect(secret.calls('get')).toBe(2);
      expect(key).toBe(await keyNow(secret));
    });

    it('throws a StateError naming the bad field of an invalid value, without quoting it', async () => {
      // Prepare
      const key = mintKey('bad');
      const { secret, client, elapse } = setup();
      await client.getApiKey(NAME);
      secret.rotate(key, JSON.stringify({ apiKey: key, keyId: 'key_2', provider: 'reference', issuedAt: 'yesterday' }));

      // Act
      await elapse(TTL + STALE);
      const err = await client.getApiKey(NAME).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(StateError);
      expect((err as Error).message).toMatch(/secret 'payments\/reference-api' value is invalid at 'issuedAt'/);
      expect((err as Error).message).not.toContain(key);
    });

    it('refuses explicit options that break the grace period learned from the tag, and never serves the key', async () => {
      // Prepare
      const { secret, client, elapse } = setup({ ttl: 300, staleIfError: 300 });
      secret.grace = '600';
      const key = await client.getApiKey(NAME);

      // Act: the first check (early: 60 s grace assumed) learns the tag
      await elapse(12_500);
      await client.getApiKey(NAME);
      await turn();
      const errors = await Promise.all([client.getApiKey(NAME), client.withApiKey(NAME, (k) => k)].map((p) => p.catch((e: unknown) => e)));
      secret.grace = '86400';
      await elapse(12_500);
      await client.getApiKey(NAME).catch(() => undefined);
      await turn();

      // Assess
      for (const err of errors) {
        expect(err).toBeInstanceOf(ClientOptionsError);
        expect((err as Error).message).toBe(
          "ttl (300 s) plus staleIfError (300 s) must stay within the grace period of 600 s (tag 'keyrelay:grace-period' " +
            "of secret 'payments/reference-api') minus a 60 s safety margin, i.e. 540 s in all, with ttl above 0: otherwise " +
            'the client could serve a revoked key. Lower them, or leave them unset to fit the grace period automatically',
        );
      }
      expect(await client.getApiKey(NAME)).toBe(key); // the tag was fixed: served again
    });

    it('fits default ttl and staleIfError into a short grace period', async () => {
      // Prepare: grace 120 s: budget 108 s, ttl 27 s, staleIfError 81 s
      const { secret, client, elapse } = setup({});
      secret.grace = '120';
      await client.getApiKey(NAME);
      await elapse(12_500);
      await client.getApiKey(NAME);
      await turn();
      secret.faults.describe = awsErrors.serverError();

      // Act
      await elapse(27_000 + 81_000 - 1);
      const within = await client.getApiKey(NAME).catch((e: unknown) => e);
      await elapse(1);
      const past = await client.getApiKey(NAME).catch((e: unknown) => e);

      // Assess
      expect(typeof within).toBe('string');
      expect(past).toBeInstanceOf(SecretUnavailableError);
    });

    it('names a malformed grace-period tag', async () => {
      // Prepare
      const { secret, client, elapse } = setup();
      secret.grace = '1d';
      await client.getApiKey(NAME);

      // Act
      await elapse(TTL + STALE);
      const err = await client.getApiKey(NAME).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(StateError);
      expect((err as Error).message).toBe(
        "secret 'payments/reference-api': tag 'keyrelay:grace-period' must be a whole number of seconds, got '1d'",
      );
    });

    it('applies the options unbounded to a secret without a grace-period tag (not rotated by keyrelay)', async () => {
      // Prepare
      const { secret, client, elapse } = setup({ ttl: 3600 });
      secret.grace = undefined;
      await client.getApiKey(NAME);
      await elapse(12_500); // the early check learns there is no tag
      await client.getApiKey(NAME);
      await turn();

      // Act
      await elapse(3_600_000 - 1);
      await client.getApiKey(NAME);

      // Assess
      expect(secret.calls('describe')).toBe(1);
    });

    it('makes readers past the staleness bound wait on one shared check', async () => {
      // Prepare
      const { secret, client, elapse } = setup();
      await client.getApiKey(NAME);
      const newKey = mintKey('second');
      secret.rotate(newKey);
      await elapse(TTL + STALE);
      secret.hold();

      // Act
      const reads = Array.from({ length: 100 }, () => client.getApiKey(NAME));
      await turn();
      secret.release();
      const keys = await Promise.all(reads);

      // Assess
      expect(new Set(keys)).toEqual(new Set([newKey]));
      expect(secret.calls('describe')).toBe(1);
    });

    it('serves a secret that has no tags at all like one without a grace-period tag', async () => {
      // Prepare
      const { secret, client, elapse } = setup({ ttl: 3600 });
      secret.untagged = true;
      const key = await client.getApiKey(NAME);

      // Act
      await elapse(12_500); // the early check
      const checked = await client.getApiKey(NAME);
      await turn();
      await elapse(3_600_000 - 1);
      const later = await client.getApiKey(NAME);

      // Assess
      expect(checked).toBe(key);
      expect(later).toBe(key);
      expect(secret.calls('describe')).toBe(1);
      expect(secret.calls('get')).toBe(1); // the check kept the entry: no cold read again
    });

    it('answers reads of a refused key from the refusal until the provisional ttl, without asking again', async () => {
      // Prepare: explicit options that break the grace period the first check learns
      const { secret, client, elapse } = setup({ ttl: 300, staleIfError: 300 });
      secret.grace = '600';
      await client.getApiKey(NAME);
      await elapse(12_500);
      await client.getApiKey(NAME);
      await turn();
      const describes = secret.calls('describe');

      // Act
      const errors = [];
      for (let i = 0; i < 5; i++) {
        errors.push(await client.getApiKey(NAME).catch((e: unknown) => e));
        await elapse(2000);
      }

      // Assess
      expect(errors.every((e) => e instanceof ClientOptionsError)).toBe(true);
      expect(secret.calls('describe')).toBe(describes);
      expect(secret.calls('get')).toBe(1);
      await elapse(2500);
      await client.getApiKey(NAME).catch(() => undefined);
      expect(secret.calls('describe')).toBe(describes + 1);
    });

    it('says how long ago the key it no longer serves was confirmed, and keeps the SDK error as the cause', async () => {
      // Prepare: the first read an hour after the client was made
      const { secret, client, elapse } = setup();
      await elapse(3_600_000);
      await client.getApiKey(NAME);
      const sdkError = awsErrors.serverError();
      secret.faults.describe = sdkError;

      // Act
      await elapse(TTL + STALE);
      const err = await client.getApiKey(NAME).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(SecretUnavailableError);
      expect((err as Error).message).toMatch(/last confirmed 1200\.0 s ago, is past this key's staleness bound \(ttl \+ staleIfError\) and is not served: it may have been revoked$/);
      expect((err as Error).cause).toBe(sdkError);
    });

    it.each([
      ['HTTP 401', () => Object.assign(new Error('Unauthorized'), { $metadata: { httpStatusCode: 401 } }), SecretAccessDeniedError, /HTTP 401/],
      ['access denied', awsErrors.denied, SecretAccessDeniedError, /HTTP 403/],
      ['not found', awsErrors.notFound, SecretNotFoundError, /was not found/],
      ['throttling', awsErrors.throttled, SecretUnavailableError, /retry later/],
      ['a KMS failure', awsErrors.decryption, SecretReadError, /check the secret and its KMS key \(the app needs kms:Decrypt\), then retry$/],
    ])('reports %s on a cold read as its typed error, with the SDK error as the cause', async (_what, fault, type, message) => {
      // Prepare
      const { secret, client } = setup();
      const sdkError = fault();
      secret.faults.get = sdkError;
      // Act
      const err = await client.getApiKey(NAME).catch((e: unknown) => e);
      // Assess
      expect(err).toBeInstanceOf(type);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).cause).toBe(sdkError);
    });

    it.each([
      ['blank', ' ', StateError],
      ['negative', '-5', StateError],
      ['zero (no room for any cache)', '0', ClientOptionsError],
    ])('judges a %s grace-period tag', async (_what, grace, type) => {
      // Prepare
      const { secret, client, elapse } = setup();
      secret.grace = grace;
      await client.getApiKey(NAME);
      // Act: the read past the bound waits for the check, which reads the tag
      await elapse(TTL + STALE);
      const err = await client.getApiKey(NAME).catch((e: unknown) => e);
      // Assess
      expect(err).toBeInstanceOf(type);
    });

    it('never puts key material in an error message', async () => {
      // Prepare
      const key = mintKey('leak');
      const { secret, client, elapse } = setup();
      secret.rotate(key, secretJson(key).replace('"keyId":"key_1"', '"keyId":""'));
      const errors: unknown[] = [await client.getApiKey(NAME).catch((e: unknown) => e)];
      secret.rotate(key);
      await client.getApiKey(NAME);
      for (const fault of [awsErrors.throttled, awsErrors.denied, awsErrors.notFound]) {
        secret.faults.describe = fault();
        secret.faults.get = fault();
        await elapse(TTL + STALE);
        errors.push(await client.getApiKey(NAME).catch((e: unknown) => e));
        delete secret.faults.describe;
        delete secret.faults.get;
        await client.getApiKey(NAME);
      }

      // Assess
      expect(errors).toHaveLength(4);
      for (const err of errors) {
        expect(err).toBeInstanceOf(Error);
        const text = `${String(err)} ${JSON.stringify(err)} ${String((err as Error).cause)}`;
        expect(text).not.toContain(key);
      }
    });
  });

  describe('Method: invalidate', () => {
    it('makes the next read fetch the current key at once', async () => {
      // Prepare
      const { secret, client } = setup();
      await client.getApiKey(NAME);
      const newKey = mintKey('second');
      secret.rotate(newKey);

      // Act
      client.invalidate(NAME);
      const key = await client.getApiKey(NAME);

      // Assess
      expect(key).toBe(newKey);
      expect(secret.calls('get')).toBe(2);
    });

    it('does not cache a cold read that was in flight when it was called', async () => {
      // Prepare
      const { secret, client } = setup();
      secret.hold();
      const inFlight = client.getApiKey(NAME);

      // Act
      client.invalidate(NAME);
      const newKey = mintKey('second');
      secret.rotate(newKey);
      secret.release();
      await inFlight;

      // Assess
      expect(await client.getApiKey(NAME)).toBe(newKey);
    });
    it('does not let a check that was in flight when it was called bring back the old key', async () => {
      // Prepare: a background check whose DescribeSecret saw the old version, answering only when told.
      const { secret, client, elapse } = setup();
      const firstKey = await client.getApiKey(NAME);
      const seen = { Name: NAME, VersionIdsToStages: { [secret.current]: ['AWSCURRENT'] }, Tags: [{ Key: TAGS.gracePeriod, Value: '86400' }] };
      let answerCheck: (value: typeof seen) => void = () => undefined;
      secret.sm.on(DescribeSecretCommand).callsFake(() => new Promise<typeof seen>((resolve) => (answerCheck = resolve)));
      await elapse(TTL);
      expect(await client.getApiKey(NAME)).toBe(firstKey); // starts the check, served the cached key

      // Act: the KeyRotated event arrives and a read fetches the new key; then the old check answers.
      const newKey = mintKey('second');
      secret.rotate(newKey);
      client.invalidate(NAME);
      const cold = await client.getApiKey(NAME);
      answerCheck(seen);
      await turn();

      // Assess
      expect(cold).toBe(newKey);
      expect(await client.getApiKey(NAME)).toBe(newKey);
      expect(secret.calls('describe')).toBe(1);
    });
  });

  describe('Method: withApiKey', () => {
    const unauthorized = () => Object.assign(new Error('whoami: HTTP 401'), { status: 401 });

    it('retries once with the new key after an auth failure when the key was rotated', async () => {
      // Prepare
      const { secret, client, elapse } = setup();
      const oldKey = await client.getApiKey(NAME);
      const newKey = mintKey('second');
      secret.rotate(newKey);
      await elapse(1000);
      const seen: string[] = [];

      // Act
      const result = await client.withApiKey(NAME, (key) => {
        seen.push(key);
        if (key === oldKey) throw unauthorized();
        return 'ok';
      });

      // Assess
      expect(result).toBe('ok');
      expect(seen).toEqual([oldKey, newKey]);
      expect(secret.calls('describe')).toBe(1);
      expect(secret.calls('get')).toBe(2);
    });

    it('rethrows the auth failure without a retry when the key did not change', async () => {
      // Prepare
      const { client, elapse } = setup();
      await client.getApiKey(NAME);
      await elapse(1000);
      const failure = unauthorized();
      let calls = 0;

      // Act
      const err = await client
        .withApiKey(NAME, () => {
          calls++;
          throw failure;
        })
        .catch((e: unknown) => e);

      // Assess
      expect(err).toBe(failure);
      expect(calls).toBe(1);
    });

    it('retries only once, even when the new key is refused too', async () => {
      // Prepare
      const { secret, client, elapse } = setup();
      await client.getApiKey(NAME);
      secret.rotate(mintKey('second'));
      await elapse(1000);
      let calls = 0;

      // Act
      const err = await client
        .withApiKey(NAME, () => {
          calls++;
          throw unauthorized();
        })
        .catch((e: unknown) => e);

      // Assess
      expect((err as { status: number }).status).toBe(401);
      expect(calls).toBe(2);
      expect(secret.calls('describe')).toBe(1);
    });

    it('shares one forced check among 100 concurrent failures, all of which succeed on retry', async () => {
      // Prepare
      const { secret, client, elapse } = setup();
      const oldKey = await client.getApiKey(NAME);
      const newKey = mintKey('second');
      secret.rotate(newKey);
      await elapse(1000);

      // Act
      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          client.withApiKey(NAME, async (key) => {
            await turn();
            if (key === oldKey) throw unauthorized();
            return key;
          }),
        ),
      );

      // Assess
      expect(new Set(results)).toEqual(new Set([newKey]));
      expect(secret.calls('describe')).toBe(1);
    });

    it('rate-limits forced checks per key to one per forcedRefreshInterval', async () => {
      // Prepare
      const { secret, client, elapse } = setup({ gracePeriod: 86_400, forcedRefreshInterval: 5 });
      await client.getApiKey(NAME);
      const refuse = () => client.withApiKey(NAME, () => Promise.reject(unauthorized())).catch(() => undefined);

      // Act
      await elapse(1000);
      await refuse();
      await elapse(1000);
      await refuse();
      await refuse();
      const within = secret.calls('describe');
      await elapse(4000);
      await refuse();

      // Assess
      expect(within).toBe(1);
      expect(secret.calls('describe')).toBe(2);
    });

    it('rate-limits forced checks by default (forcedRefreshInterval 5 s)', async () => {
      // Prepare
      const { secret, client, elapse } = setup();
      await client.getApiKey(NAME);
      const refuse = () => client.withApiKey(NAME, () => Promise.reject(unauthorized())).catch(() => undefined);

      // Act
      await elapse(1000);
      await refuse();
      await elapse(4999);
      await refuse();
      const within = secret.calls('describe');
      await elapse(1);
      await refuse();

      // Assess
      expect(within).toBe(1);
      expect(secret.calls('describe')).toBe(2);
    });

    it('rethrows the auth failure, never calling fn again, when the forced check refuses the options', async () => {
      // Prepare: explicit options the grace period (learned at the forced check) refuses
      const { secret, client, elapse } = setup({ ttl: 300, staleIfError: 300 });
      secret.grace = '600';
      await client.getApiKey(NAME);
      await elapse(1000);
      const keys: string[] = [];
      // Act
      const err = await client
        .withApiKey(NAME, (key) => {
          keys.push(key);
          throw unauthorized();
        })
        .catch((e: unknown) => e);
      // Assess
      expect((err as { status: number }).status).toBe(401);
      expect(keys).toHaveLength(1);
      expect(secret.calls('describe')).toBe(1);
    });

    it('rethrows the auth failure when a background check refused the options meanwhile', async () => {
      // Prepare
      const { secret, client, elapse } = setup({ ttl: 300, staleIfError: 300 });
      secret.grace = '600';
      await client.getApiKey(NAME);
      await elapse(12_500); // past the provisional ttl: the next read starts a background check
      const keys: string[] = [];
      // Act
      const err = await client
        .withApiKey(NAME, async (key) => {
          keys.push(key);
          await turn(); // the check answers and refuses while fn runs
          throw unauthorized();
        })
        .catch((e: unknown) => e);
      // Assess
      expect((err as { status: number }).status).toBe(401);
      expect(keys).toHaveLength(1);
    });

    it('does not trust a check sent before the failure: it checks again', async () => {
      // Prepare: a background check is in flight when the rotation happens and the old key is refused
      const { secret, client, elapse } = setup();
      const oldKey = await client.getApiKey(NAME);
      await elapse(TTL);
      secret.hold();
      await client.getApiKey(NAME); // starts the background check
      await elapse(1000);
      const newKey = mintKey('second');
      const seen: string[] = [];

      // Act
      const result = client.withApiKey(NAME, (key) => {
        seen.push(key);
        if (key === oldKey) throw unauthorized();
        return 'ok';
      });
      await turn();
      secret.rotate(newKey); // rotated (and the old key revoked) after the background check was answered...
      secret.release(); // ...which now arrives saying nothing moved

      // Assess
      expect(await result).toBe('ok');
      expect(seen).toEqual([oldKey, newKey]);
      expect(secret.calls('describe')).toBe(2);
    });

    it('passes other errors through without a check', async () => {
      // Prepare
      const { secret, client } = setup();
      const failure = Object.assign(new Error('upstream'), { status: 500 });

      // Act
      const err = await client
        .withApiKey(NAME, () => {
          throw failure;
        })
        .catch((e: unknown) => e);

      // Assess
      expect(err).toBe(failure);
      expect(secret.calls('describe')).toBe(0);
    });

    it('uses a custom isAuthFailure predicate', async () => {
      // Prepare
      const { secret, client, elapse } = setup({ gracePeriod: 86_400, isAuthFailure: (e) => (e as Error).message === 'invalid_api_key' });
      const oldKey = await client.getApiKey(NAME);
      secret.rotate(mintKey('second'));
      await elapse(1000);

      // Act
      const result = await client.withApiKey(NAME, (key) => {
        if (key === oldKey) throw new Error('invalid_api_key');
        return key;
      });

      // Assess
      expect(result).toBe(await keyNow(secret));
    });
  });
});
