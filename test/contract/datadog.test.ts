import { describe, expect, it } from 'vitest';
import { createProvider } from '../../lambda/providers';
import { FakeClock } from '../support/fake-clock';
import { KeyStore } from './fakes/key-store';
import { type FakeReply, type FakeRequest, contractViolations, loadSpec, startOpenApiFake } from './openapi-fake';
import { describeProviderContract, mintKey, type ContractHarness } from './provider-contract';

// Datadog's spec documents 400/403/404/429 with `{"errors": [string]}`; 5xx is not documented, so the fake's 503
// follows Datadog's prose docs (same error body) and is allowed below.
const errors = (status: number, message: string, headers?: Record<string, string>): FakeReply => ({ status, headers, body: { errors: [message] } });
const iso = (ms: number) => new Date(ms).toISOString();

async function harness(): Promise<ContractHarness & { calls: () => string[] }> {
  const clock = new FakeClock();
  // What a key carries besides its name (APIKeyCreateAttributes): Remote Config and category.
  type Carried = { category?: string; remote_config_read_enabled?: boolean };
  const store = new KeyStore<Carried>(clock, 50, (n) => `${n.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`, () => mintKey('', 32, 'hex'));
  const admin = { apiKey: mintKey('', 32, 'hex'), applicationKey: mintKey('', 40, 'hex') };
  const attributes = (k: ReturnType<typeof store.add>) => ({
    name: k.name,
    created_at: iso(k.created),
    modified_at: iso(k.created),
    last4: k.value.slice(-4),
    date_last_used: k.lastUsed === null ? null : iso(k.lastUsed),
    ...k.restrictions,
  });
  // An Agent key with Remote Configuration on, made in the Datadog app.
  const agentKey = store.add('datadog-agent', { category: 'default', remote_config_read_enabled: true });
  const find = (req: FakeRequest) => store.keys.get(req.params.api_key_id ?? '');
  const fake = await startOpenApiFake({
    spec: loadSpec('datadog'),
    authenticate: (req) => {
      if (req.operationId === 'Validate') return undefined;
      const ok = req.headers['dd-api-key'] === admin.apiKey && req.headers['dd-application-key'] === admin.applicationKey;
      return ok ? undefined : errors(403, 'Forbidden');
    },
    handlers: {
      Validate: (req) => (store.use(String(req.headers['dd-api-key'])) ? { status: 200, body: { valid: true } } : errors(403, 'Forbidden')),
      CreateAPIKey: (req) => {
        if (store.full()) return errors(400, `API key limit reached: an organization may have at most ${store.quota} API keys`);
        const { name, ...carried } = (req.body as { data: { attributes: { name: string } & Carried } }).data.attributes;
        // Datadog's defaults when the request leaves them out.
        const k = store.add(name, { category: carried.category ?? 'default', remote_config_read_enabled: carried.remote_config_read_enabled ?? false });
        return { status: 201, body: { data: { type: 'api_keys', id: k.id, attributes: { ...attributes(k), key: k.value } } } };
      },
      ListAPIKeys: (req) => {
        const size = Number(req.query.get('page[size]') ?? '10');
        const { items } = store.page(Number(req.query.get('page[number]') ?? '0'), size);
        return {
          status: 200,
          body: {
            data: items.map((k) => ({ type: 'api_keys', id: k.id, attributes: attributes(k) })),
            meta: { max_allowed: store.quota, page: { total_filtered_count: store.keys.size } },
          },
        };
      },
      // The full key, value included (spec: FullAPIKey).
      GetAPIKey: (req) => {
        const k = find(req);
        return k ? { status: 200, body: { data: { type: 'api_keys', id: k.id, attributes: { ...attributes(k), key: k.value } } } } : errors(404, 'API key not found');
      },
      DeleteAPIKey: (req) => {
        const k = find(req);
        if (!k) return errors(404, 'API key not found');
        store.keys.delete(k.id);
        return { status: 204 };
      },
    },
  });
  const make = (creds: typeof admin) =>
    createProvider('datadog', { settings: { baseUrl: fake.url }, clock, adminCredential: async () => JSON.stringify(creds) });
  return {
    provider: make(admin),
    badAdmin: make({ apiKey: admin.apiKey, applicationKey: mintKey('', 40, 'hex') }),
    clock,
    // Datadog documents 429 (spec) and its rate-limit headers (prose); it sends X-RateLimit-Reset, not Retry-After.
    throttleNext: (s) => fake.failNext(errors(429, 'Too many requests', { 'x-ratelimit-reset': String(s), 'x-ratelimit-limit': '60', 'x-ratelimit-period': '60' })),
    failNext: () => fake.failNext(errors(503, 'Service Unavailable')),
    fillQuota: () => store.fill(),
    deleteOutOfBand: (id) => void store.keys.delete(id),
    // The adapter asks 100 per page (the documented maximum): 250 keys make three pages.
    seedPages: () => {
      store.quota = 1000;
      store.seed(250);
    },
    keyCount: () => store.keys.size,
    initialKeyId: agentKey.id,
    restrictions: (id) => store.keys.get(id)?.restrictions,
    violations: () => contractViolations(fake, [503]),
    calls: () => fake.calls,
    stop: () => fake.stop(),
  };
}

describeProviderContract('datadog', harness);

describe('Class: DatadogApiKeys', () => {
  it('gives a rotated key the Remote Config flag and category of the key it replaces', async () => {
    // Prepare
    const h = await harness();

    // Act
    const issued = await h.provider.issue({ label: 'keyrelay/agent/t1', replaces: h.initialKeyId });

    // Assess
    expect(h.restrictions?.(issued.keyId)).toEqual({ category: 'default', remote_config_read_enabled: true });
    expect(h.calls()).toEqual(['GetAPIKey 200', 'CreateAPIKey 201']);
    expect(h.violations()).toEqual([]);
    await h.stop();
  });
});
