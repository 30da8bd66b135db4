import { referenceProvider } from '../../lambda/providers/reference';
import { startReferenceProvider } from '../../local/reference-provider';
import { describeProviderContract } from '../contract/provider-contract';
import { FakeClock } from '../support/fake-clock';
import { registerSecret } from '../support/leak-guard';

// The shared provider contract, run against the real reference service on 127.0.0.1. The quota is raised because
// the suite shares one service across its cases; `fillQuota` injects the service's own quota answer instead.
describeProviderContract('reference', async () => {
  const clock = new FakeClock();
  const server = await startReferenceProvider({ clock, quota: 100, onIssue: registerSecret });
  const [adminKey = ''] = server.adminKeys;
  // The harness's out-of-band changes are synchronous calls but HTTP requests: queue them, and let every adapter
  // request wait for the queue, so the adapter sees them as done.
  let pending: Promise<unknown> = Promise.resolve();
  const fetchAfterPending: typeof fetch = async (input, init) => {
    await pending;
    return fetch(input, init);
  };
  const adapter = (key: string) =>
    referenceProvider.create({
      settings: { baseUrl: server.url },
      adminCredential: async () => JSON.stringify({ adminKey: key }),
      clock,
      fetch: fetchAfterPending,
    });
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then((response) => response.arrayBuffer());

  return {
    provider: adapter(adminKey),
    badAdmin: adapter('rk_admin_not-a-credential'),
    clock,
    throttleNext: (retryAfterSeconds) => server.faults.set({ retryAfterSeconds, times: 1 }),
    failNext: () => server.faults.set({ status: 503, times: 1 }),
    fillQuota: () => {
      server.faults.set({ status: 409, code: 'quota_exceeded', times: 1, match: { method: 'POST', path: '/v1/keys' } });
      return () => server.faults.clear();
    },
    deleteOutOfBand: (keyId) => {
      pending = pending.then(() => admin('DELETE', `/v1/keys/${keyId}`));
    },
    seedPages: () => {
      for (let i = 0; i < 5; i++) pending = pending.then(() => admin('POST', '/v1/keys', { name: `seed-${i}` }));
    },
    keyCount: () => server.keys().filter((k) => k.status !== 'deleted').length,
    violations: () => [],
    stop: () => server.stop(),
  };
});
