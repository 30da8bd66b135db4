import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReferenceProvider, type ReferenceProvider } from '../../../local/reference-provider';
import { referenceProvider } from '../../../lambda/providers/reference';
import type { KeyProvider } from '../../../lambda/providers/types';
import { createRevokerHandler } from '../../../lambda/revoker';
import type { Clock } from '../../../core/clock';
import { echoingFetch } from '../../support/echo-credentials';
import { FakeClock } from '../../support/fake-clock';
import { leakedSecrets, registerSecret } from '../../support/leak-guard';
import { RevokerWorld } from '../../support/revoker-harness';
import { rotationHarness } from './harness';

/**
 * A provider quoting the credentials of every request in its error bodies (the reference provider behind
 * `echoingFetch`), driven through the rotation steps and the revoker: the retry lines, the ERROR line, thrown errors
 * and `inspect`'s problems (which the CLI prints) must not repeat the admin credential or a key.
 */
describe('Provider error text in logs and errors', () => {
  let server: ReferenceProvider;
  const adapter = (clock: Clock, adminKey = server.adminKeys[0] ?? ''): KeyProvider =>
    referenceProvider.create({ settings: { baseUrl: server.url }, clock, fetch: echoingFetch(fetch), adminCredential: async () => JSON.stringify({ adminKey }) });

  beforeAll(async () => {
    server = await startReferenceProvider({ clock: new FakeClock(), quota: 100, onIssue: registerSecret });
    for (const key of server.adminKeys) registerSecret(key);
  });
  afterAll(async () => {
    await server.stop();
  });

  it('keeps the admin credential and the pending key out of the retry lines, the ERROR line and the thrown error', async () => {
    // Prepare: two 503s on create (transient retries quoting the admin key), then every verify rejected (retries and
    // a final failure quoting the pending key).
    const provider = adapter(new FakeClock());
    const h = await rotationHarness({ withCurrent: false, deps: { provider: async () => provider } });
    server.faults.set([
      { status: 503, times: 2, match: { method: 'POST', path: '/v1/keys' } },
      { status: 401, match: { path: '/v1/whoami' } },
    ]);
    const token = h.start();

    // Act
    await h.step('createSecret', token);
    const failed = await h.step('testSecret', token).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    server.faults.clear();

    // Assess
    const output = h.output();
    expect(output).toContain('retrying a transient failure');
    expect(output).toContain('pending key not accepted yet');
    expect(output).toContain('rotation step failed');
    expect(leakedSecrets(output)).toEqual([]);
    expect(failed).toBeInstanceOf(Error);
    expect(leakedSecrets(`${String(failed)} ${failed?.stack ?? ''} ${String(failed?.cause ?? '')}`)).toEqual([]);
  });

  it("keeps the admin credential out of the revoker's log lines and inspect's problems", async () => {
    // Prepare: a wrong admin credential (quoted back by the provider) and a provider that fails every revoke.
    const world = new RevokerWorld('payments/echo');
    const badAdmin = 'rk_admin_9f8e7d6c5b4a3f2e1d0c';
    registerSecret(badAdmin);
    const handler = createRevokerHandler({ ...world.deps, provider: async () => adapter(world.clock, badAdmin) });

    // Act
    const { inspect } = await handler({ action: 'inspect', secretId: world.arn });

    // Assess
    expect(inspect?.problems.join('\n')).toMatch(/admin credential rejected/);
    expect(leakedSecrets(inspect?.problems.join('\n'))).toEqual([]);
    expect(leakedSecrets(JSON.stringify(world.logger.lines))).toEqual([]);
  });
});
