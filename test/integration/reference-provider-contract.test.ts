import { referenceProvider } from '../../lambda/providers/reference';
import { referenceServiceHarness } from '../contract/fakes/reference-service';
import { describeProviderContract } from '../contract/provider-contract';

// The shared provider contract, run against the real reference service on 127.0.0.1 (the harness raises its quota
// and queues out-of-band changes ahead of the adapter's requests).
describeProviderContract('reference', () =>
  referenceServiceHarness(({ baseUrl, adminToken, clock, fetch }) =>
    referenceProvider.create({
      settings: { baseUrl },
      adminCredential: async () => JSON.stringify({ adminKey: adminToken }),
      clock,
      fetch,
    }),
  ),
);
