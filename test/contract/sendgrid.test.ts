import { describe, expect, it } from 'vitest';
import { ProviderAuthError, QuotaExceededError, createProvider } from '../../lambda/providers';
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

/**
 * Scopes SendGrid gives every key itself (kenzo0107/terraform-provider-sendgrid#118). SendGrid documents no answer
 * to a create request that names them; the fake takes the strictest reading and refuses them (400).
 */
const SELF_ASSIGNED = ['2fa_required', 'sender_verification_eligible'];

async function harness(
  settings: Record<string, string> = {},
): Promise<ContractHarness & { requests: string[]; denyCreate: () => void }> {
  const clock = new FakeClock();
  // SendGrid keys are 69 characters: "SG." + 22 + "." + 43.
  const store = new KeyStore<string[]>(clock, 100, (n) => `k${n.toString().padStart(21, '0')}`, () => mintKey('SG.', 66));
  const adminKey = mintKey('SG.', 66);
  // Made in the SendGrid app, it holds what SendGrid assigned on top of the chosen scopes.
  const template = store.add('template', ['mail.send', 'alerts.read', ...SELF_ASSIGNED]);
  const requests: string[] = [];
  let createDenied = false;
  const find = (req: FakeRequest) => store.keys.get(req.params.api_key_id ?? '');
  const fake = await startOpenApiFake({
    spec: loadSpec('sendgrid'),
    authenticate: (req) => {
      requests.push(`${req.operationId} on-behalf-of=${String(req.headers['on-behalf-of'] ?? '')}`);
      if (req.operationId === 'ListScope') return undefined;
      return bearer(req.headers.authorization) === adminKey ? undefined : errors(401, 'authorization required');
    },
    handlers: {
      CreateApiKey: (req) => {
        // The spec: create answers 403 once the account holds 100 keys (its wording
        // is not documented: a neutral one here, so the adapter cannot lean on it). The same 403 answers an admin
        // key without the API Keys permission.
        if (store.full() || createDenied) return errors(403, 'access forbidden');
        const { name, scopes = [] } = req.body as { name: string; scopes?: string[] };
        if (scopes.some((s) => SELF_ASSIGNED.includes(s))) return errors(400, 'invalid scopes: some are assigned by SendGrid only');
        const k = store.add(name, [...scopes, ...SELF_ASSIGNED]);
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
      // tsg_scopes_v3.json: a valid key reads its own scopes, anything else gets 401.
      ListScope: (req) => {
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
    // SendGrid's quota is 100 keys: fill the account for real, since a 403 counts as the quota only then.
    fillQuota: () => {
      const before = new Set(store.keys.keys());
      store.seed(store.quota - store.keys.size, ['mail.send']);
      return () => {
        for (const id of store.keys.keys()) if (!before.has(id)) store.keys.delete(id);
      };
    },
    deleteOutOfBand: (id) => void store.keys.delete(id),
    // SendGrid lists have no pagination: a few extra keys show the single call returns them all.
    seedPages: () => store.seed(12, ['mail.send']),
    keyCount: () => store.keys.size,
    initialKeyId: template.id,
    restrictions: (id) => store.keys.get(id)?.restrictions,
    violations: () => contractViolations(fake, [429]),
    requests,
    denyCreate: () => {
      createDenied = true;
    },
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
    expect(h.restrictions?.(issued.keyId)).toEqual(['mail.send', ...SELF_ASSIGNED]);
    expect(h.requests).toContain('CreateApiKey on-behalf-of=subuser-1');
    expect(h.violations()).toEqual([]);
    await h.stop();
  });

  it("verifies the new key as itself: on-behalf-of goes only with the parent's admin key", async () => {
    // Prepare
    const h = await harness({ onBehalfOf: 'subuser-1' });
    const issued = await h.provider.issue({ label: 'keyrelay/app/t1', replaces: h.initialKeyId });

    // Act
    await h.provider.verify(issued.apiKey);

    // Assess
    expect(h.requests).toContain('GetApiKey on-behalf-of=subuser-1');
    expect(h.requests).toContain('ListScope on-behalf-of=');
    expect(h.requests.filter((r) => r.startsWith('ListScope'))).toEqual(['ListScope on-behalf-of=']);
    await h.stop();
  });

  it('copies the scopes a key was given and leaves those SendGrid assigns itself to SendGrid', async () => {
    // Prepare
    const h = await harness();

    // Act
    const issued = await h.provider.issue({ label: 'keyrelay/app/t1', replaces: h.initialKeyId });

    // Assess
    expect(h.restrictions?.(issued.keyId)).toEqual(h.restrictions?.(h.initialKeyId ?? ''));
    expect(h.violations()).toEqual([]);
    await h.stop();
  });

  it("reports a 403 on create with room left as the admin credential's ProviderAuthError, not the quota", async () => {
    // Prepare
    const h = await harness();
    h.denyCreate();

    // Act
    const issuing = h.provider.issue({ label: 'keyrelay/app/t1', replaces: h.initialKeyId });

    // Assess
    await expect(issuing).rejects.toBeInstanceOf(ProviderAuthError);
    await expect(issuing).rejects.toThrow(/admin credential was rejected/);
    await h.stop();
  });

  it('reports the 403 at 100 keys as QuotaExceededError naming the quota', async () => {
    // Prepare
    const h = await harness();
    const undo = h.fillQuota();

    // Act
    const issuing = h.provider.issue({ label: 'keyrelay/app/t1', replaces: h.initialKeyId });

    // Assess
    await expect(issuing).rejects.toBeInstanceOf(QuotaExceededError);
    await expect(issuing).rejects.toThrow(/HTTP 403 with 100 keys held: key quota of 100 reached/);
    undo();
    await h.stop();
  });
});
