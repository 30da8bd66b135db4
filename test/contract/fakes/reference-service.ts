import { startReferenceProvider } from '../../../local/reference-provider';
import type { KeyProvider } from '../../../lambda/providers/types';
import { echoingFetch } from '../../support/echo-credentials';
import { FakeClock } from '../../support/fake-clock';
import { registerSecret } from '../../support/leak-guard';
import type { ContractHarness } from '../provider-contract';

/** What {@link referenceServiceHarness} hands the adapter factory. */
export interface ReferenceAdapterInput {
  baseUrl: string;
  /** Admin credential (the service's admin key, or a wrong one for `badAdmin`). */
  adminToken: string;
  clock: FakeClock;
  /**
   * Waits for queued out-of-band changes before each request, so the adapter sees them as done; every error answer
   * quotes the request's credentials (`test/support/echo-credentials.ts`).
   */
  fetch: typeof fetch;
}

/**
 * A contract harness around a real reference provider on 127.0.0.1 (quota raised to 1000: the suite shares one
 * service across its cases; `fillQuota` injects the service's own quota answer). `make` builds the adapter under
 * test: the reference adapter itself, or any adapter mapped onto the service (generic-http).
 */
export async function referenceServiceHarness(make: (input: ReferenceAdapterInput) => KeyProvider): Promise<ContractHarness> {
  const clock = new FakeClock();
  const server = await startReferenceProvider({ clock, quota: 1000, onIssue: registerSecret });
  const [adminKey = ''] = server.adminKeys;
  let pending: Promise<unknown> = Promise.resolve();
  const fetchAfterPending: typeof fetch = echoingFetch(async (input, init) => {
    await pending;
    return fetch(input, init);
  });
  const admin = (method: string, path: string, body?: unknown) => {
    pending = pending.then(() =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminKey}` },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then((r) => r.arrayBuffer()),
    );
  };
  const adapter = (adminToken: string) => make({ baseUrl: server.url, adminToken, clock, fetch: fetchAfterPending });
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
    deleteOutOfBand: (keyId) => admin('DELETE', `/v1/keys/${keyId}`),
    seedPages: () => {
      // Three pages of the adapter's page_size of 100.
      for (let i = 0; i < 205; i++) admin('POST', '/v1/keys', { name: `seed-${i}` });
    },
    keyCount: () => server.keys().filter((k) => k.status !== 'deleted').length,
    // The reference service has no OpenAPI document (its contract is docs/reference-provider.md).
    violations: () => [],
    stop: () => server.stop(),
  };
}
