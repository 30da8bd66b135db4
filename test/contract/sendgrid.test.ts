import { describe, expect, it } from 'vitest';
import { createProvider } from '../../lambda/providers';
import { FakeClock } from '../support/fake-clock';
import { KeyStore, bearer } from './fakes/key-store';
import { type FakeReply, type FakeRequest, contractViolations, loadSpec, startOpenApiFake } from './openapi-fake';
import { describeProviderContract, mintKey, type ContractHarness } from './provider-contract';

// SendGrid's error body (spec ErrorResponse): {"errors": [{"field", "message"}]}.
const errors = (status: number, message: string, headers?: Record<string, string>): FakeReply => ({
  status,
  headers,
  body: { errors: [{ field: null, message }] },
});

async function harness(settings: Record<string, string> = {}): Promise<ContractHarness & { requests: string[] }> {
  const clock = new FakeClock();
  // SendGrid keys are 69 characters: "SG." + 22 + "." + 43.
  const store = new KeyStore<string[]>(clock, 100, (n) => `k${n.toString().padStart(21, '0')}`, () => mintKey('SG.', 66));
  const adminKey = mintKey('SG.', 66);
  const template = store.add('template', ['mail.send', 'alerts.read']);
  const requests: string[] = [];
  const find = (req: FakeRequest) => store.keys.get(req.params.api_key_id ?? '');
  const fake = await startOpenApiFake({
    spec: loadSpec('sendgrid'),
    authenticate: (req) => {
      requests.push(`${req.operationId} on-behalf-of=${String(req.headers['on-behalf-of'] ?? '')}`);
      if (req.operationId === 'GET /v3/scopes') return undefined;
      return bearer(req.headers.authorization) === adminKey ? undefined : errors(401, 'authorization required');
    },
    handlers: {
      CreateApiKey: (req) => {
        if (store.full()) return errors(400, `cannot exceed the limit of ${store.quota} API keys per account`);
        const { name, scopes } = req.body as { name: string; scopes?: string[] };
        const k = store.add(name, scopes);
        return { status: 201, body: { api_key: k.value, api_key_id: k.id, name: k.name, scopes: k.restrictions } };
      },
      ListApiKey: (req) => {
        const limit = Number(req.query.get('limit') ?? '50');
        return { status: 200, body: { result: [...store.keys.values()].slice(0, limit).map((k) => ({ api_key_id: k.id, name: k.name })) } };
      },
      GetApiKey: (req) => {
        const k = find(req);
        return k ? { status: 200, body: { result: [{ api_key_id: k.id, name: k.name, scopes: k.restrictions }] } } : errors(404, 'unable to find API Key');
      },
      DeleteApiKey: (req) => {
        const k = find(req);
        if (!k) return errors(404, 'unable to find API Key to delete');
        store.keys.delete(k.id);
        return { status: 204 };
      },
    },
    // Not in the key-management spec: GET /v3/scopes ("retrieve a list of scopes for which this user has access",
    // SendGrid's prose API reference) answers a valid key's scopes and 401 otherwise.
    extraRoutes: {
      'GET /v3/scopes': (req) => {
        const k = store.use(bearer(req.headers.authorization));
        return k ? { status: 200, body: { scopes: k.restrictions } } : errors(401, 'authorization required');
      },
    },
  });
  const make = (apiKey: string) =>
    createProvider('sendgrid', { settings: { baseUrl: fake.url, ...settings }, clock, adminCredential: async () => JSON.stringify({ apiKey }) });
  return {
    provider: make(adminKey),
    badAdmin: make(mintKey('SG.', 66)),
    clock,
    // 429 is not in the spec; SendGrid's prose docs: 429 "too many requests" with X-RateLimit-Reset as epoch seconds.
    throttleNext: (s) =>
      fake.failNext(errors(429, 'too many requests', { 'x-ratelimit-reset': String(Math.floor(clock.now() / 1000) + s), 'x-ratelimit-limit': '600' })),
    failNext: () => fake.failNext(errors(500, 'internal server error')),
    fillQuota: () => store.fill(),
    deleteOutOfBand: (id) => void store.keys.delete(id),
    // SendGrid lists have no pagination: a few extra keys show the single call returns them all.
    seedPages: () => store.seed(12, ['mail.send']),
    keyCount: () => store.keys.size,
    initialKeyId: template.id,
    restrictions: (id) => store.keys.get(id)?.restrictions,
    violations: () => contractViolations(fake, [429]),
    requests,
    stop: () => fake.stop(),
  };
}

describeProviderContract('sendgrid', () => harness());

describe('Class: SendGridApiKeys', () => {
  it('gives new keys the configured scopes, and sends on-behalf-of for a subuser', async () => {
    // Prepare
    const h = await harness({ scopes: 'mail.send', onBehalfOf: 'subuser-1' });

    // Act
    const issued = await h.provider.issue({ label: 'keyrelay/app/t1', replaces: h.initialKeyId });

    // Assess
    expect(h.restrictions?.(issued.keyId)).toEqual(['mail.send']);
    expect(h.requests).toContain('CreateApiKey on-behalf-of=subuser-1');
    expect(h.violations()).toEqual([]);
    await h.stop();
  });
});
