import { describe, expect, it } from 'vitest';
import { ClientOptionsError, createKeyClient } from '../../../client/index';
import type { Clock } from '../../../core/clock';
import { FakeClock } from '../../support/fake-clock';
import { FakeSecret, turn } from './fake-secret';

const NAME = 'payments/reference-api';

describe('Class: KeyClient (cache bounds)', () => {
  it('measures ttl on the monotonic clock: a wall clock set back does not keep a key past ttl', async () => {
    // Prepare: wall time (now) jumps back an hour while elapsed time moves on 400 s (past the 300 s ttl)
    const secret = new FakeSecret(NAME);
    let wall = 1_800_000_000_000;
    let elapsed = 0;
    const clock: Clock = { now: () => wall, elapsed: () => elapsed, sleep: async () => undefined };
    const client = createKeyClient({ secretsManager: secret.client, clock, gracePeriod: 86_400 });
    await client.getApiKey(NAME);

    // Act
    wall -= 3_600_000;
    elapsed += 400_000;
    await client.getApiKey(NAME);
    await turn();

    // Assess: the read past ttl started the check
    expect(secret.calls('describe')).toBe(1);
  });

  it('keeps at most maxKeys keys, dropping the oldest', async () => {
    // Prepare
    const secrets = ['a/one', 'a/two', 'a/three'].map((n) => new FakeSecret(n));
    const byName = new Map(secrets.map((s) => [s.name, s]));
    const client = createKeyClient({
      secretsManager: { send: (cmd: { input: { SecretId: string } }) => byName.get(cmd.input.SecretId)!.client.send(cmd as never) } as never,
      clock: new FakeClock(),
      gracePeriod: 86_400,
      maxKeys: 2,
    });

    // Act
    for (const s of secrets) await client.getApiKey(s.name);
    await client.getApiKey('a/one');
    await client.getApiKey('a/three');

    // Assess: a/one was dropped when a/three came in, and read again; a/three stayed
    expect(secrets.map((s) => s.calls('get'))).toEqual([2, 1, 1]);
  });

  it('refuses a maxKeys below 1', () => {
    expect(() => createKeyClient({ maxKeys: 0 })).toThrow(ClientOptionsError);
  });
});
