import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../../core/errors';
import {
  KeyNotFoundError,
  ProviderAuthError,
  ProviderError,
  ProviderResponseError,
  ProviderUnavailableError,
  QuotaExceededError,
  ThrottledError,
} from '../../../lambda/providers/errors';
import { createProvider } from '../../../lambda/providers/index';
import { referenceProvider } from '../../../lambda/providers/reference';
import type { KeyProvider } from '../../../lambda/providers/types';
import { FakeClock } from '../../support/fake-clock';
import { secretValue } from '../../support/leak-guard';

const BASE = 'http://provider.test';
const ADMIN = secretValue('rk_admin_unit-test-admin-credential');
const API_KEY = secretValue('rk_live_unit-test-key-value-0001');

type Reply = Response | Error | ((init: RequestInit) => Promise<Response>);

/** A fetch that answers from a queue and records what it was asked. */
function fakeFetch(...replies: Reply[]) {
  const calls: Array<{ url: string; method: string; headers: Headers; body?: unknown; signal?: AbortSignal | null }> = [];
  const fn = vi.fn(async (input: string | URL | Request, init: RequestInit = {}) => {
    calls.push({
      url: String(input),
      method: init.method ?? 'GET',
      headers: new Headers(init.headers),
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      signal: init.signal,
    });
    const reply = replies.shift();
    if (!reply) throw new Error('fake fetch: no reply queued');
    if (reply instanceof Error) throw reply;
    return typeof reply === 'function' ? reply(init) : reply;
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

function wireKey(id: string, extra: Record<string, unknown> = {}) {
  return { id, account: 'acct-1', name: `label-${id}`, status: 'active', createdAt: '2026-11-22T10:00:00.000Z', lastUsedAt: null, ...extra };
}

function adapter(
  fetch: typeof globalThis.fetch,
  options: { settings?: Record<string, string>; credential?: () => Promise<string>; clock?: FakeClock } = {},
): KeyProvider {
  return referenceProvider.create({
    settings: options.settings ?? { baseUrl: BASE },
    adminCredential: options.credential ?? (async () => JSON.stringify({ adminKey: ADMIN })),
    clock: options.clock ?? new FakeClock(),
    fetch,
  });
}

describe('Object: referenceProvider', () => {
  describe('Method: create', () => {
    it('throws a ConfigError saying baseUrl is missing when the settings have none', () => {
      // Prepare
      const { fetch } = fakeFetch();
      // Act & Assess
      expect(() => adapter(fetch, { settings: {} })).toThrow(ConfigError);
      expect(() => adapter(fetch, { settings: {} })).toThrow(/provider 'reference': setting 'baseUrl' is missing; set provider.baseUrl/);
    });

    it.each([
      [{ baseUrl: 'ftp://provider.test' }, /setting 'baseUrl': must be an http\(s\) URL/],
      [{ baseUrl: 'not a url' }, /setting 'baseUrl': must be an http\(s\) URL/],
      [{ baseUrl: BASE, timeoutMs: '0' }, /setting 'timeoutMs': must be a whole number of milliseconds/],
      [{ baseUrl: BASE, timeoutMs: 'soon' }, /setting 'timeoutMs'/],
      [{ baseUrl: BASE, baseURL: BASE }, /Unrecognized key: "baseURL"/],
      [{ baseUrl: BASE, quota: '0' }, /setting 'quota': must be a whole number of keys/],
    ])('rejects the settings %j', (settings, message) => {
      // Prepare
      const { fetch } = fakeFetch();
      // Act & Assess
      expect(() => createProvider('reference', { settings, adminCredential: async () => '', clock: new FakeClock(), fetch })).toThrow(
        message,
      );
    });

    it('describes itself: disable and last use supported, quota 5, admin secret needed', () => {
      // Prepare
      const { fetch } = fakeFetch();
      // Act
      const provider = adapter(fetch);
      // Assess
      expect(provider).toMatchObject({ type: 'reference', capabilities: { disable: true, lastUsed: true }, quota: 5 });
      expect(referenceProvider).toMatchObject({ needsAdminSecret: true, quota: 5, capabilities: { disable: true, lastUsed: true } });
      expect(referenceProvider.settings.safeParse({ timeoutMs: '2500' }).success).toBe(true);
    });

    it('reports the quota of its quota setting (the local stack runs the service with more than 5), in errors too', async () => {
      // Prepare
      const { fetch } = fakeFetch(json(409, { error: { code: 'quota_exceeded', message: 'full', limit: 1000 } }));
      // Act
      const provider = adapter(fetch, { settings: { baseUrl: BASE, quota: '1000' } });
      const err = await provider.issue({ label: 'l' }).catch((e: unknown) => e);
      // Assess
      expect(provider.quota).toBe(1000);
      expect(err).toBeInstanceOf(QuotaExceededError);
      expect(err).toMatchObject({ quota: 1000, message: expect.stringMatching(/key quota of 1000 keys reached/) });
    });
  });

  describe('Method: issue', () => {
    it('posts the label with the admin key and returns the key, its id and account', async () => {
      // Prepare
      const { fetch, calls } = fakeFetch(json(201, { ...wireKey('key_1', { name: 'keyrelay/app/tok' }), key: API_KEY }));
      const provider = adapter(fetch, { settings: { baseUrl: `${BASE}/` } });
      // Act
      const issued = await provider.issue({ label: 'keyrelay/app/tok' });
      // Assess
      expect(issued).toEqual({ apiKey: API_KEY, keyId: 'key_1', principal: 'acct-1' });
      expect(calls[0]).toMatchObject({ url: `${BASE}/v1/keys`, method: 'POST', body: { name: 'keyrelay/app/tok' } });
      expect(calls[0]?.headers.get('authorization')).toBe(`Bearer ${ADMIN}`);
      expect(calls[0]?.headers.get('content-type')).toBe('application/json');
    });

    it('throws a ProviderResponseError naming the field, not the value, when the answer lacks the key', async () => {
      // Prepare
      const { fetch } = fakeFetch(json(201, { ...wireKey('key_1'), key: 42 }));
      // Act
      const error = await adapter(fetch).issue({ label: 'l' }).catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(ProviderResponseError);
      expect((error as Error).message).toBe("reference: create key: the answer has an unexpected 'key': Invalid input: expected string, received number");
    });
  });

  describe('Admin credential', () => {
    const leaky = secretValue('rk_admin_never-echo-this-value');
    it.each([
      [`not json ${leaky}`, /provider 'reference': the admin secret does not hold JSON; expected \{"adminKey": "<admin key>"\}/],
      [JSON.stringify({ adminkey: leaky }), /the admin secret is invalid at 'adminKey': Invalid input/],
      [JSON.stringify({ adminKey: 42 }), /invalid at 'adminKey': Invalid input: expected string/],
      [JSON.stringify({ adminKey: '' }), /invalid at 'adminKey': Too small/],
      [JSON.stringify(leaky), /invalid at '\(root\)': Invalid input: expected object/],
    ])('throws a ConfigError naming the field, never the value, for %#', async (secret, message) => {
      // Prepare
      const { fetch } = fakeFetch();
      // Act
      const error = await adapter(fetch, { credential: async () => secret }).list().catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(leaky);
      expect((error as Error).cause).toBeUndefined();
    });

    it('reads the credential once for many calls, and again after a failed read', async () => {
      // Prepare
      const credential = vi
        .fn<() => Promise<string>>()
        .mockRejectedValueOnce(new Error('secrets manager down'))
        .mockResolvedValue(JSON.stringify({ adminKey: ADMIN }));
      const { fetch } = fakeFetch(json(200, { keys: [], next_page_token: null }), json(200, { keys: [], next_page_token: null }));
      const provider = adapter(fetch, { credential });
      // Act
      await expect(provider.list()).rejects.toThrow('secrets manager down');
      await provider.list();
      await provider.list();
      // Assess
      expect(credential).toHaveBeenCalledTimes(2);
    });
  });

  describe('Error mapping', () => {
    const error = (code: string, extra: Record<string, unknown> = {}) => ({ error: { code, message: `said ${code}`, ...extra } });
    it.each([
      [401, error('unauthorized'), {}, ProviderAuthError, { status: 401, transient: false }, /the admin credential was rejected; it needs the account's admin key/],
      [403, error('forbidden'), {}, ProviderAuthError, { status: 403 }, /the admin credential was rejected/],
      [404, error('not_found'), {}, KeyNotFoundError, { status: 404, transient: false }, /key 'key_1' does not exist/],
      [409, error('quota_exceeded', { limit: 5 }), {}, QuotaExceededError, { status: 409, quota: 5 }, /key quota of 5 keys reached/],
      [409, error('conflict'), {}, ProviderResponseError, { status: 409 }, /unexpected answer/],
      [429, error('too_many_requests'), { 'retry-after': '7' }, ThrottledError, { retryAfterMs: 7000, transient: true }, /retry after 7 s/],
      [429, error('too_many_requests'), { 'retry-after': 'Sun, 22 Nov 2026 10:00:30 GMT' }, ThrottledError, { retryAfterMs: 30_000 }, /retry after 30 s/],
      [429, error('too_many_requests'), {}, ThrottledError, { retryAfterMs: undefined }, /no Retry-After given/],
      [500, error('internal_error'), {}, ProviderUnavailableError, { status: 500, transient: true }, /provider error, retry later/],
      [502, 'bad gateway', {}, ProviderUnavailableError, { status: 502 }, /HTTP 502: provider error/],
      [503, error('service_unavailable'), { 'retry-after': '2' }, ProviderUnavailableError, { status: 503, transient: true }, /retry later/],
      [400, error('invalid_request'), {}, ProviderResponseError, { status: 400, transient: false }, /unexpected answer/],
    ])('maps HTTP %i %j to the typed error', async (status, body, headers, type, props, message) => {
      // Prepare
      const { fetch } = fakeFetch(json(status, body, headers));
      // Act
      const err = await adapter(fetch).revoke('key_1').catch((e: unknown) => e);
      // Assess
      expect(err).toBeInstanceOf(type);
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).toMatchObject({ provider: 'reference', ...props });
      expect((err as Error).message).toMatch(new RegExp(`^reference: delete key: HTTP ${status}`));
      expect((err as Error).message).toMatch(message);
    });

    it('quotes the service error code and message', async () => {
      // Prepare
      const { fetch } = fakeFetch(json(404, error('not_found')));
      // Act & Assess
      await expect(adapter(fetch).disable!('key_9')).rejects.toThrow(
        "reference: disable key: HTTP 404 (not_found: said not_found): key 'key_9' does not exist (already deleted?)",
      );
    });

    it('says to check the base URL when a collection route is not found', async () => {
      // Prepare
      const { fetch } = fakeFetch(new Response('nope', { status: 404 }));
      // Act & Assess
      await expect(adapter(fetch).list()).rejects.toThrow(ProviderResponseError);
    });

    it('throws ProviderUnavailableError when the connection fails', async () => {
      // Prepare
      const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
      const { fetch } = fakeFetch(refused);
      // Act
      const err = await adapter(fetch).list().catch((e: unknown) => e);
      // Assess
      expect(err).toBeInstanceOf(ProviderUnavailableError);
      expect(err).toMatchObject({ transient: true, cause: refused });
      expect((err as Error).message).toMatch(/list keys: no answer from http:\/\/provider.test \(TypeError\)/);
    });

    it('throws ProviderUnavailableError when no answer comes within timeoutMs', async () => {
      // Prepare: the fake waits until the adapter's timeout signal fires (1 ms, real I/O time).
      const { fetch, calls } = fakeFetch(
        (init) => new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason))),
      );
      // Act
      const err = await adapter(fetch, { settings: { baseUrl: BASE, timeoutMs: '1' } }).list().catch((e: unknown) => e);
      // Assess
      expect(calls[0]?.signal).toBeInstanceOf(AbortSignal);
      expect(err).toBeInstanceOf(ProviderUnavailableError);
      expect((err as Error).message).toMatch(/\(TimeoutError\)/);
    });

    it.each([
      ['a body that is not JSON', new Response('<html>ok</html>', { status: 200 }), /list keys: HTTP 200 without a JSON body/],
      ['a body that breaks off', new Response(new ReadableStream({ start: (c) => c.error(new Error('other side closed')) })), /without a JSON body/],
      ['an unknown status', json(200, { keys: [wireKey('key_1', { status: 'paused' })] }), /list keys: the answer has an unexpected 'keys.0.status'/],
      ['a bad time', json(200, { keys: [wireKey('key_1', { createdAt: 'yesterday' })] }), /unexpected 'keys.0.createdAt'/],
      ['no keys array', json(200, { items: [] }), /unexpected 'keys'/],
    ])('throws ProviderResponseError for %s', async (_, reply, message) => {
      // Prepare
      const { fetch } = fakeFetch(reply);
      // Act
      const err = await adapter(fetch).list().catch((e: unknown) => e);
      // Assess
      expect(err).toBeInstanceOf(ProviderResponseError);
      expect(err).toMatchObject({ transient: false });
      expect((err as Error).message).toMatch(message);
    });
  });

  describe('Method: list', () => {
    it('follows every page of the largest size the service allows and maps keys, labels, status and times', async () => {
      // Prepare
      const used = '2026-11-22T11:30:00.000Z';
      const { fetch, calls } = fakeFetch(
        json(200, { keys: [wireKey('key_1'), wireKey('key_2', { status: 'disabled' })], next_page_token: 'p/2+' }),
        json(200, { keys: [wireKey('key_3', { lastUsedAt: used })], next_page_token: 'p3' }),
        json(200, { keys: [], next_page_token: null }),
      );
      // Act
      const keys = await adapter(fetch).list();
      // Assess
      expect(calls.map((c) => c.url)).toEqual([
        `${BASE}/v1/keys?page_size=100`,
        `${BASE}/v1/keys?page_size=100&page_token=p%2F2%2B`,
        `${BASE}/v1/keys?page_size=100&page_token=p3`,
      ]);
      expect(keys).toEqual([
        { keyId: 'key_1', label: 'label-key_1', status: 'active', createdAt: Date.UTC(2026, 10, 22, 10), lastUsedAt: null },
        { keyId: 'key_2', label: 'label-key_2', status: 'disabled', createdAt: Date.UTC(2026, 10, 22, 10), lastUsedAt: null },
        { keyId: 'key_3', label: 'label-key_3', status: 'active', createdAt: Date.UTC(2026, 10, 22, 10), lastUsedAt: Date.parse(used) },
      ]);
    });

    it('throws ProviderResponseError when the provider never stops paging', async () => {
      // Prepare
      const fetch = vi.fn(async () => json(200, { keys: [], next_page_token: 'again' })) as unknown as typeof globalThis.fetch;
      // Act & Assess
      await expect(adapter(fetch).list()).rejects.toThrow(/returned page cursor "again" twice/);
    });
  });

  describe('Method: verify', () => {
    it('calls whoami with the key and returns its account as principal', async () => {
      // Prepare
      const { fetch, calls } = fakeFetch(json(200, { keyId: 'key_1', account: 'acct-2' }));
      // Act
      const verified = await adapter(fetch).verify(API_KEY);
      // Assess
      expect(verified).toEqual({ principal: 'acct-2' });
      expect(calls[0]).toMatchObject({ url: `${BASE}/v1/whoami`, method: 'GET' });
      expect(calls[0]?.headers.get('authorization')).toBe(`Bearer ${API_KEY}`);
    });

    it('throws ProviderAuthError, never quoting the key, when whoami answers 401', async () => {
      // Prepare
      const { fetch } = fakeFetch(json(401, { error: { code: 'unauthorized', message: 'API key is disabled' } }));
      // Act
      const err = await adapter(fetch).verify(API_KEY).catch((e: unknown) => e);
      // Assess
      expect(err).toBeInstanceOf(ProviderAuthError);
      expect((err as Error).message).toBe('reference: verify key (whoami): HTTP 401 (unauthorized: API key is disabled): the key was rejected');
      expect((err as Error).message).not.toContain(API_KEY);
    });

    it('needs no admin credential', async () => {
      // Prepare
      const credential = vi.fn(async () => '');
      const { fetch } = fakeFetch(json(200, { keyId: 'key_1', account: 'acct-1' }));
      // Act
      await adapter(fetch, { credential }).verify(API_KEY);
      // Assess
      expect(credential).not.toHaveBeenCalled();
    });
  });

  describe('Key methods', () => {
    it.each([
      ['revoke', 'DELETE', '', new Response(null, { status: 204 }), undefined],
      ['disable', 'POST', '/disable', json(200, wireKey('a/b', { status: 'disabled' })), undefined],
      ['enable', 'POST', '/enable', json(200, wireKey('a/b')), undefined],
      ['lastUsed', 'GET', '', json(200, wireKey('a/b', { lastUsedAt: '2026-11-22T10:00:05.000Z' })), Date.UTC(2026, 10, 22, 10, 0, 5)],
    ] as const)('%s sends %s to the escaped key path', async (method, verb, suffix, reply, result) => {
      // Prepare
      const { fetch, calls } = fakeFetch(reply);
      // Act
      const value = await adapter(fetch)[method]!('a/b');
      // Assess
      expect(value).toBe(result);
      expect(calls[0]).toMatchObject({ url: `${BASE}/v1/keys/a%2Fb${suffix}`, method: verb });
      expect(calls[0]?.headers.get('authorization')).toBe(`Bearer ${ADMIN}`);
    });

    it('returns null from lastUsed for a key never used', async () => {
      // Prepare
      const { fetch } = fakeFetch(json(200, wireKey('key_1')));
      // Act & Assess
      await expect(adapter(fetch).lastUsed!('key_1')).resolves.toBeNull();
    });
  });
});
