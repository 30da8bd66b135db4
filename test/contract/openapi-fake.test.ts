import { describe, expect, it } from 'vitest';
import { FakeClock } from '../support/fake-clock';
import { cloudflareSpec, startCloudflareFake } from './fakes/cloudflare';
import { contractViolations, startOpenApiFake } from './openapi-fake';

describe('Function: startOpenApiFake', () => {
  it('records a request that breaks the provider spec', async () => {
    // Prepare
    const cf = await startCloudflareFake(new FakeClock());

    // Act: a create without the required `policies`, and a page size above the spec's maximum of 50
    await fetch(`${cf.fake.url}/accounts/${cf.accountId}/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cf.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x' }),
    });
    await fetch(`${cf.fake.url}/accounts/${cf.accountId}/tokens?per_page=500`, { headers: { authorization: `Bearer ${cf.adminToken}` } });
    const violations = contractViolations(cf.fake);

    // Assess
    expect(violations.some((v) => v.startsWith('request account-api-tokens-create-token') && v.includes('policies'))).toBe(true);
    expect(violations.some((v) => v.startsWith('request account-api-tokens-list-tokens') && v.includes('per_page'))).toBe(true);
    await cf.fake.stop();
  });

  it('records a response that breaks the provider spec, and a status the spec does not document', async () => {
    // Prepare
    const fake = await startOpenApiFake({
      spec: cloudflareSpec(),
      handlers: {
        'user-api-tokens-list-tokens': () => ({ status: 200, body: { success: 'yes', result: [] } }),
        'user-api-tokens-verify-token': () => ({ status: 503 }),
      },
    });

    // Act
    await fetch(`${fake.url}/user/tokens`);
    await fetch(`${fake.url}/user/tokens/verify`);
    const all = contractViolations(fake);

    // Assess
    expect(all.some((v) => v.startsWith('response user-api-tokens-list-tokens 200'))).toBe(true);
    expect(all).toContain('response user-api-tokens-verify-token 503: status not documented (a test may allow it, citing the prose docs of the provider)');
    await fake.stop();
  });

  it('records a request to a path or method the spec does not have: no call is answered outside the document', async () => {
    // Prepare
    const cf = await startCloudflareFake(new FakeClock());

    // Act
    const answer = await fetch(`${cf.fake.url}/accounts/${cf.accountId}`, { headers: { authorization: `Bearer ${cf.adminToken}` } });
    await fetch(`${cf.fake.url}/user/tokens/verify`, { method: 'POST' });

    // Assess
    expect(answer.status).toBe(404);
    expect(contractViolations(cf.fake)).toEqual([
      `request GET /accounts/${cf.accountId}: no operation in the document matches`,
      'request POST /user/tokens/verify: no operation in the document matches',
    ]);
    await cf.fake.stop();
  });
});
