import { describe, expect, it } from 'vitest';
import { ClientOptionsError, createKeyClient, isAuthFailure, safetyMargin } from '../../../client/index';
import { optionsFromEnv } from '../../../client/default-client';
import { timingsFor } from '../../../client/options';
import { FakeSecret } from './fake-secret';

const sm = new FakeSecret('options/test').client;

describe('Function: createKeyClient (options)', () => {
  it('throws when ttl plus staleIfError breaks the given grace period, naming the values and the way out', () => {
    // Act
    const create = () => createKeyClient({ secretsManager: sm, ttl: 300, staleIfError: 900, gracePeriod: 600 });

    // Assess
    expect(create).toThrow(ClientOptionsError);
    expect(create).toThrow(
      'ttl (300 s) plus staleIfError (900 s) must stay within the grace period of 600 s (options.gracePeriod) minus a ' +
        '60 s safety margin, i.e. 540 s in all, with ttl above 0: otherwise the client could serve a revoked key. Lower ' +
        'them, or leave them unset to fit the grace period automatically',
    );
  });

  it('throws when staleIfError alone leaves no room for a ttl', () => {
    expect(() => createKeyClient({ secretsManager: sm, staleIfError: 540, gracePeriod: 600 })).toThrow(/staleIfError \(540 s\) must stay within/);
  });

  it('throws when the grace period is too short for any caching', () => {
    expect(() => createKeyClient({ secretsManager: sm, gracePeriod: 10 })).toThrow(
      'the grace period of 10 s (options.gracePeriod) leaves no room for caching after the 10 s safety margin: raise gracePeriod in keyrelay.config.json',
    );
  });

  it('accepts options that fit, exactly at the budget', () => {
    expect(() => createKeyClient({ secretsManager: sm, ttl: 240, staleIfError: 300, gracePeriod: 600 })).not.toThrow();
  });

  it.each([
    [{ ttl: 0 }, 'ttl must be a number of seconds above 0, got 0'],
    [{ ttl: Number.NaN }, 'ttl must be a number of seconds above 0, got NaN'],
    [{ staleIfError: -1 }, 'staleIfError must be a number of seconds of at least 0, got -1'],
    [{ gracePeriod: 0 }, 'gracePeriod must be a number of seconds above 0, got 0'],
    [{ forcedRefreshInterval: -5 }, 'forcedRefreshInterval must be a number of seconds of at least 0, got -5'],
  ])('throws on malformed options %j', (options, message) => {
    expect(() => createKeyClient({ secretsManager: sm, ...options })).toThrow(message);
  });
});

describe('Function: timingsFor', () => {
  it('uses the defaults (300 s + 900 s) for a 24 h grace period', () => {
    expect(timingsFor({}, { seconds: 86_400, from: 'tag' }, true)).toEqual({ ttlMs: 300_000, staleMs: 900_000 });
  });

  it('shrinks unset options to fit a short grace period: ttl a quarter of the budget', () => {
    // 120 s grace - 12 s margin = 108 s: ttl 27 s, staleIfError 81 s
    expect(timingsFor({}, { seconds: 120, from: 'tag' }, true)).toEqual({ ttlMs: 27_000, staleMs: 81_000 });
  });

  it('keeps an explicit ttl and fits staleIfError around it', () => {
    expect(timingsFor({ ttl: 100 }, { seconds: 120, from: 'tag' }, true)).toEqual({ ttlMs: 100_000, staleMs: 8_000 });
  });

  it('keeps an explicit staleIfError and fits ttl around it', () => {
    expect(timingsFor({ staleIfError: 100 }, { seconds: 120, from: 'tag' }, true)).toEqual({ ttlMs: 8_000, staleMs: 100_000 });
  });

  it('shrinks explicit options to fit a grace period that is only assumed', () => {
    expect(timingsFor({ ttl: 300, staleIfError: 900 }, { seconds: 60, from: 'assumed' }, false)).toEqual({ ttlMs: 12_500, staleMs: 37_500 });
  });

  it('keeps every read within grace minus the margin, whatever the options', () => {
    for (const grace of [60, 61, 120, 600, 3600, 86_400, 30 * 86_400]) {
      for (const options of [{}, { ttl: 5 }, { staleIfError: 0 }, { ttl: 1, staleIfError: 1 }]) {
        const { ttlMs, staleMs } = timingsFor(options, { seconds: grace, from: 'tag' }, true);
        expect(ttlMs).toBeGreaterThan(0);
        expect(ttlMs + staleMs).toBeLessThanOrEqual((grace - safetyMargin(grace)) * 1000);
      }
    }
  });
});

describe('Function: isAuthFailure', () => {
  it.each([
    [{ status: 401 }],
    [{ statusCode: 403 }],
    [{ response: { status: 401 } }],
    [{ response: { statusCode: 403 } }],
    [{ $metadata: { httpStatusCode: 403 } }],
  ])('recognises %j', (err) => {
    expect(isAuthFailure(Object.assign(new Error('refused'), err))).toBe(true);
  });

  it.each([[{ status: 500 }], [{ status: 404 }], [{}], ['401'], [null], [{ response: {} }]])('ignores %j', (err) => {
    expect(isAuthFailure(err)).toBe(false);
  });
});

describe('Function: optionsFromEnv', () => {
  it('reads seconds and durations', () => {
    expect(
      optionsFromEnv({ KEYRELAY_CLIENT_TTL: '5m', KEYRELAY_CLIENT_STALE_IF_ERROR: '30', KEYRELAY_CLIENT_GRACE_PERIOD: '24h' }),
    ).toEqual({ ttl: 300, staleIfError: 30, gracePeriod: 86_400 });
  });

  it('throws naming the variable and the value received', () => {
    expect(() => optionsFromEnv({ KEYRELAY_CLIENT_TTL: 'soon' })).toThrow(
      "KEYRELAY_CLIENT_TTL must look like 90s, 15m, 4h or 30d, got 'soon'",
    );
  });
});
