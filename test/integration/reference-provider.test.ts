import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  KeyNotFoundError,
  ProviderAuthError,
  ProviderResponseError,
  ProviderUnavailableError,
  QuotaExceededError,
  ThrottledError,
} from '../../lambda/providers/errors';
import { referenceProvider } from '../../lambda/providers/reference';
import type { KeyProvider } from '../../lambda/providers/types';
import { startReferenceProvider, type ReferenceProvider, type ReferenceProviderOptions } from '../../local/reference-provider';
import { FakeClock } from '../support/fake-clock';
import { registerSecret } from '../support/leak-guard';

let clock: FakeClock;
let server: ReferenceProvider;
let requests: string[];

async function start(options: ReferenceProviderOptions = {}): Promise<void> {
  server = await startReferenceProvider({ clock, onIssue: registerSecret, ...options });
}

/** The adapter for account `n` (1-based), recording the requests it sends. */
function adapterFor(account = 1, adminKey = server.adminKeys[account - 1]): KeyProvider {
  const fetch: typeof globalThis.fetch = (input, init) => {
    requests.push(`${init?.method ?? 'GET'} ${String(input).slice(server.url.length)}`);
    return globalThis.fetch(input, init);
  };
  return referenceProvider.create({
    settings: { baseUrl: server.url },
    adminCredential: async () => JSON.stringify({ adminKey }),
    clock,
    fetch,
  });
}

/** Raw HTTP against the service, for what the adapter does not exercise. */
async function http(method: string, path: string, options: { token?: string; body?: string } = {}) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    body: options.body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

beforeEach(() => {
  clock = new FakeClock();
  requests = [];
});

afterEach(async () => {
  await server?.stop();
});

describe('Class: ReferenceProvider (adapter against the real service)', () => {
  it('issues, verifies, disables, enables and revokes a key', async () => {
    // Prepare
    await start();
    const provider = adapterFor();
    // Act
    const issued = await provider.issue({ label: 'keyrelay/app/token-1' });
    // Assess
    expect(issued).toEqual({ apiKey: expect.stringMatching(/^rk_live_[\w-]{43}$/), keyId: expect.stringMatching(/^key_[0-9a-f]{16}$/), principal: 'acct-1' });
    await expect(provider.verify(issued.apiKey)).resolves.toEqual({ principal: 'acct-1' });

    await provider.disable!(issued.keyId);
    await expect(provider.verify(issued.apiKey)).rejects.toThrow(ProviderAuthError);
    expect((await provider.list())[0]).toMatchObject({ keyId: issued.keyId, status: 'disabled' });

    await provider.enable!(issued.keyId);
    await expect(provider.verify(issued.apiKey)).resolves.toEqual({ principal: 'acct-1' });

    await provider.revoke(issued.keyId);
    await expect(provider.verify(issued.apiKey)).rejects.toThrow(ProviderAuthError);
    await expect(provider.revoke(issued.keyId)).rejects.toThrow(KeyNotFoundError);
    await expect(provider.list()).resolves.toEqual([]);
    expect(server.keys()).toEqual([expect.objectContaining({ id: issued.keyId, status: 'deleted', name: 'keyrelay/app/token-1' })]);
  });

  it('lists every key across pages of the largest size the service allows', async () => {
    // Prepare
    await start({ quota: 205 });
    const provider = adapterFor();
    const ids: string[] = [];
    for (let i = 1; i <= 205; i++) ids.push((await provider.issue({ label: `label-${i}` })).keyId);
    requests = [];
    // Act
    const keys = await provider.list();
    // Assess
    expect(keys.map((k) => [k.keyId, k.label, k.status, k.createdAt, k.lastUsedAt])).toEqual(
      ids.map((id, i) => [id, `label-${i + 1}`, 'active', clock.now(), null]),
    );
    expect(requests).toEqual([
      'GET /v1/keys?page_size=100',
      expect.stringMatching(/^GET \/v1\/keys\?page_size=100&page_token=/),
      expect.stringMatching(/^GET \/v1\/keys\?page_size=100&page_token=/),
    ]);
  });

  it('records last use on whoami with the service clock', async () => {
    // Prepare
    await start();
    const provider = adapterFor();
    const used = await provider.issue({ label: 'used' });
    const idle = await provider.issue({ label: 'idle' });
    const t0 = clock.now();
    // Act
    await provider.verify(used.apiKey);
    await clock.advance(3_600_000);
    await provider.verify(used.apiKey);
    // Assess
    await expect(provider.lastUsed!(used.keyId)).resolves.toBe(t0 + 3_600_000);
    await expect(provider.lastUsed!(idle.keyId)).resolves.toBeNull();
    expect((await provider.list()).find((k) => k.keyId === used.keyId)?.lastUsedAt).toBe(t0 + 3_600_000);
  });

  it('does not record use of a disabled key', async () => {
    // Prepare
    await start();
    const provider = adapterFor();
    const key = await provider.issue({ label: 'k' });
    await provider.disable!(key.keyId);
    // Act
    await expect(provider.verify(key.apiKey)).rejects.toThrow(ProviderAuthError);
    // Assess
    await expect(provider.lastUsed!(key.keyId)).resolves.toBeNull();
  });

  it('throws QuotaExceededError per account once the quota is reached, counting disabled keys', async () => {
    // Prepare
    await start({ quota: 2, accounts: 2 });
    const [first, second] = [adapterFor(1), adapterFor(2)];
    const a = await first.issue({ label: 'a' });
    await first.issue({ label: 'b' });
    await first.disable!(a.keyId);
    // Act
    const err = await first.issue({ label: 'c' }).catch((e: unknown) => e);
    // Assess
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect(err).toMatchObject({ status: 409, message: expect.stringMatching(/acct-1 already holds 2 keys \(limit 2, disabled keys count\)/) });
    await expect(second.issue({ label: 'other account' })).resolves.toMatchObject({ principal: 'acct-2' });
    await first.revoke(a.keyId);
    await expect(first.issue({ label: 'c' })).resolves.toMatchObject({ principal: 'acct-1' });
  });

  it('keeps accounts apart: another account cannot see or touch a key', async () => {
    // Prepare
    await start({ accounts: 2 });
    const [owner, other] = [adapterFor(1), adapterFor(2)];
    const key = await owner.issue({ label: 'mine' });
    // Act & Assess
    await expect(other.list()).resolves.toEqual([]);
    for (const act of [() => other.revoke(key.keyId), () => other.disable!(key.keyId), () => other.enable!(key.keyId), () => other.lastUsed!(key.keyId)]) {
      await expect(act()).rejects.toThrow(KeyNotFoundError);
    }
    await expect(owner.verify(key.apiKey)).resolves.toEqual({ principal: 'acct-1' });
    expect(server.keys()).toEqual([expect.objectContaining({ id: key.keyId, account: 'acct-1', status: 'active' })]);
  });

  it('throws ProviderAuthError for an unknown admin credential and for an API key used as one', async () => {
    // Prepare
    await start();
    const key = await adapterFor().issue({ label: 'k' });
    // Act & Assess
    await expect(adapterFor(1, 'rk_admin_wrong').list()).rejects.toMatchObject({ constructor: ProviderAuthError, status: 401 });
    await expect(adapterFor(1, key.apiKey).list()).rejects.toMatchObject({ constructor: ProviderAuthError, status: 403 });
  });

  it('throws ProviderUnavailableError when the service is gone', async () => {
    // Prepare
    await start();
    const provider = adapterFor();
    await server.stop();
    // Act & Assess
    await expect(provider.list()).rejects.toThrow(/list keys: no answer from http:\/\/127\.0\.0\.1:\d+ \(TypeError\)/);
  });
});

describe('Faults', () => {
  beforeEach(() => start());

  it('surfaces a status fault and honours times', async () => {
    // Prepare
    const provider = adapterFor();
    server.faults.set({ status: 500, times: 2 });
    // Act & Assess
    await expect(provider.list()).rejects.toMatchObject({ constructor: ProviderUnavailableError, status: 500 });
    await expect(provider.issue({ label: 'x' })).rejects.toThrow(ProviderUnavailableError);
    await expect(provider.list()).resolves.toEqual([]);
    expect(server.faults.list()).toEqual([]);
  });

  it('targets whoami apart from the admin routes', async () => {
    // Prepare
    const provider = adapterFor();
    const key = await provider.issue({ label: 'k' });
    server.faults.set({ status: 503, match: { path: '/v1/whoami' } });
    // Act & Assess
    await expect(provider.verify(key.apiKey)).rejects.toMatchObject({ constructor: ProviderUnavailableError, status: 503 });
    await expect(provider.list()).resolves.toHaveLength(1);
    await expect(provider.verify(key.apiKey)).rejects.toThrow(ProviderUnavailableError);
    server.faults.clear();
    await expect(provider.verify(key.apiKey)).resolves.toEqual({ principal: 'acct-1' });
  });

  it('matches on method', async () => {
    // Prepare
    const provider = adapterFor();
    server.faults.set({ status: 500, match: { method: 'post', path: '/v1/keys' } });
    // Act & Assess
    await expect(provider.list()).resolves.toEqual([]);
    await expect(provider.issue({ label: 'k' })).rejects.toThrow(ProviderUnavailableError);
  });

  it('answers 429 with Retry-After, surfaced as ThrottledError with retryAfterMs', async () => {
    // Prepare
    const provider = adapterFor();
    server.faults.set({ retryAfterSeconds: 7, times: 2 });
    // Act & Assess
    for (let i = 0; i < 2; i++) {
      await expect(provider.list()).rejects.toMatchObject({ constructor: ThrottledError, status: 429, retryAfterMs: 7000 });
    }
    await expect(provider.list()).resolves.toEqual([]);
  });

  it('delays an answer on the service clock', async () => {
    // Prepare
    const provider = adapterFor();
    const key = await provider.issue({ label: 'k' });
    server.faults.set({ latencyMs: 5000, times: 1, match: { path: '/v1/whoami' } });
    const t0 = clock.now();
    let settled = false;
    // Act
    const verified = provider.verify(key.apiKey).finally(() => (settled = true));
    await vi.waitFor(() => expect(server.faults.list()).toEqual([]));
    await new Promise((resolve) => setImmediate(resolve));
    // Assess
    expect(settled).toBe(false);
    await clock.advance(5000);
    await expect(verified).resolves.toEqual({ principal: 'acct-1' });
    expect(server.keys()[0]?.lastUsedAt).toBe(t0 + 5000);
  });

  it.each([
    [{ outage: true }, { constructor: ProviderUnavailableError, status: undefined }],
    [{ outage: 'drop' as const }, { constructor: ProviderUnavailableError, status: undefined }],
    [{ outage: '503' as const }, { constructor: ProviderUnavailableError, status: 503 }],
    [{ status: 401 }, { constructor: ProviderAuthError, status: 401 }],
    [{ status: 404 }, { constructor: ProviderResponseError, status: 404 }],
    [{ status: 409, code: 'quota_exceeded' }, { constructor: QuotaExceededError, quota: 5 }],
    [{ status: 200 }, { constructor: ProviderResponseError, message: expect.stringMatching(/unexpected 'keys'/) }],
    [{ status: 418 }, { constructor: ProviderResponseError, status: 418 }],
  ])('surfaces the fault %j as the typed error', async (fault, expected) => {
    // Prepare
    const provider = adapterFor();
    server.faults.set({ ...fault, times: 1 });
    // Act & Assess
    await expect(provider.list()).rejects.toMatchObject(expected);
    await expect(provider.list()).resolves.toEqual([]);
  });

  it('switches faults through the admin endpoint', async () => {
    // Prepare
    const admin = server.adminKeys[0];
    // Act
    const set = await http('POST', '/_admin/faults', { token: admin, body: JSON.stringify([{ status: 502, times: 3, match: { path: '/v1/keys' } }]) });
    const during = await http('GET', '/v1/keys', { token: admin });
    const cleared = await http('DELETE', '/_admin/faults', { token: admin });
    const after = await http('GET', '/v1/keys', { token: admin });
    // Assess
    expect(set).toMatchObject({ status: 200, body: { faults: [{ status: 502, times: 3, match: { path: '/v1/keys' } }] } });
    expect(during).toMatchObject({ status: 502, body: { error: { code: 'bad_gateway' } } });
    expect(cleared.status).toBe(204);
    expect(after.status).toBe(200);
    expect(server.faults.list()).toEqual([]);
  });

  it('refuses fault changes without the admin credential or with a bad fault', async () => {
    // Act
    const anonymous = await http('POST', '/_admin/faults', { body: '{"outage":true}' });
    const bad = await http('POST', '/_admin/faults', { token: server.adminKeys[0], body: '{"status":99}' });
    // Assess
    expect(anonymous.status).toBe(401);
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', message: expect.stringMatching(/^status: /) } } });
    expect(server.faults.list()).toEqual([]);
  });

  it('keeps the fault endpoint reachable during an outage', async () => {
    // Prepare
    server.faults.set({ outage: true });
    // Act
    const cleared = await http('DELETE', '/_admin/faults', { token: server.adminKeys[0] });
    // Assess
    expect(cleared.status).toBe(204);
    await expect(adapterFor().list()).resolves.toEqual([]);
  });
});

describe('HTTP API', () => {
  beforeEach(() => start({ accounts: 2 }));

  it('answers POST /v1/keys with 201 and the key value, shown only then', async () => {
    // Prepare
    const admin = server.adminKeys[0];
    // Act
    const created = await http('POST', '/v1/keys', { token: admin, body: '{"name":"svc"}' });
    const fetched = await http('GET', `/v1/keys/${created.body?.id}`, { token: admin });
    // Assess
    expect(created).toMatchObject({
      status: 201,
      body: { id: expect.stringMatching(/^key_/), key: expect.stringMatching(/^rk_live_/), name: 'svc', status: 'active', account: 'acct-1', createdAt: new Date(clock.now()).toISOString(), lastUsedAt: null },
    });
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual({ ...created.body, key: undefined });
    expect(Object.keys(fetched.body ?? {})).not.toContain('key');
  });

  it('pages with page_size and page_token, ending with a null token', async () => {
    // Prepare
    const admin = server.adminKeys[0];
    for (const name of ['a', 'b', 'c']) await http('POST', '/v1/keys', { token: admin, body: JSON.stringify({ name }) });
    // Act
    const first = await http('GET', '/v1/keys?page_size=2', { token: admin });
    const second = await http('GET', `/v1/keys?page_size=2&page_token=${first.body?.next_page_token}`, { token: admin });
    const all = await http('GET', '/v1/keys?page_size=100', { token: admin });
    // Assess
    expect(first.body?.keys.map((k: { name: string }) => k.name)).toEqual(['a', 'b']);
    expect(second.body).toMatchObject({ keys: [{ name: 'c' }], next_page_token: null });
    expect(all.body).toMatchObject({ keys: [{ name: 'a' }, { name: 'b' }, { name: 'c' }], next_page_token: null });
  });

  it.each([
    ['GET', '/v1/keys?page_size=0', undefined, 400, 'invalid_request'],
    ['GET', '/v1/keys?page_size=101', undefined, 400, 'invalid_request'],
    ['GET', '/v1/keys?page_token=garbage', undefined, 400, 'invalid_page_token'],
    ['POST', '/v1/keys', '{"name":', 400, 'invalid_json'],
    ['POST', '/v1/keys', '{}', 400, 'invalid_request'],
    ['POST', '/v1/keys', JSON.stringify({ name: 'x'.repeat(1025) }), 400, 'invalid_request'],
    ['PUT', '/v1/keys', '{}', 405, 'method_not_allowed'],
    ['GET', '/v1/keys/key_unknown', undefined, 404, 'not_found'],
    ['DELETE', '/v1/keys/key_unknown', undefined, 404, 'not_found'],
    ['POST', '/v1/keys/key_unknown/disable', undefined, 404, 'not_found'],
    ['GET', '/v1/nothing', undefined, 404, 'not_found'],
  ])('answers %s %s with a JSON error', async (method, path, body, status, code) => {
    // Act
    const reply = await http(method, path, { token: server.adminKeys[0], body });
    // Assess
    expect(reply).toMatchObject({ status, body: { error: { code, message: expect.any(String) } } });
  });

  it('answers 401 with WWW-Authenticate without a credential', async () => {
    // Act
    const reply = await http('GET', '/v1/keys');
    // Assess
    expect(reply).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect(reply.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('answers 409 quota_exceeded with the limit', async () => {
    // Prepare
    const admin = server.adminKeys[1];
    for (let i = 0; i < 5; i++) await http('POST', '/v1/keys', { token: admin, body: '{"name":"n"}' });
    // Act
    const reply = await http('POST', '/v1/keys', { token: admin, body: '{"name":"n"}' });
    // Assess
    expect(reply).toMatchObject({ status: 409, body: { error: { code: 'quota_exceeded', limit: 5, message: expect.stringMatching(/acct-2 already holds 5 keys/) } } });
  });

  it('answers whoami 200 for an active key and 401 for an admin credential', async () => {
    // Prepare
    const created = await http('POST', '/v1/keys', { token: server.adminKeys[0], body: '{"name":"k"}' });
    // Act
    const ok = await http('GET', '/v1/whoami', { token: created.body?.key });
    const admin = await http('GET', '/v1/whoami', { token: server.adminKeys[0] });
    // Assess
    expect(ok).toMatchObject({ status: 200, body: { keyId: created.body?.id, account: 'acct-1' } });
    expect(admin).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
  });
});

describe('Method: faults.set', () => {
  it('throws naming the field when a fault is invalid', async () => {
    // Prepare
    await start();
    // Act & Assess
    expect(() => server.faults.set([{ times: 1 }, { latencyMs: -1 }])).toThrow(/fault 1: 'latencyMs' Too small/);
    expect(server.faults.list()).toEqual([]);
  });
});
