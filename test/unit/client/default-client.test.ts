import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
import { createKeyClient, getApiKey, handleKeyRotatedEvent, withApiKey } from '../../../client/index';
import { FakeClock } from '../../support/fake-clock';
import { FakeSecret, mintKey, secretJson } from './fake-secret';

describe('Function: getApiKey / withApiKey (default client)', () => {
  it('creates one client on first use and caches through it', async () => {
    // Prepare: the default client builds its own SecretsManagerClient, so mock the class
    const sm = mockClient(SecretsManagerClient);
    const key = mintKey('default');
    sm.on(GetSecretValueCommand).resolves({ VersionId: 'v1', SecretString: secretJson(key) });

    // Act
    const first = await getApiKey('default/secret');
    const viaFn = await withApiKey('default/secret', (k) => k.length);
    const again = await getApiKey('default/secret');

    // Assess
    expect([first, again]).toEqual([key, key]);
    expect(viaFn).toBe(key.length);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(sm.commandCalls(DescribeSecretCommand)).toHaveLength(0);
    sm.restore();
  });

  it('is what handleKeyRotatedEvent invalidates by default', async () => {
    // Prepare
    const sm = mockClient(SecretsManagerClient);
    const newKey = mintKey('default-rotated');
    sm.on(GetSecretValueCommand).resolves({ VersionId: 'v2', SecretString: secretJson(newKey) });

    // Act
    handleKeyRotatedEvent({ source: 'keyrelay', 'detail-type': 'KeyRotated', detail: { secretName: 'default/secret' } });
    const key = await getApiKey('default/secret');

    // Assess
    expect(key).toBe(newKey);
    sm.restore();
  });
  it('rejects, rather than throws, when the environment holds a malformed option', async () => {
    // Prepare: a fresh module, so its default client is created from this environment
    vi.resetModules();
    vi.stubEnv('KEYRELAY_CLIENT_TTL', 'soon');
    const fresh = await import('../../../client/index');
    const call = <T>(fn: () => Promise<T>): { thrown?: unknown; returned?: Promise<T> } => {
      try {
        return { returned: fn() };
      } catch (thrown) {
        return { thrown };
      }
    };

    // Act
    const read = call(() => fresh.getApiKey('default/secret'));
    const used = call(() => fresh.withApiKey('default/secret', (k) => k));
    vi.unstubAllEnvs();

    // Assess: callers chaining .catch() get the error, not an exception thrown past them
    expect([read.thrown, used.thrown]).toEqual([undefined, undefined]);
    await expect(read.returned).rejects.toThrow(/KEYRELAY_CLIENT_TTL/);
    await expect(used.returned).rejects.toBeInstanceOf(fresh.ClientOptionsError);
  });
});

describe('Function: handleKeyRotatedEvent', () => {
  const event = (detail: object, source = 'keyrelay', detailType = 'KeyRotated') => ({
    version: '0',
    source,
    'detail-type': detailType,
    detail,
  });

  it('invalidates the rotated secret by name and by ARN, so the next read fetches the new key', async () => {
    // Prepare
    const secret = new FakeSecret('events/secret');
    const client = createKeyClient({ secretsManager: secret.client, clock: new FakeClock() });
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:events/secret-AbCdEf';
    await client.getApiKey('events/secret');
    const newKey = mintKey('rotated');
    secret.rotate(newKey);

    // Act
    const handled = handleKeyRotatedEvent(event({ secretName: 'events/secret', secretArn: arn, versionId: 'v2' }), client);

    // Assess
    expect(handled).toBe(true);
    expect(await client.getApiKey('events/secret')).toBe(newKey);
  });

  it.each([
    [event({ secretName: 'events/secret' }, 'aws.secretsmanager')],
    [event({ secretName: 'events/secret' }, 'keyrelay', 'RotationFailed')],
    [{ source: 'keyrelay', 'detail-type': 'KeyRotated' }],
    ['not an event'],
  ])('ignores anything but a KeyRotated event: %j', async (other) => {
    // Prepare
    const secret = new FakeSecret('events/secret');
    const client = createKeyClient({ secretsManager: secret.client, clock: new FakeClock() });
    const key = await client.getApiKey('events/secret');
    secret.rotate(mintKey('rotated'));

    // Act
    const handled = handleKeyRotatedEvent(other, client);

    // Assess
    expect(handled).toBe(false);
    expect(await client.getApiKey('events/secret')).toBe(key);
  });
});
