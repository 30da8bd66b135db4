import type { Document } from 'openapi-backend';
import { describe, expect, it } from 'vitest';
import { ProviderResponseError, createProvider } from '../../lambda/providers';
import { FakeClock } from '../support/fake-clock';
import { sealJwe } from './fakes/jwe';
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

interface StripeHarness extends ContractHarness {
  requests: string[];
  failNaming: () => void;
  /** The value the fake holds for a key (what a decrypted secret must equal). */
  valueOf: (keyId: string) => string | undefined;
  /** The next rotate answers with this JWE instead of a good one. */
  sealNext: (ciphertext: string) => void;
  /** An adapter on the same fake with this admin secret JSON. */
  withAdmin: (admin: string) => ReturnType<typeof createProvider>;
}

async function harness(mode: 'test' | 'live' = 'test'): Promise<StripeHarness> {
  const clock = new FakeClock();
  const store = new KeyStore<StripeState>(clock, 1000, (n) => `ak_${mode}_${n.toString().padStart(12, '0')}`, () => mintKey(`sk_${mode}_`, 99, 'hex'));
  const app = { appSecretKey: mintKey(`sk_${mode}_`, 99, 'hex'), accountId: 'acct_1KeyrelayContract' };
  const requests: string[] = [];
  const permissions = ['rak_charge_read', 'rak_customer_write'];
  let sealed: string | undefined;
  const alive = (k: ReturnType<typeof store.add>) => k.restrictions?.expiresAt === null || (k.restrictions?.expiresAt ?? 0) > clock.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const apiKey = (k: ReturnType<typeof store.add>, secret?: { token: string | null; encrypted: { ciphertext: string; format: string; recipient_key_id?: string } | null }) => ({
    object: 'v2.iam.api_key',
    id: k.id,
    type: 'secret_key',
    status: alive(k) ? 'active' : 'expired',
    livemode: mode === 'live',
    created: iso(k.created),
    ip_allowlist: [],
    name: k.name === '' ? null : k.name,
    note: null,
    managed_by: null,
    expires_at: k.restrictions?.expiresAt ? iso(k.restrictions.expiresAt) : null,
    last_used: k.lastUsed === null ? null : iso(k.lastUsed),
    secret_key: { encrypted_secret: secret?.encrypted ?? null, secret_token_redacted: `sk_${mode}_…${k.value.slice(-4)}`, token: secret?.token ?? null },
  });
  const find = (req: FakeRequest) => store.keys.get(req.params.id ?? '');
  const fake = await startOpenApiFake({
    spec: stripeSpec(),
    // Stripe's preview spec: every operation documents api_key_direct_operation_not_supported ("thrown when a
    // request is made on a direct account") and every sample sets Stripe-Context: only an app acting on an account
    // through that header may manage its keys. An account's own key is recognized, then refused the same way.
    authenticate: (req) => {
      const context = req.headers['stripe-context'];
      requests.push(`${req.operationId} ${String(req.headers['stripe-version'] ?? '-')} context=${String(context ?? '-')}`);
      const key = bearer(req.headers.authorization);
      if (key === app.appSecretKey) {
        return context === app.accountId ? undefined : error(400, 'api_key_direct_operation_not_supported', 'This operation is not supported on a direct account');
      }
      const own = [...store.keys.values()].find((x) => x.value === key && alive(x));
      if (!own) return error(401, 'api_key_invalid', 'Invalid API Key provided');
      own.lastUsed = clock.now();
      return error(400, 'api_key_direct_operation_not_supported', 'This operation is not supported on a direct account');
    },
    handlers: {
      PostV2IamApiKeysIdRotate: (req) => {
        const k = find(req);
        if (!k) return error(404, 'resource_missing', `No such api_key: '${req.params.id}'`);
        if (!alive(k)) return error(400, 'api_key_expired', 'The API key has expired');
        if (k.restrictions?.rotated) return error(400, 'api_key_already_rotated', 'The API key has already been rotated');
        const body = req.body as { expire_current_key_in_minutes?: number; public_key?: { id?: string; pem_key?: { algorithm: string; data: string } } };
        // The spec: "A public key is required when rotating secret keys."
        if (!body.public_key?.pem_key) return error(400, 'parameter_missing', 'A public key is required when rotating secret keys');
        if (store.full()) return error(400, 'api_key_limit_reached', 'You have reached the limit of API keys');
        // Without expire_current_key_in_minutes the old key dies at once (fixtures README, stripe surprise 2).
        k.restrictions = { permissions: k.restrictions?.permissions ?? [], rotated: true, expiresAt: clock.now() + (body.expire_current_key_in_minutes ?? 0) * 60_000 };
        const fresh = store.add('', { permissions: k.restrictions.permissions, expiresAt: null, rotated: false });
        const ciphertext = sealed ?? sealJwe(fresh.value, body.public_key.pem_key.data);
        sealed = undefined;
        const encrypted = { ciphertext, format: 'jwe_compact', ...(body.public_key.id ? { recipient_key_id: body.public_key.id } : {}) };
        // Testmode answers the plaintext token as well; livemode only the encrypted secret.
        return { status: 200, body: apiKey(fresh, { token: mode === 'test' ? fresh.value : null, encrypted }) };
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
  });
  const withAdmin = (admin: string) => createProvider('stripe', { settings: { mode, baseUrl: fake.url }, clock, adminCredential: async () => admin });
  const make = (appSecretKey: string) => withAdmin(JSON.stringify({ appSecretKey, accountId: app.accountId }));
  return {
    provider: make(app.appSecretKey),
    badAdmin: make(mintKey(`sk_${mode}_`, 99, 'hex')),
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
    valueOf: (id) => store.keys.get(id)?.value,
    sealNext: (ciphertext) => {
      sealed = ciphertext;
    },
    withAdmin,
    stop: () => fake.stop(),
  };
}

describeProviderContract('stripe (preview, app acting through Stripe-Context)', () => harness('test'));

describe('Class: StripeApiKeys', () => {
  it('rotates with the configured expiry, a public key and Stripe-Context on every admin call, and verifies the new key alone', async () => {
    // Prepare
    const h = await harness();
    const source = h.initialKeyId ?? '';

    // Act
    const issued = await h.provider.issue({ label: 'keyrelay/app/t1', replaces: source });
    await h.provider.verify(issued.apiKey);
    const listed = await h.provider.list();

    // Assess
    expect(h.requests).toEqual([
      'PostV2IamApiKeysIdRotate 2026-09-30.preview context=acct_1KeyrelayContract',
      'PostV2IamApiKeysId 2026-09-30.preview context=acct_1KeyrelayContract',
      'GetV2IamApiKeys 2026-09-30.preview context=-',
      'GetV2IamApiKeys 2026-09-30.preview context=acct_1KeyrelayContract',
    ]);
    expect(listed.find((k) => k.keyId === source)?.status).toBe('active');
    await h.clock.advance(10_080 * 60_000);
    expect((await h.provider.list()).some((k) => k.keyId === source)).toBe(false);
    expect((await h.provider.list()).some((k) => k.keyId === issued.keyId)).toBe(true);
    expect(h.violations()).toEqual([]);
    await h.stop();
  });

  it('opens a livemode encrypted_secret (compact JWE, RSA-OAEP-256 + A256GCM) with the one-use private key', async () => {
    // Prepare: livemode answers no token, only the secret sealed to the public key the rotate sent.
    const h = await harness('live');

    // Act
    const issued = await h.provider.issue({ label: 'keyrelay/app/t1', replaces: h.initialKeyId });

    // Assess
    expect(issued.apiKey).toBe(h.valueOf(issued.keyId));
    await expect(h.provider.verify(issued.apiKey)).resolves.toEqual({});
    expect(h.violations()).toEqual([]);
    await h.stop();
  });

  it.each([
    ['a tampered token', (jwe: string) => `${jwe.slice(0, -4)}AAAA`, /did not decrypt with the key it was sent to/],
    ['another algorithm', () => `${Buffer.from('{"alg":"RSA1_5","enc":"A128CBC-HS256"}').toString('base64url')}.a.b.c.d`, /alg 'RSA1_5' \/ enc 'A128CBC-HS256' is not supported/],
  ])('refuses %s in encrypted_secret without quoting it', async (_what, forge, message) => {
    // Prepare
    const h = await harness('live');
    const { generateKeyPairSync } = await import('node:crypto');
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    h.sealNext(forge(sealJwe(mintKey('sk_live_', 99, 'hex'), stranger)));

    // Act
    const issuing = h.provider.issue({ label: 'keyrelay/app/t1', replaces: h.initialKeyId });

    // Assess
    await expect(issuing).rejects.toBeInstanceOf(ProviderResponseError);
    await expect(issuing).rejects.toThrow(message);
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

  it("refuses an account's own key as the admin credential before calling Stripe, naming the app credential it needs", async () => {
    // Prepare: the shape of the old admin secret, a direct account's key.
    const h = await harness();
    const provider = h.withAdmin(JSON.stringify({ secretKey: mintKey('sk_test_', 99, 'hex') }));

    // Act
    const issuing = provider.issue({ label: 'keyrelay/app/t1', replaces: 'ak_1' });

    // Assess
    await expect(issuing).rejects.toThrow(/admin secret is invalid at 'appSecretKey'.*expected \{"appSecretKey": .*"accountId": "acct_/);
    expect(h.requests).toEqual([]);
    await h.stop();
  });

  it('refuses an app key whose mode differs from provider.mode', async () => {
    // Prepare
    const h = await harness('test');
    const provider = h.withAdmin(JSON.stringify({ appSecretKey: mintKey('sk_live_', 99, 'hex'), accountId: 'acct_1KeyrelayContract' }));

    // Act
    const listing = provider.list();

    // Assess
    await expect(listing).rejects.toThrow("the admin secret's appSecretKey is not a testmode key, as provider.mode 'test' requires");
    await h.stop();
  });
});
