import { CreateAccessKeyCommand, ListAccessKeysCommand, TagUserCommand, type IAMClient } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors';
import { createProvider, KeyNotFoundError, ProviderAuthError, QuotaExceededError } from '../../lambda/providers';
import { AwsIamAccessKeys, ISSUING_KNOWN_TAG, ISSUING_TAG, parseAwsAccessKey, type AwsIamClients } from '../../lambda/providers/aws-iam';
import type { IssuedKey, KeyProvider } from '../../lambda/providers/types';
import { FakeClock } from '../support/fake-clock';
import { registerSecret } from '../support/leak-guard';
import { useMotoIam } from '../support/moto-iam';

// moto 5.2.1 with authentication on (see test/support/moto-iam.ts): a deleted key is rejected like on AWS, but an
// Inactive key still authenticates there, so `disable` is tested by the call it makes and the status IAM reports,
// not by its effect on authentication.
const fixture = useMotoIam();
const clock = new FakeClock();

function adapter(userName: string, clients?: AwsIamClients): AwsIamAccessKeys {
  const context = { settings: {}, clock, adminCredential: () => Promise.reject(new Error('unused')) };
  return new AwsIamAccessKeys({ userName }, context, clients ?? fixture.moto.clients());
}

async function issue(provider: KeyProvider, label: string): Promise<IssuedKey> {
  const key = await provider.issue({ label });
  registerSecret(key.apiKey);
  registerSecret(parseAwsAccessKey(key.apiKey).secretAccessKey);
  return key;
}

function label(token: string): string {
  return `keyrelay/ci/deployer/${token}`;
}

describe('Class: AwsIamAccessKeys (moto, authentication on)', () => {
  it('issues a key that authenticates as the user, labelled in the listing', async () => {
    // Prepare
    const user = await fixture.moto.createUser('app', '/team/');
    const provider = adapter(user);

    // Act
    const key = await issue(provider, label('t1'));
    const verified = await provider.verify(key.apiKey);
    const listed = await provider.list();

    // Assess
    expect(verified.principal).toBe(`arn:aws:iam::123456789012:user/team/${user}`);
    expect(key.principal).toBe(verified.principal);
    expect(key.attributes).toEqual({ accessKeyId: key.keyId });
    expect(listed).toEqual([{ keyId: key.keyId, label: label('t1'), status: 'active', createdAt: expect.any(Number) }]);
  });

  it('rejects the old key with InvalidClientTokenId after revocation while the new key works', async () => {
    // Prepare
    const user = await fixture.moto.createUser('app');
    const provider = adapter(user);
    const old = await issue(provider, label('t1'));
    const next = await issue(provider, label('t2'));

    // Act
    await provider.revoke(old.keyId);

    // Assess
    const rejected = await provider.verify(old.apiKey).catch((err: unknown) => err);
    expect(rejected).toBeInstanceOf(ProviderAuthError);
    expect((rejected as Error).message).toMatch(/InvalidClientTokenId/);
    expect((rejected as ProviderAuthError).status).toBe(403);
    await expect(provider.verify(next.apiKey)).resolves.toEqual({ principal: expect.stringContaining(`:user/${user}`) });
    await expect(provider.revoke(old.keyId)).rejects.toBeInstanceOf(KeyNotFoundError);
    expect((await provider.list()).map((k) => k.keyId)).toEqual([next.keyId]);
  });

  it('disables and enables with UpdateAccessKey (moto still authenticates an Inactive key: the call is tested)', async () => {
    // Prepare
    const user = await fixture.moto.createUser('app');
    const provider = adapter(user);
    const key = await issue(provider, label('t1'));
    const statuses = async () =>
      (await fixture.moto.iam(fixture.moto.admin).send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata?.map((k) => k.Status);

    // Act
    await provider.disable(key.keyId);
    const disabled = { iam: await statuses(), listed: (await provider.list())[0]?.status };
    await provider.enable(key.keyId);

    // Assess
    expect(disabled).toEqual({ iam: ['Inactive'], listed: 'disabled' });
    expect(await statuses()).toEqual(['Active']);
    await expect(provider.disable('TESTKEYDOESNOTEXIST0000')).rejects.toBeInstanceOf(KeyNotFoundError);
  });

  it('throws QuotaExceededError for a third key, an inactive one counting', async () => {
    // Prepare
    const user = await fixture.moto.createUser('app');
    const provider = adapter(user);
    const first = await issue(provider, label('t1'));
    await issue(provider, label('t2'));
    await provider.disable(first.keyId);

    // Act
    const err = await provider.issue({ label: label('t3') }).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect(err).toMatchObject({ quota: 2 });
    expect(await provider.list()).toHaveLength(2);
  });

  it('maps LimitExceeded from CreateAccessKey when the listing raced a concurrent issue', async () => {
    // Prepare: a key created behind the adapter's back after it listed (a second writer on the same user)
    const user = await fixture.moto.createUser('app');
    const provider = adapter(user);
    await issue(provider, label('t1'));
    const clients = fixture.moto.clients();
    let raced = false;
    const racing: AwsIamClients = {
      ...clients,
      iam: intercept(clients.iam, async (command, send) => {
        if (command instanceof CreateAccessKeyCommand && !raced) {
          raced = true;
          await issue(adapter(user), label('other'));
        }
        return send(command);
      }),
    };

    // Act
    const err = await adapter(user, racing).issue({ label: label('t2') }).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect((err as Error).message).toMatch(/LimitExceeded/);
  });

  it('reports last use: null before, the time of the verify after', async () => {
    // Prepare
    const user = await fixture.moto.createUser('app');
    const provider = adapter(user);
    const key = await issue(provider, label('t1'));
    const before = await provider.lastUsed(key.keyId);
    const started = Date.now() - 1000;

    // Act
    await provider.verify(key.apiKey);

    // Assess
    const after = await provider.lastUsed(key.keyId);
    expect(before).toBeNull();
    expect(after).toBeGreaterThanOrEqual(started);
    await expect(provider.lastUsed('TESTKEYDOESNOTEXIST0000')).rejects.toBeInstanceOf(KeyNotFoundError);
  });

  it('finds the key of an issue that died between CreateAccessKey and labelling it (retry leaves no orphan)', async () => {
    // Prepare: the labelling TagUser fails once, after the key exists
    const user = await fixture.moto.createUser('app');
    const existing = await issue(adapter(user), label('t0'));
    const clients = fixture.moto.clients();
    let tags = 0;
    const crashing: AwsIamClients = {
      ...clients,
      iam: intercept(clients.iam, (command, send) => {
        if (command instanceof TagUserCommand && ++tags === 2) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        return send(command);
      }),
    };
    await expect(adapter(user, crashing).issue({ label: label('t1') })).rejects.toThrow(/unreachable|reached/);

    // Act: what createSecret's retry does: list, revoke what carries its label, issue again
    const provider = adapter(user);
    const orphans = (await provider.list()).filter((k) => k.label === label('t1'));
    for (const k of orphans) await provider.revoke(k.keyId);
    const retried = await issue(provider, label('t1'));

    // Assess
    expect(orphans).toHaveLength(1);
    expect(orphans[0]?.keyId).not.toBe(existing.keyId);
    expect(await provider.list()).toEqual([
      expect.objectContaining({ keyId: existing.keyId, label: label('t0') }),
      expect.objectContaining({ keyId: retried.keyId, label: label('t1') }),
    ]);
    const atIam = await fixture.moto.iam(fixture.moto.admin).send(new ListAccessKeysCommand({ UserName: user }));
    expect(atIam.AccessKeyMetadata).toHaveLength(2);
  });

  it('never gives an intent label to a key that existed before the issue', async () => {
    // Prepare: an intent left by a crash before CreateAccessKey answered (no key was made)
    const user = await fixture.moto.createUser('app');
    const existing = await issue(adapter(user), label('t0'));
    const Tags = [{ Key: ISSUING_TAG, Value: label('t1') }, { Key: ISSUING_KNOWN_TAG, Value: existing.keyId }];
    await fixture.moto.iam(fixture.moto.admin).send(new TagUserCommand({ UserName: user, Tags }));

    // Act
    const listed = await adapter(user).list();

    // Assess
    expect(listed).toEqual([expect.objectContaining({ keyId: existing.keyId, label: label('t0') })]);
  });
});

describe('Registry: aws-iam (moto, authentication on)', () => {
  it('builds an adapter from settings and an admin-secret credential, and fails on a malformed one', async () => {
    // Prepare
    const user = await fixture.moto.createUser('app');
    const settings = { userName: user, endpoint: fixture.moto.url, region: 'us-east-1', credentials: 'admin-secret' };
    const good = createProvider('aws-iam', { settings, clock, adminCredential: async () => JSON.stringify(fixture.moto.fn) });
    const bad = createProvider('aws-iam', { settings, clock, adminCredential: async () => '{"accessKeyId": 1}' });

    // Act
    const key = await issue(good, label('t1'));

    // Assess
    await expect(good.verify(key.apiKey)).resolves.toEqual({ principal: expect.stringContaining(user) });
    await expect(bad.list()).rejects.toBeInstanceOf(ConfigError);
  });

  it('throws ProviderAuthError naming the permissions when the credential lacks them', async () => {
    // Prepare: the managed user's own key has no IAM permissions
    const user = await fixture.moto.createUser('app');
    const key = await issue(adapter(user), label('t1'));
    const powerless = adapter(user, fixture.moto.clients(parseAwsAccessKey(key.apiKey)));

    // Act
    const err = await powerless.list().catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(ProviderAuthError);
    expect((err as Error).message).toMatch(/iam:ListAccessKeys/);
  });

  it('throws ConfigError when the user does not exist', async () => {
    await expect(adapter('no-such-user').list()).rejects.toThrow(ConfigError);
  });
});

/** A client whose `send` goes through `fn` first (fault injection on a real client). */
function intercept(
  client: IAMClient,
  fn: (command: object, send: (command: object) => Promise<unknown>) => Promise<unknown> | unknown,
): IAMClient {
  const send = client.send.bind(client) as (command: object) => Promise<unknown>;
  return new Proxy(client, {
    get: (target, prop, receiver) => (prop === 'send' ? (command: object) => fn(command, send) : Reflect.get(target, prop, receiver)),
  });
}
