import type { Document } from 'openapi-backend';
import { describe, expect, it } from 'vitest';
import { createProvider } from '../../lambda/providers';
import { FakeClock } from '../support/fake-clock';
import { KeyStore, bearer } from './fakes/key-store';
import { type FakeReply, type FakeRequest, contractViolations, loadSpec, startOpenApiFake } from './openapi-fake';
import { describeProviderContract, mintKey, type ContractHarness } from './provider-contract';

/**
 * stripe.json with its two documented flaws worked around (fixtures README, stripe surprises 4 and 5):
 * - Stripe returns `null` for `expires_at`, `last_used`, `name`, `note`, `managed_by`, `encrypted_secret`, `token` and
 *   `secret_token_redacted` (its own examples do) although the schema marks none nullable: mark them nullable.
 * - Error responses are `oneOf[specific v2.error.*, generic v2.error]`; a specific error also matches the generic one,
 *   so `oneOf` always fails: validate against `v2.error` alone.
 * - Not in the README: the list pages through `next_page_url` (surprise 6), whose `page` token parameter the
 *   operation does not declare; declare it (optional string) so following a next link validates.
 */
function stripeSpec(): Document {
  const spec = loadSpec('stripe') as unknown as {
    components: { schemas: Record<string, { properties?: Record<string, { nullable?: boolean; properties?: Record<string, { nullable?: boolean }> }> }> };
    paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
  };
  const key = spec.components.schemas['v2.iam.api_key']?.properties ?? {};
  for (const name of ['expires_at', 'last_used', 'name', 'note', 'managed_by']) if (key[name]) key[name].nullable = true;
  const secret = key.secret_key?.properties ?? {};
  for (const name of ['encrypted_secret', 'token', 'secret_token_redacted']) if (secret[name]) secret[name].nullable = true;
  const list = spec.paths['/v2/iam/api_keys']?.get as unknown as { parameters: unknown[] };
  list.parameters.push({ name: 'page', in: 'query', required: false, schema: { type: 'string' } });
  for (const item of Object.values(spec.paths)) {
    for (const op of Object.values(item)) {
      const json = op.responses?.default?.content?.['application/json'];
      if (json) json.schema = { $ref: '#/components/schemas/v2.error' };
    }
  }
  return spec as unknown as Document;
}

const error = (status: number, code: string, message: string, headers?: Record<string, string>): FakeReply => ({
  status,
  headers,
  body: { error: { code, message, type: status === 429 ? 'rate_limit_error' : 'invalid_request_error' } },
});

interface StripeState {
  permissions: string[];
  expiresAt: number | null;
  rotated: boolean;
}

async function harness(): Promise<ContractHarness & { requests: string[]; failNaming: () => void }> {
  const clock = new FakeClock();
  const store = new KeyStore<StripeState>(clock, 1000, (n) => `ak_test_${n.toString().padStart(12, '0')}`, () => mintKey('sk_test_', 99));
  const adminKey = mintKey('sk_test_', 99);
  const requests: string[] = [];
  const permissions = ['rak_charge_read', 'rak_customer_write'];
  const alive = (k: ReturnType<typeof store.add>) => k.restrictions?.expiresAt === null || (k.restrictions?.expiresAt ?? 0) > clock.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const apiKey = (k: ReturnType<typeof store.add>, withSecret = false) => ({
    object: 'v2.iam.api_key',
    id: k.id,
    type: 'secret_key',
    status: alive(k) ? 'active' : 'expired',
    livemode: false,
    created: iso(k.created),
    ip_allowlist: [],
    name: k.name === '' ? null : k.name,
    note: null,
    managed_by: null,
    expires_at: k.restrictions?.expiresAt ? iso(k.restrictions.expiresAt) : null,
    last_used: k.lastUsed === null ? null : iso(k.lastUsed),
    secret_key: { encrypted_secret: null, secret_token_redacted: `sk_test_…${k.value.slice(-4)}`, token: withSecret ? k.value : null },
  });
  const find = (req: FakeRequest) => store.keys.get(req.params.id ?? '');
  const fake = await startOpenApiFake({
    spec: stripeSpec(),
    authenticate: (req) => {
      requests.push(`${req.operationId} ${String(req.headers['stripe-version'] ?? '-')}`);
      if (req.operationId === 'GET /v1/account') return undefined;
      return bearer(req.headers.authorization) === adminKey ? undefined : error(401, 'api_key_invalid', 'Invalid API Key provided');
    },
    handlers: {
      PostV2IamApiKeysIdRotate: (req) => {
        const k = find(req);
        if (!k) return error(404, 'resource_missing', `No such api_key: '${req.params.id}'`);
        if (!alive(k)) return error(400, 'api_key_expired', 'The API key has expired');
        if (k.restrictions?.rotated) return error(400, 'api_key_already_rotated', 'The API key has already been rotated');
        if (store.full()) return error(400, 'api_key_limit_reached', 'You have reached the limit of API keys');
        const minutes = (req.body as { expire_current_key_in_minutes?: number }).expire_current_key_in_minutes;
        // Without expire_current_key_in_minutes the old key dies at once (fixtures README, stripe surprise 2).
        k.restrictions = { permissions: k.restrictions?.permissions ?? [], rotated: true, expiresAt: clock.now() + (minutes ?? 0) * 60_000 };
        const fresh = store.add('', { permissions: k.restrictions.permissions, expiresAt: null, rotated: false });
        return { status: 200, body: apiKey(fresh, true) };
      },
      PostV2IamApiKeysId: (req) => {
        const k = find(req);
        if (!k) return error(404, 'resource_missing', `No such api_key: '${req.params.id}'`);
        k.name = (req.body as { name?: string }).name ?? k.name;
        return { status: 200, body: apiKey(k) };
      },
      PostV2IamApiKeysIdExpire: (req) => {
        const k = find(req);
        if (!k) return error(404, 'resource_missing', `No such api_key: '${req.params.id}'`);
        if (!alive(k)) return error(400, 'api_key_expired', 'The API key has expired');
        k.restrictions = { ...(k.restrictions as StripeState), expiresAt: clock.now() };
        return { status: 200, body: apiKey(k) };
      },
      GetV2IamApiKeys: (req) => {
        const page = Number(req.query.get('page') ?? '0');
        const { items, more } = store.page(page, 5);
        return { status: 200, body: { data: items.map((k) => apiKey(k)), next_page_url: more ? `/v2/iam/api_keys?limit=100&page=${page + 1}` : null, previous_page_url: null } };
      },
    },
    // Not in the preview spec: GET /v1/account (Stripe API reference): 401 for an unknown or expired key; a
    // restricted key without the account permission gets 403 after authenticating.
    extraRoutes: {
      'GET /v1/account': (req) => {
        const k = [...store.keys.values()].find((x) => x.value === bearer(req.headers.authorization) && alive(x));
        if (!k) return error(401, 'api_key_invalid', 'Invalid API Key provided');
        k.lastUsed = clock.now();
        return error(403, 'permission_error', 'This API key does not have the rak_account_read permission');
      },
    },
  });
  const make = (secretKey: string) =>
    createProvider('stripe', { settings: { baseUrl: fake.url }, clock, adminCredential: async () => JSON.stringify({ secretKey }) });
  return {
    provider: make(adminKey),
    badAdmin: make(mintKey('sk_test_', 99)),
    clock,
    // Stripe's prose docs: 429 `rate_limit` errors; the fake adds Retry-After to exercise the shared throttling path.
    throttleNext: (s) => fake.failNext(error(429, 'rate_limit', 'Too many requests hit the API too quickly', { 'retry-after': String(s) })),
    failNext: () => fake.failNext(error(500, 'api_error', 'Something went wrong on Stripe’s end')),
    fillQuota: () => store.fill(),
    // "Deleted" for Stripe is expired: expired keys cannot come back.
    deleteOutOfBand: (id) => {
      const k = store.keys.get(id);
      if (k?.restrictions) k.restrictions.expiresAt = clock.now();
    },
    seedPages: () => store.seed(12, { permissions, expiresAt: null, rotated: false }),
    keyCount: () => [...store.keys.values()].filter(alive).length,
    // Each rotation consumes its source (a key rotates once): every first issue starts from a fresh key.
    get initialKeyId() {
      return store.add('source', { permissions, expiresAt: null, rotated: false }).id;
    },
    restrictions: (id) => store.keys.get(id)?.restrictions?.permissions,
    violations: () => contractViolations(fake),
    requests,
    failNaming: () => fake.failNext(error(500, 'api_error', 'Something went wrong on Stripe’s end'), 1, 'PostV2IamApiKeysId'),
    stop: () => fake.stop(),
  };
}

describeProviderContract('stripe (preview)', harness);

describe('Class: StripeApiKeys', () => {
  it('rotates with the configured expiry and sends the preview Stripe-Version', async () => {
    // Prepare
    const h = await harness();
    const source = h.initialKeyId ?? '';

    // Act
    const issued = await h.provider.issue({ label: 'keyrelay/app/t1', replaces: source });
    const listed = await h.provider.list();

    // Assess
    expect(h.requests).toContain('PostV2IamApiKeysIdRotate 2026-09-30.preview');
    expect(listed.find((k) => k.keyId === source)?.status).toBe('active');
    await h.clock.advance(10_080 * 60_000);
    expect((await h.provider.list()).some((k) => k.keyId === source)).toBe(false);
    expect((await h.provider.list()).some((k) => k.keyId === issued.keyId)).toBe(true);
    expect(h.violations()).toEqual([]);
    await h.stop();
  });

  it('hands over a rotated key even when naming it fails, since the source cannot be rotated again', async () => {
    // Prepare
    const h = await harness();
    const source = h.initialKeyId ?? '';
    h.failNaming();

    // Act
    const issued = await h.provider.issue({ label: 'keyrelay/app/t1', replaces: source });

    // Assess
    expect(issued.attributes).toEqual({ label: 'unset' });
    expect(h.requests.filter((r) => r.startsWith('PostV2IamApiKeysId '))).toHaveLength(1);
    await expect(h.provider.verify(issued.apiKey)).resolves.toEqual({});
    await h.stop();
  });

  it('refuses a livemode admin key before calling Stripe', async () => {
    // Prepare
    const provider = createProvider('stripe', { settings: {}, clock: new FakeClock(), adminCredential: async () => JSON.stringify({ secretKey: 'sk_live_x' }) });

    // Act
    const issuing = provider.issue({ label: 'keyrelay/app/t1', replaces: 'ak_1' });

    // Assess
    await expect(issuing).rejects.toThrow(/only testmode/);
  });
});
