import { describe, expect, it } from 'vitest';
import { parseCron, shortestCronInterval } from '../../core/cron';
import { formatDuration, parseDuration } from '../../core/duration';
import { isThrottling, isTransient, retry } from '../../core/retry';
import { fingerprint, parseSecretValue } from '../../core/secret-value';
import { ProviderAuthError, ThrottledError, parseRetryAfter } from '../../lambda/providers/errors';
import { FakeClock } from '../support/fake-clock';
import { secretValue } from '../support/leak-guard';

describe('Function: parseSecretValue', () => {
  const valid = { apiKey: 'k', keyId: 'key_1', provider: 'reference', issuedAt: '2026-11-22T10:00:00Z' };

  it('parses a valid value', () => {
    expect(parseSecretValue(JSON.stringify(valid), 's')).toEqual(valid);
  });

  it('names the secret and the bad field', () => {
    expect(() => parseSecretValue(JSON.stringify({ ...valid, keyId: 7 }), 'payments/x')).toThrow(
      /secret 'payments\/x' value is invalid at 'keyId'/,
    );
  });

  it('treats an empty value as "no key yet"', () => {
    expect(() => parseSecretValue(undefined, 's')).toThrow(/has no value yet: rotate it/);
  });

  it('never quotes the value in its error, even when the JSON is broken', () => {
    // Prepare: V8's own JSON.parse error would quote the text
    const key = secretValue('rk_live_supersecretvalue123');
    // Act
    let message = '';
    try {
      parseSecretValue(`${key} not json`, 's');
    } catch (err) {
      message = `${(err as Error).message} ${String((err as Error).cause ?? '')}`;
    }
    // Assess
    expect(message).toMatch(/does not hold JSON/);
    expect(message).not.toContain(key);
  });
});

describe('Function: fingerprint', () => {
  it('is stable, short and does not contain the key', () => {
    const key = secretValue('rk_live_anothersecretvalue');
    expect(fingerprint(key)).toBe(fingerprint(key));
    expect(fingerprint(key)).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect(fingerprint(key)).not.toBe(fingerprint(`${key}x`));
  });
});

describe('Function: parseDuration', () => {
  it.each([
    ['90s', 90],
    ['15m', 900],
    ['4h', 14_400],
    ['30d', 2_592_000],
  ])('parses %s', (text, seconds) => expect(parseDuration(text)).toBe(seconds));

  it('rejects other forms naming what was expected', () => {
    expect(() => parseDuration('1 week', 'gracePeriod')).toThrow("gracePeriod must look like 90s, 15m, 4h or 30d, got '1 week'");
  });

  it('formats with the largest whole unit', () => {
    expect([86_400 * 2, 3600, 5400, 61].map(formatDuration)).toEqual(['2 days', '1 hour', '90 minutes', '61 seconds']);
  });
});

describe('Function: parseCron', () => {
  it('finds the next window opening on the hour, in UTC', () => {
    const weekly = parseCron('cron(0 4 ? * MON *)');
    const next = weekly.next(Date.UTC(2026, 10, 25, 12)); // a Wednesday
    expect(new Date(next!).toISOString()).toBe('2026-11-30T04:00:00.000Z');
  });

  it('handles lists, ranges and steps', () => {
    const s = parseCron('cron(0 0/6 1-3 * ? *)');
    expect(new Date(s.next(Date.UTC(2026, 0, 3, 18))!).toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(shortestCronInterval(s)).toBe(6 * 3600);
  });

  it.each([
    ['cron(5 4 * * ? *)', /minutes must be 0/],
    ['cron(0 4 * *)', /must be cron\(minutes hours/],
    ['cron(0 4 L * ? *)', /L, W and # are not supported/],
    ['cron(0 25 * * ? *)', /'25' is not in 0-23/],
    ['cron(0 4 * * * *)', /'\?' in exactly one of day-of-month and day-of-week/],
    // A backwards range matched nothing: the key never rotated, and config said only "never fires twice in 5 years".
    ['cron(0 22-2 * * ? *)', /hours '22-2': range '22-2' runs backwards/],
    ['cron(0 0 ? * FRI-MON *)', /range 'FRI-MON' runs backwards/],
  ])('rejects %s', (expr, message) => expect(() => parseCron(expr)).toThrow(message));
});

describe('Function: retry', () => {
  it('retries throttling with growing jittered waits, then succeeds', async () => {
    // Prepare
    const clock = new FakeClock(0, true);
    const waits: number[] = [];
    let calls = 0;
    // Act
    const result = await retry(
      async () => {
        if (++calls < 4) throw Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
        return 'ok';
      },
      { clock, random: () => 0.5, onRetry: (_e, _a, ms) => waits.push(ms) },
    );
    // Assess
    expect(result).toBe('ok');
    expect(waits).toEqual([100, 200, 400]);
    expect(clock.now()).toBe(700);
  });

  it("waits what the server's Retry-After says", async () => {
    const clock = new FakeClock(0, true);
    let calls = 0;
    await retry(
      async () => {
        if (++calls === 1) throw new ThrottledError('p', '429', { retryAfterMs: 3000 });
      },
      { clock },
    );
    expect(clock.now()).toBe(3000);
  });

  it('does not retry what is not transient, and gives up after the attempts', async () => {
    const clock = new FakeClock(0, true);
    let calls = 0;
    await expect(
      retry(async () => {
        calls++;
        throw new ProviderAuthError('p', 'rejected', { status: 401 });
      }, { clock }),
    ).rejects.toBeInstanceOf(ProviderAuthError);
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      retry(async () => {
        calls++;
        throw Object.assign(new Error('boom'), { $metadata: { httpStatusCode: 503 } });
      }, { clock, attempts: 3 }),
    ).rejects.toThrow('boom');
    expect(calls).toBe(3);
  });

  it.each(['EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ECONNABORTED', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT'])(
    'treats a network failure (%s) as transient, so clients serve their cached key within the bound',
    (code) => expect(isTransient(Object.assign(new Error('network'), { code }))).toBe(true),
  );

  it('classifies errors', () => {
    expect(isThrottling({ $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isTransient({ $metadata: { httpStatusCode: 403 } })).toBe(false);
    expect(isTransient(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransient(new TypeError('fetch failed'))).toBe(true);
  });
});

describe('Function: parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('2', 0)).toBe(2000);
    expect(parseRetryAfter(new Date(5000).toUTCString(), 1000)).toBe(4000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });
});
