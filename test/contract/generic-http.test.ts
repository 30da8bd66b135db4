import { describe, expect, it } from 'vitest';
import { createProvider } from '../../lambda/providers';
import { FakeClock } from '../support/fake-clock';
import { referenceServiceHarness } from './fakes/reference-service';
import { describeProviderContract } from './provider-contract';

/**
 * The generic HTTP provider mapped onto the reference provider, which stands in for an in-house key service: the
 * same contract as the purpose-built adapters, from settings alone. The reference service has no OpenAPI
 * document (its contract is docs/reference-provider.md).
 */
const MAPPING = {
  createPath: '/v1/keys',
  listPath: '/v1/keys',
  deletePath: '/v1/keys/:id',
  verifyPath: '/v1/whoami',
  listItems: 'keys',
  nextTokenPath: 'next_page_token',
  nextTokenParam: 'page_token',
};

describeProviderContract('generic-http (mapped onto the reference provider)', () =>
  referenceServiceHarness(({ baseUrl, adminToken, clock, fetch }) =>
    createProvider('generic-http', {
      settings: { baseUrl, ...MAPPING, quota: '100' },
      clock,
      fetch,
      adminCredential: async () => JSON.stringify({ token: adminToken }),
    }),
  ),
);

describe('Class: GenericHttpKeys', () => {
  it('rejects a mapping that could not travel as secret tags', () => {
    expect(() =>
      createProvider('generic-http', {
        settings: { baseUrl: 'https://keys.example.com', ...MAPPING, deletePath: '/v1/keys/{id}' },
        clock: new FakeClock(),
        adminCredential: async () => '{}',
      }),
    ).toThrow(/deletePath.*use :id/);
  });
});
