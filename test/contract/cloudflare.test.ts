import { describe, expect, it } from 'vitest';
import { createProvider } from '../../lambda/providers';
import { FakeClock } from '../support/fake-clock';
import { cloudflareOutage, cloudflareThrottle, startCloudflareFake } from './fakes/cloudflare';
import { contractViolations } from './openapi-fake';
import { describeProviderContract, mintKey, type ContractHarness } from './provider-contract';

async function harness(tokenOwner: 'account' | 'user'): Promise<ContractHarness & { calls: () => string[] }> {
  const clock = new FakeClock();
  const cf = await startCloudflareFake(clock);
  const settings = { tokenOwner, baseUrl: cf.fake.url, ...(tokenOwner === 'account' ? { accountId: cf.accountId } : {}) };
  const make = (apiToken: string) =>
    createProvider('cloudflare', { settings, clock, adminCredential: async () => JSON.stringify({ apiToken }) });
  return {
    provider: make(cf.adminToken),
    badAdmin: make(mintKey('cfwrong', 40)),
    clock,
    throttleNext: (s) => cf.fake.failNext(cloudflareThrottle(s)),
    failNext: () => cf.fake.failNext(cloudflareOutage()),
    fillQuota: () => cf.store.fill(),
    deleteOutOfBand: (id) => void cf.store.keys.delete(id),
    seedPages: () => cf.store.seed(12, cf.store.keys.get(cf.templateId)?.restrictions),
    keyCount: () => cf.store.keys.size,
    initialKeyId: cf.templateId,
    restrictions: (id) => {
      const r = cf.store.keys.get(id)?.restrictions;
      // Policy ids are assigned per token by Cloudflare; what the token may do is the rest.
      return r && { condition: r.condition, policies: r.policies.map(({ id: _id, ...rest }) => rest) };
    },
    // The spec documents only 200 and 4XX; Cloudflare's prose docs (API limits, 5xx) cover the 503 the fake sends.
    violations: () => contractViolations(cf.fake, [503]),
    calls: () => cf.fake.calls,
    stop: () => cf.fake.stop(),
  };
}

describeProviderContract('cloudflare (account tokens)', () => harness('account'));
describeProviderContract('cloudflare (user tokens)', () => harness('user'));

describe('Class: CloudflareTokens', () => {
  it('never calls the roll endpoint, which kills the old value at once', async () => {
    // Prepare
    const h = await harness('account');

    // Act
    const first = await h.provider.issue({ label: 'keyrelay/app/t1', replaces: h.initialKeyId });
    await h.provider.issue({ label: 'keyrelay/app/t2', replaces: first.keyId });
    await h.provider.verify(first.apiKey);

    // Assess
    expect(h.calls().some((c) => c.includes('roll'))).toBe(false);
    expect(h.calls()).toContain('account-api-tokens-token-details 200');
    expect(h.violations()).toEqual([]);
    await h.stop();
  });

  it('reports last use from last_used_on, in the list and by id (null before the first use)', async () => {
    // Prepare
    const h = await harness('account');
    const issued = await h.provider.issue({ label: 'keyrelay/app/t1', replaces: h.initialKeyId });
    const before = (await h.provider.list()).find((k) => k.keyId === issued.keyId)?.lastUsedAt;

    // Act
    await h.clock.advance(60_000);
    await h.provider.verify(issued.apiKey);

    // Assess
    expect(before).toBeNull();
    expect((await h.provider.list()).find((k) => k.keyId === issued.keyId)?.lastUsedAt).toBe(h.clock.now());
    expect(await h.provider.lastUsed?.(issued.keyId)).toBe(h.clock.now());
    expect(h.violations()).toEqual([]);
    await h.stop();
  });

  it('throws when there is no token to copy policies from', async () => {
    // Prepare
    const h = await harness('account');

    // Act
    const issuing = h.provider.issue({ label: 'keyrelay/app/t1' });

    // Assess
    await expect(issuing).rejects.toThrow(/templateTokenId/);
    await h.stop();
  });
});
