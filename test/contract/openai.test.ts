import { describe, expect, it } from 'vitest';
import { ProviderAuthError, RevocationRefusedError, createProvider } from '../../lambda/providers';
import { FakeClock } from '../support/fake-clock';
import { KeyStore, bearer } from './fakes/key-store';
import { type FakeReply, type FakeRequest, contractViolations, loadSpec, startOpenApiFake } from './openapi-fake';
import { describeProviderContract, mintKey, type ContractHarness } from './provider-contract';

// The spec documents almost no errors (a few 400 ErrorResponse; no 401/404/429/5xx). Undocumented answers follow
// OpenAI's prose docs ("Error codes"): the same {"error": {message, type, param, code}} body with 401, 403, 404, 429
// (with Retry-After), 400 and 500. OpenAI documents no per-account key limit; the fake's 400 for a full quota is an
// assumption the adapter's quota wording check covers.
const UNDOCUMENTED = [400, 401, 403, 404, 429, 500];
const error = (status: number, type: string, message: string, headers?: Record<string, string>, code: string | null = null): FakeReply => ({
  status,
  headers,
  body: { error: { message, type, param: null, code } },
});

async function harness(
  keyType: 'service-account' | 'admin',
  settings: Record<string, string> = {},
): Promise<
  ContractHarness & {
    calls: () => string[];
    addMemberKey: (name: string) => string;
    /** What a valid key without model read gets from GET /models: the `code` OpenAI puts in its 401. */
    missingScopeCode: (code: string | null) => void;
    /** Makes project-key DELETE answer as the spec's summary says for a service account's key (400). */
    refuseServiceAccountDelete: () => void;
  }
> {
  const clock = new FakeClock();
  const prefix = keyType === 'admin' ? 'sk-admin-' : 'sk-svcacct-';
  const store = new KeyStore(clock, 1000, (n) => `key_${n.toString().padStart(16, '0')}`, () => mintKey(prefix, 64));
  const adminKey = mintKey('sk-admin-', 64);
  const projectId = 'proj_abc123';
  const serviceAccountId = 'svc_acct_xyz789';
  const secondsOf = (ms: number) => Math.floor(ms / 1000);
  const owner = { type: 'service_account', service_account: { id: serviceAccountId, name: 'app', created_at: 1_700_000_000, role: 'member' } };
  /** Project keys of a project member (a person), not of keyrelay's service account. */
  const userOwned = new Set<string>();
  const userOwner = { type: 'user', user: { id: 'user_2', email: 'dev@example.com', name: 'Dev', created_at: 1_700_000_000, role: 'member' } };
  const projectKey = (k: ReturnType<typeof store.add>) => ({
    object: 'organization.project.api_key',
    redacted_value: `${prefix}***${k.value.slice(-4)}`,
    name: k.name,
    created_at: secondsOf(k.created),
    last_used_at: k.lastUsed === null ? null : secondsOf(k.lastUsed),
    id: k.id,
    owner_project_access: 'active',
    owner: userOwned.has(k.id) ? userOwner : owner,
  });
  const adminApiKey = (k: ReturnType<typeof store.add>) => ({
    object: 'organization.admin_api_key',
    id: k.id,
    name: k.name,
    redacted_value: `sk-admin-***${k.value.slice(-4)}`,
    created_at: secondsOf(k.created),
    expires_at: null,
    last_used_at: k.lastUsed === null ? null : secondsOf(k.lastUsed),
    owner: { type: 'user', object: 'organization.user', id: 'user_1', name: 'Owner', created_at: 1_700_000_000, role: 'owner' },
  });
  const shape = (k: ReturnType<typeof store.add>): { id: string } => (keyType === 'admin' ? adminApiKey(k) : projectKey(k));
  const PAGE = 5;
  const list = (req: FakeRequest): FakeReply => {
    const all = [...store.keys.values()];
    const after = req.query.get('after');
    const start = after ? all.findIndex((k) => k.id === after) + 1 : 0;
    const limit = Math.min(PAGE, Number(req.query.get('limit') ?? '20'));
    const data = all.slice(start, start + limit).map(shape);
    return {
      status: 200,
      body: { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more: start + limit < all.length },
    };
  };
  const create = (req: FakeRequest): FakeReply => {
    if (store.full()) return error(400, 'invalid_request_error', 'You have reached the maximum number of API keys');
    const { name, scopes } = req.body as { name: string; scopes?: string[] };
    const k = store.add(name, scopes);
    const base = { value: k.value, name: k.name, created_at: secondsOf(k.created), id: k.id };
    return {
      status: 200,
      body: keyType === 'admin' ? { ...adminApiKey(k), value: k.value } : { object: 'organization.project.service_account.api_key', ...base },
    };
  };
  const find = (req: FakeRequest) => store.keys.get(req.params.key_id ?? req.params.api_key_id ?? '');
  const get = (req: FakeRequest): FakeReply => {
    const k = find(req);
    return k ? { status: 200, body: shape(k) } : error(404, 'invalid_request_error', 'No such API key');
  };
  let missingScopeCode: string | null = 'missing_scope';
  let refuseDelete = false;
  const del = (req: FakeRequest): FakeReply => {
    const k = find(req);
    if (!k) return error(404, 'invalid_request_error', 'No such API key');
    if (refuseDelete && keyType === 'service-account') return error(400, 'invalid_request_error', 'Cannot delete an API key that belongs to a service account');
    store.keys.delete(k.id);
    const object = keyType === 'admin' ? 'organization.admin_api_key.deleted' : 'organization.project.api_key.deleted';
    return { status: 200, body: { object, id: k.id, deleted: true } };
  };
  const fake = await startOpenApiFake({
    spec: loadSpec('openai'),
    authenticate: (req) => {
      if (req.operationId === 'listModels') return undefined;
      // In admin mode a new admin key verifies itself by listing admin keys.
      if (req.operationId === 'admin-api-keys-list' && keyType === 'admin' && store.use(bearer(req.headers.authorization))) return undefined;
      return bearer(req.headers.authorization) === adminKey ? undefined : error(401, 'invalid_request_error', 'Incorrect API key provided');
    },
    handlers: {
      'admin-api-keys-list': list,
      'admin-api-keys-create': create,
      'admin-api-keys-get': get,
      'admin-api-keys-delete': del,
      'list-project-api-keys': (req) => (req.params.project_id === projectId ? list(req) : error(404, 'invalid_request_error', 'No such project')),
      'retrieve-project-api-key': get,
      'delete-project-api-key': del,
      CreateanAPIkeyforaserviceaccount: (req) =>
        req.params.service_account_id === serviceAccountId ? create(req) : error(404, 'invalid_request_error', 'No such service account'),
      listModels: (req) => {
        const k = store.use(bearer(req.headers.authorization));
        if (!k) return error(401, 'invalid_request_error', 'Incorrect API key provided');
        // A key created with scopes that leave out model read is authenticated, then refused with 401 and this
        // wording; `code` is missing_scope in some public reports, null in others (microsoft/PowerToys#32989,
        // continuedev/continue#10059).
        if (Array.isArray(k.restrictions) && !k.restrictions.includes('api.model.read')) {
          const message = 'You have insufficient permissions for this operation. Missing scopes: api.model.read. Check that you have the correct role in your organization (Reader, Writer, Owner) and project (Member, Owner), and if you\'re using a restricted API key, that it has the necessary scopes.';
          return error(401, 'invalid_request_error', message, undefined, missingScopeCode);
        }
        return { status: 200, body: { object: 'list', data: [{ id: 'gpt-4o', object: 'model', created: 1_700_000_000, owned_by: 'openai' }] } };
      },
    },
  });
  const make = (key: string) =>
    createProvider('openai', {
      settings: { baseUrl: fake.url, keyType, ...(keyType === 'service-account' ? { projectId, serviceAccountId } : {}), ...settings },
      clock,
      adminCredential: async () => JSON.stringify({ adminKey: key }),
    });
  return {
    provider: make(adminKey),
    badAdmin: make(mintKey('sk-admin-', 64)),
    clock,
    throttleNext: (s) => fake.failNext(error(429, 'requests', 'Rate limit reached for requests', { 'retry-after': String(s) })),
    failNext: () => fake.failNext(error(500, 'server_error', 'The server had an error while processing your request')),
    fillQuota: () => store.fill(),
    deleteOutOfBand: (id) => void store.keys.delete(id),
    seedPages: () => store.seed(12),
    keyCount: () => store.keys.size,
    violations: () => contractViolations(fake, UNDOCUMENTED),
    calls: () => fake.calls,
    missingScopeCode: (code) => {
      missingScopeCode = code;
    },
    refuseServiceAccountDelete: () => {
      refuseDelete = true;
    },
    addMemberKey: (name) => {
      const k = store.add(name);
      userOwned.add(k.id);
      return k.id;
    },
    stop: () => fake.stop(),
  };
}

describeProviderContract('openai (service-account keys)', () => harness('service-account'));
describeProviderContract('openai (admin keys)', () => harness('admin'));

describe('Class: OpenAiKeys', () => {
  it("lists only its service account's keys, never a project member's (reconcile must not see them to revoke)", async () => {
    // Prepare: a member's key, even one whose name looks like keyrelay's label.
    const h = await harness('service-account');
    const memberKey = h.addMemberKey('keyrelay/app/not-ours');
    const issued = await h.provider.issue({ label: 'keyrelay/app/t1' });

    // Act
    const listed = await h.provider.list();

    // Assess
    expect(listed.map((k) => k.keyId)).toContain(issued.keyId);
    expect(listed.map((k) => k.keyId)).not.toContain(memberKey);
    expect(h.violations()).toEqual([]);
    await h.stop();
  });

  it('adds keys to the existing service account instead of creating service accounts', async () => {
    // Prepare
    const h = await harness('service-account');

    // Act
    await h.provider.issue({ label: 'keyrelay/app/t1' });

    // Assess
    expect(h.calls()).toContain('CreateanAPIkeyforaserviceaccount 200');
    expect(h.calls().some((c) => c.startsWith('create-project-service-account'))).toBe(false);
    await h.stop();
  });

  it.each(['missing_scope', null])(
    'verifies a scoped key that may not list models: 401 "insufficient permissions … Missing scopes" (code %s) means it authenticated',
    async (code) => {
      // Prepare
      const h = await harness('service-account', { scopes: 'api.responses.write' });
      h.missingScopeCode(code);

      // Act
      const issued = await h.provider.issue({ label: 'keyrelay/app/t1' });
      const verified = await h.provider.verify(issued.apiKey);

      // Assess
      expect(verified).toEqual({ principal: 'proj_abc123' });
      expect(h.calls()).toContain('listModels 401');
      expect(h.violations()).toEqual([]);
      await h.stop();
    },
  );

  it('still rejects a wrong key with 401 "Incorrect API key provided"', async () => {
    // Prepare
    const h = await harness('service-account', { scopes: 'api.responses.write' });

    // Act
    const verifying = h.provider.verify(mintKey('sk-svcacct-', 64));

    // Assess
    await expect(verifying).rejects.toBeInstanceOf(ProviderAuthError);
    await h.stop();
  });

  it('turns the documented 400 on deleting a service-account key into RevocationRefusedError naming where to delete it', async () => {
    // Prepare
    const h = await harness('service-account');
    const issued = await h.provider.issue({ label: 'keyrelay/app/t1' });
    h.refuseServiceAccountDelete();

    // Act
    const revoking = h.provider.revoke(issued.keyId);

    // Assess
    await expect(revoking).rejects.toBeInstanceOf(RevocationRefusedError);
    await expect(revoking).rejects.toThrow(/refused to delete service-account key '.*' \(HTTP 400\); delete it in the OpenAI dashboard \(project proj_abc123 > API keys\)/);
    expect(h.violations()).toEqual([]);
    await h.stop();
  });
});
