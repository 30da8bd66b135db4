import { createProvider } from '../../lambda/providers';
import { FakeClock } from '../support/fake-clock';
import { KeyStore } from './fakes/key-store';
import { type FakeReply, type FakeRequest, contractViolations, loadSpec, startOpenApiFake } from './openapi-fake';
import { describeProviderContract, mintKey, type ContractHarness } from './provider-contract';

// Datadog's spec documents 400/403/404/429 with `{"errors": [string]}`; 5xx is not documented, so the fake's 503
// follows Datadog's prose docs (same error body) and is allowed below.
const errors = (status: number, message: string, headers?: Record<string, string>): FakeReply => ({ status, headers, body: { errors: [message] } });
const iso = (ms: number) => new Date(ms).toISOString();

async function harness(): Promise<ContractHarness> {
  const clock = new FakeClock();
  const store = new KeyStore(clock, 50, (n) => `${n.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`, () => mintKey('', 32, 'hex'));
  const admin = { apiKey: mintKey('', 32, 'hex'), applicationKey: mintKey('', 40, 'hex') };
  const attributes = (k: ReturnType<typeof store.add>) => ({
    name: k.name,
    created_at: iso(k.created),
    modified_at: iso(k.created),
    last4: k.value.slice(-4),
    date_last_used: k.lastUsed === null ? null : iso(k.lastUsed),
  });
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
        const k = store.add((req.body as { data: { attributes: { name: string } } }).data.attributes.name);
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
    violations: () => contractViolations(fake, [503]),
    stop: () => fake.stop(),
  };
}

describeProviderContract('datadog', harness);
