import { describe, expect, it } from 'vitest';
import { cloudflareProvider } from '../../../lambda/providers/cloudflare';
import { FakeClock } from '../../support/fake-clock';
import { secretValue } from '../../support/leak-guard';

const ADMIN = secretValue('unit-cloudflare-admin-token-000000000000001');
const TOKEN_ID = 'ed17574386854bf78a67040be0a770b0';

/** A token that expires and starts later than now, as GET /accounts/{id}/tokens/{id} answers it. */
const TOKEN = {
  id: TOKEN_ID,
  name: 'keyrelay/app/old',
  status: 'active',
  issued_on: '2026-01-01T00:00:00Z',
  modified_on: '2026-01-01T00:00:00Z',
  not_before: '2026-01-02T00:00:00Z',
  expires_on: '2026-12-31T00:00:00Z',
  policies: [{ id: 'f267e341f3dd4697bd3b9f71dd96247f', effect: 'allow', resources: { 'com.cloudflare.api.account.zone.*': '*' }, permission_groups: [{ id: 'c8fed203ed3043cba015a93ad1616f1f' }] }],
  condition: { request_ip: { in: ['192.0.2.0/24'] } },
};

/** A fetch answering GET with {@link TOKEN} and recording PUT bodies. */
function cloudflare() {
  const puts: Array<Record<string, unknown>> = [];
  const fetch = (async (_input: string | URL | Request, init: RequestInit = {}) => {
    if (init.method === 'PUT') puts.push(JSON.parse(String(init.body)) as Record<string, unknown>);
    return new Response(JSON.stringify({ success: true, errors: [], messages: [], result: TOKEN }), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  }) as typeof globalThis.fetch;
  const adapter = cloudflareProvider.create({
    settings: { accountId: 'a'.repeat(32) },
    adminCredential: async () => JSON.stringify({ apiToken: ADMIN }),
    clock: new FakeClock(),
    fetch,
  });
  return { adapter, puts };
}

describe('Class: CloudflareTokens', () => {
  describe('Method: disable / enable', () => {
    it('sends the token back on PUT (a replace) so only the status changes, expiry and start time included, in the update schema', async () => {
      // Prepare
      const { adapter, puts } = cloudflare();

      // Act
      await adapter.disable!(TOKEN_ID);
      await adapter.enable!(TOKEN_ID);

      // Assess
      const { id: _id, issued_on: _i, modified_on: _m, status: _s, policies: _p, ...unchanged } = TOKEN;
      // Policies as the update schema takes them: no policy id, permission groups by id (TokenPolicyParam).
      const policies = [{ effect: 'allow', resources: { 'com.cloudflare.api.account.zone.*': '*' }, permission_groups: [{ id: 'c8fed203ed3043cba015a93ad1616f1f' }] }];
      expect(puts).toEqual([
        { ...unchanged, policies, status: 'disabled' },
        { ...unchanged, policies, status: 'active' },
      ]);
    });
  });
});
