import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../../core/errors';
import {
  KeyNotFoundError,
  ProviderAuthError,
  ProviderResponseError,
  ProviderUnavailableError,
  QuotaExceededError,
  ThrottledError,
} from '../../../lambda/providers/errors';
import { createProvider, PROVIDERS } from '../../../lambda/providers';
import { keySettings, resolveConfig } from '../../../lib/config';
import { settingsToTags } from '../../../core/state';
import { ProviderHttp, errorText, jsonPath, lazyCredential, paginate, parseAdminCredential } from '../../../lambda/providers/http';
import { FakeClock } from '../../support/fake-clock';
import { secretValue } from '../../support/leak-guard';

const ADMIN = secretValue('unit-admin-credential-0001');

/** A fetch answering one queued response (or throwing an error), recording the URL and headers. */
function stubFetch(reply: Response | Error) {
  const seen: Array<{ url: string; headers: Headers; body?: RequestInit['body'] }> = [];
  const fn = (async (input: string | URL | Request, init: RequestInit = {}) => {
    seen.push({ url: String(input), headers: new Headers(init.headers), body: init.body });
    if (reply instanceof Error) throw reply;
    return reply;
  }) as typeof fetch;
  return { fn, seen };
}

function http(reply: Response | Error, extra: Partial<ConstructorParameters<typeof ProviderHttp>[0]> = {}) {
  const clock = new FakeClock();
  const stub = stubFetch(reply);
  const client = new ProviderHttp({
    provider: 'unit',
    baseUrl: 'https://api.example.com/v1',
    clock,
    fetch: stub.fn,
    auth: async () => ({ authorization: `Bearer ${ADMIN}` }),
    ...extra,
  });
  return { client, clock, seen: stub.seen };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('Class: ProviderHttp', () => {
  describe('Method: request', () => {
    it('sends the admin credential, the query and a JSON body below the base URL', async () => {
      // Prepare
      const { client, seen } = http(json(200, { ok: true }));

      // Act
      const res = await client.request({ method: 'POST', path: '/keys', query: { a: 1, b: undefined }, json: { name: 'x' }, what: 'create key' });

      // Assess
      expect(res.body).toEqual({ ok: true });
      expect(seen[0]?.url).toBe('https://api.example.com/v1/keys?a=1');
      expect(seen[0]?.headers.get('authorization')).toBe(`Bearer ${ADMIN}`);
      expect(seen[0]?.headers.get('content-type')).toBe('application/json');
      expect(seen[0]?.body).toBe('{"name":"x"}');
    });

    it('form-encodes a form body', async () => {
      // Prepare
      const { client, seen } = http(json(201, {}));

      // Act
      await client.request({ method: 'POST', path: '/Keys', form: { AccountSid: 'AC1', FriendlyName: 'a b', KeyType: undefined }, what: 'create key' });

      // Assess
      expect(seen[0]?.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
      expect(seen[0]?.body).toBe('AccountSid=AC1&FriendlyName=a+b');
    });

    it('throws ThrottledError with retryAfterMs from an HTTP-date Retry-After', async () => {
      // Prepare
      const clock = new FakeClock();
      const at = new Date(clock.now() + 30_000).toUTCString();
      const { client } = http(json(429, { message: 'slow down' }, { 'retry-after': at }));

      // Act
      const err = await client.request({ method: 'GET', path: '/keys', what: 'list keys' }).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(ThrottledError);
      expect((err as ThrottledError).retryAfterMs).toBe(30_000);
      expect((err as ThrottledError).message).toMatch(/list keys: HTTP 429 \(slow down\): rate limited, retry after 30 s/);
    });

    it('uses the provider-specific wait when a 429 has no Retry-After', async () => {
      // Prepare
      const { client } = http(json(429, {}, { 'x-ratelimit-reset': '12' }), {
        retryAfterMs: (headers) => Number(headers.get('x-ratelimit-reset')) * 1000,
      });

      // Act
      const err = await client.request({ method: 'GET', path: '/keys', what: 'list keys' }).catch((e: unknown) => e);

      // Assess
      expect((err as ThrottledError).retryAfterMs).toBe(12_000);
    });

    it.each([
      [401, ProviderAuthError],
      [403, ProviderAuthError],
      [500, ProviderUnavailableError],
      [503, ProviderUnavailableError],
      [400, ProviderResponseError],
    ])('maps HTTP %i to its typed error', async (status, type) => {
      const { client } = http(json(status, { errors: [{ code: 1, message: 'nope' }] }));
      await expect(client.request({ method: 'GET', path: '/keys', what: 'list keys' })).rejects.toBeInstanceOf(type);
    });

    it('throws KeyNotFoundError naming the key on a 404 about a key', async () => {
      const { client } = http(json(404, { message: 'gone' }));
      await expect(client.request({ method: 'DELETE', path: '/keys/k1', keyId: 'k1', what: 'delete key' })).rejects.toThrow(KeyNotFoundError);
      const { client: other } = http(json(404, { message: 'gone' }));
      await expect(other.request({ method: 'GET', path: '/nowhere', what: 'list keys' })).rejects.toThrow(/check the provider settings/);
    });

    it('throws QuotaExceededError when a 4xx names a limit, or the provider says so', async () => {
      // Prepare
      const { client } = http(json(400, { errors: ['API key limit reached'] }), { quota: 50 });
      const { client: coded } = http(json(400, { code: 70151, message: 'x' }), { isQuotaError: (_s, b) => (b as { code: number }).code === 70151 });

      // Act
      const err = await client.request({ method: 'POST', path: '/keys', what: 'create key' }).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(QuotaExceededError);
      expect((err as QuotaExceededError).quota).toBe(50);
      await expect(coded.request({ method: 'POST', path: '/keys', what: 'create key' })).rejects.toBeInstanceOf(QuotaExceededError);
    });

    it('does not take a bad parameter limit for the key quota', async () => {
      const { client } = http(json(400, { errors: [{ field: 'limit', message: 'limit must be between 1 and 100' }] }));
      await expect(client.request({ method: 'GET', path: '/keys', what: 'list keys' })).rejects.toBeInstanceOf(ProviderResponseError);
    });

    it('throws ProviderUnavailableError when the connection fails or times out', async () => {
      const { client } = http(Object.assign(new TypeError('fetch failed'), { cause: new Error('ECONNREFUSED') }));
      await expect(client.request({ method: 'GET', path: '/keys', what: 'list keys' })).rejects.toBeInstanceOf(ProviderUnavailableError);
      const { client: slow } = http(new DOMException('timed out', 'TimeoutError'));
      await expect(slow.request({ method: 'GET', path: '/keys', what: 'list keys' })).rejects.toThrow(/no answer from https:\/\/api.example.com \(TimeoutError\)/);
    });

    it('refuses to send the admin credential to another origin named by a next link', async () => {
      // Prepare
      const { client, seen } = http(json(200, {}));

      // Act
      const following = client.request({ method: 'GET', path: 'https://evil.example.net/keys?page=2', what: 'list keys' });

      // Assess
      await expect(following).rejects.toThrow(/refusing to follow a link to https:\/\/evil.example.net/);
      expect(seen).toHaveLength(0);
    });

    it('accepts a listed non-2xx status as an answer', async () => {
      const { client } = http(json(403, { error: { code: 'permission_error', message: 'no' } }));
      await expect(client.request({ method: 'GET', path: '/account', accept: [403], what: 'verify key' })).resolves.toMatchObject({ status: 403 });
    });
  });
});

describe('Function: paginate', () => {
  it('follows every page until there is no cursor', async () => {
    const pages: Record<string, { items: number[]; next?: string }> = { '': { items: [1, 2], next: 'b' }, b: { items: [3], next: 'c' }, c: { items: [4] } };
    await expect(paginate<number, string>('unit', async (c) => pages[c ?? '']!)).resolves.toEqual([1, 2, 3, 4]);
  });

  it('throws when the provider hands back the same cursor twice', async () => {
    await expect(paginate<number, string>('unit', async () => ({ items: [1], next: 'same' }))).rejects.toThrow(/cursor "same" twice/);
  });
});

describe('Function: parseAdminCredential', () => {
  it('throws a ConfigError naming the field, never quoting the secret', () => {
    // Prepare
    const text = JSON.stringify({ apiToken: 42, other: ADMIN });

    // Act
    const parsing = () => parseAdminCredential('unit', text, z.object({ apiToken: z.string() }), '{"apiToken": "..."}');

    // Assess
    expect(parsing).toThrow(ConfigError);
    expect(parsing).toThrow(/at 'apiToken'.*expected \{"apiToken"/);
    expect(() => parseAdminCredential('unit', `{${ADMIN}`, z.object({}), '{}')).not.toThrow(new RegExp(ADMIN));
  });

  it('re-reads the credential after a failed read', async () => {
    // Prepare
    let reads = 0;
    const read = lazyCredential(async () => {
      if (++reads === 1) throw new Error('throttled');
      return '{"a":"b"}';
    }, (t) => JSON.parse(t) as { a: string });

    // Act
    const first = await read().catch((e: unknown) => e);
    const second = await read();
    await read();

    // Assess
    expect(first).toBeInstanceOf(Error);
    expect(second).toEqual({ a: 'b' });
    expect(reads).toBe(2);
  });
});

describe('Function: errorText', () => {
  it.each([
    [{ errors: [{ code: 1003, message: 'Invalid token' }] }, '1003: Invalid token'],
    [{ errors: ['Forbidden'] }, 'Forbidden'],
    [{ error: { code: 'api_key_expired', message: 'expired' } }, 'api_key_expired: expired'],
    [{ code: 20404, message: 'not found' }, '20404: not found'],
    ['plain', undefined],
  ])('reads %j', (body, text) => {
    expect(errorText(body)).toBe(text);
  });
});

describe('Function: jsonPath', () => {
  it('reads dot paths and array indexes', () => {
    expect(jsonPath({ data: { items: [{ id: 'a' }] } }, 'data.items.0.id')).toBe('a');
    expect(jsonPath({ a: 1 }, 'a.b')).toBeUndefined();
    expect(jsonPath([1], '')).toEqual([1]);
  });
});

describe('Registry: PROVIDERS', () => {
  it.each([
    ['cloudflare', { accountId: 'a'.repeat(32), templateTokenId: 'abc123' }],
    ['datadog', { site: 'datadoghq.eu' }],
    ['sendgrid', { scopes: 'mail.send alerts.read', region: 'eu' }],
    ['openai', { projectId: 'proj_1', serviceAccountId: 'svc_1' }],
    ['twilio', { accountSid: `AC${'0'.repeat(32)}` }],
    ['stripe', { mode: 'test', sourceKeyId: 'ak_1', expireCurrentKeyInMinutes: '1440' }],
    ['generic-http', { baseUrl: 'https://k.example.com', createPath: '/k', listPath: '/k', deletePath: '/k/:id', verifyPath: '/me' }],
  ])('accepts settings for %s that fit AWS tag values', (type, settings) => {
    // Assess: every value uses only the characters AWS allows in tag values, and the schema accepts it
    for (const value of Object.values(settings)) expect(value).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u);
    expect(PROVIDERS[type]?.settings.safeParse(settings).success).toBe(true);
    expect(PROVIDERS[type]?.needsAdminSecret).toBe(true);
  });

  it('rejects unknown settings, so a typo fails at synth', () => {
    expect(PROVIDERS.datadog?.settings.safeParse({ sit: 'datadoghq.eu' }).success).toBe(false);
  });

  it.each(['constructor', 'toString', '__proto__'])("throws ConfigError naming the known types for type '%s' (an Object.prototype name)", (type) => {
    // Act
    const creating = () => createProvider(type, { settings: {}, adminCredential: async () => '{}', clock: new FakeClock() });

    // Assess
    expect(creating).toThrow(ConfigError);
    expect(creating).toThrow(/known types: aws-iam, cloudflare/);
  });
});

describe('Config: keyrelay.config.json', () => {
  it('selects each adapter by type and carries its settings as valid secret tags', () => {
    // Prepare
    const config = {
      keys: {
        'cdn/cloudflare': { provider: { type: 'cloudflare', accountId: 'a'.repeat(32), templateTokenId: 'abc' }, adminSecret: 'admin/cf' },
        'obs/datadog': { provider: { type: 'datadog', site: 'datadoghq.eu' }, adminSecret: 'admin/dd' },
        'mail/sendgrid': { provider: { type: 'sendgrid', templateKeyId: 'k1' }, adminSecret: 'admin/sg' },
        'ai/openai': { provider: { type: 'openai', projectId: 'proj_1', serviceAccountId: 'svc_1' }, adminSecret: 'admin/oa' },
        'sms/twilio': { provider: { type: 'twilio', accountSid: `AC${'0'.repeat(32)}` }, adminSecret: 'admin/tw' },
        'pay/stripe': { provider: { type: 'stripe', mode: 'test', sourceKeyId: 'ak_1' }, adminSecret: 'admin/st' },
        'inhouse/keys': {
          provider: { type: 'generic-http', baseUrl: 'https://k.example.com', createPath: '/k', listPath: '/k', deletePath: '/k/:id', verifyPath: '/me' },
          adminSecret: 'admin/in',
        },
      },
    };

    // Act
    const resolved = resolveConfig(config);

    // Assess
    expect(resolved.keys.map((k) => k.provider).sort()).toEqual(['cloudflare', 'datadog', 'generic-http', 'openai', 'sendgrid', 'stripe', 'twilio']);
    for (const key of resolved.keys) expect(() => settingsToTags(keySettings(key))).not.toThrow();
  });

  it('fails when an adapter that needs an admin credential has no adminSecret', () => {
    expect(() => resolveConfig({ keys: { 'obs/datadog': { provider: { type: 'datadog' } } } })).toThrow(/adminSecret is required for provider 'datadog'/);
  });
});
