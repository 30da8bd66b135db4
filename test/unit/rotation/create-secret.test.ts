import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import 'aws-sdk-client-mock-vitest/extend';
import { describe, expect, it, vi } from 'vitest';
import { parseSecretValue } from '../../../core/secret-value';
import { TAGS } from '../../../core/state';
import { KeyNotFoundError } from '../../../lambda/providers/errors';
import { PendingValueConflictError, RotationFrozenError, RotationQuotaError } from '../../../lambda/rotation';
import { secretValue } from '../../support/leak-guard';
import { rotationHarness } from './harness';

describe('Step: createSecret', () => {
  it('issues one key and one version when run twice with one token', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();

    // Act
    await h.step('createSecret', token);
    await h.step('createSecret', token);

    // Assess
    expect(h.provider.calls.filter((c) => c.op === 'issue')).toHaveLength(2); // the initial key + one
    expect(h.keysFor(token)).toHaveLength(1);
    expect(h.sm.versionCount(h.arn)).toBe(2);
    expect(h.sm.mock).toHaveReceivedCommandTimes(PutSecretValueCommand, 1);
  });

  it('reads the pending version again in a new container and still does nothing', async () => {
    // Prepare: a second handler has an empty cache, as a cold container would
    const h = await rotationHarness();
    const token = h.start();
    await h.step('createSecret', token);
    const cold = await import('../../../lambda/rotation').then((m) => m.createRotationHandler(h.deps));

    // Act
    await cold({ Step: 'createSecret', SecretId: h.arn, ClientRequestToken: token });

    // Assess
    expect(h.sm.mock).toHaveReceivedCommandTimes(PutSecretValueCommand, 1);
    expect(h.keysFor(token)).toHaveLength(1);
  });

  it('leaves no orphan when the previous attempt died between issue and PutSecretValue', async () => {
    // Prepare: PutSecretValue fails in a way that is not retried (the Lambda died)
    const h = await rotationHarness();
    const token = h.start();
    h.sm.fail({ op: 'PutSecretValue', error: new Error('Task timed out after 30.00 seconds') });
    await expect(h.step('createSecret', token)).rejects.toThrow(/timed out/);
    const orphan = h.keysFor(token)[0];
    expect(orphan).toBeDefined();

    // Act
    await h.step('createSecret', token);

    // Assess: the orphan is revoked, exactly one key for the token is alive, and it is the stored one
    const alive = h.keysFor(token);
    expect(alive).toHaveLength(1);
    expect(alive[0]?.keyId).not.toBe(orphan?.keyId);
    expect(h.provider.keys.get(orphan?.keyId ?? '')?.status).toBe('deleted');
    const stored = parseSecretValue(h.sm.valueAt(h.arn, 'AWSPENDING'), h.name);
    expect(stored.keyId).toBe(alive[0]?.keyId);
  });

  it('leaves no second key when the provider answer is lost and the issue is retried in the same step', async () => {
    // Prepare: the provider creates the key, then the call fails transiently
    const h = await rotationHarness();
    const token = h.start();
    h.provider.crashAfterIssue = true;

    // Act
    await h.step('createSecret', token);

    // Assess
    expect(h.keysFor(token)).toHaveLength(1);
    expect(parseSecretValue(h.sm.valueAt(h.arn, 'AWSPENDING'), h.name).keyId).toBe(h.keysFor(token)[0]?.keyId);
  });

  it('passes ClientRequestToken, AWSPENDING and RotationToken to PutSecretValue', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    const rotationToken = secretValue(`rotation-token-${Math.random().toString(36).slice(2)}`);

    // Act
    await h.step('createSecret', token, { RotationToken: rotationToken });

    // Assess
    expect(h.sm.mock).toHaveReceivedCommandWith(PutSecretValueCommand, {
      SecretId: h.arn,
      ClientRequestToken: token,
      VersionStages: ['AWSPENDING'],
      RotationToken: rotationToken,
    });
    expect(h.output()).not.toContain(rotationToken);
  });

  it('omits RotationToken when the event has none', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();

    // Act
    await h.step('createSecret', token);

    // Assess
    const input = h.sm.mock.commandCalls(PutSecretValueCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ ClientRequestToken: token, VersionStages: ['AWSPENDING'] });
    expect(input).not.toHaveProperty('RotationToken');
  });

  it('stores the key, its id, provider, issue time and principal', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();

    // Act
    await h.step('createSecret', token);

    // Assess
    const key = h.keysFor(token)[0];
    expect(parseSecretValue(h.sm.valueAt(h.arn, 'AWSPENDING'), h.name)).toEqual({
      apiKey: key?.apiKey,
      keyId: key?.keyId,
      provider: 'fake',
      issuedAt: new Date(h.clock.now()).toISOString().replace('.000Z', 'Z'),
      principal: 'acct-1',
    });
    expect(key?.label).toBe(`keyrelay/${h.arn.slice(h.arn.indexOf(':secret:') + 8)}/${token}`);
  });

  it('treats an invalid pending value as not created (moto overwrites it)', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    h.sm.setValue(h.arn, token, '{"apiKey":"","note":"garbage"}');
    h.sm.overwritePending = true;

    // Act
    await h.step('createSecret', token);

    // Assess
    const stored = parseSecretValue(h.sm.valueAt(h.arn, 'AWSPENDING'), h.name);
    expect(stored.keyId).toBe(h.keysFor(token)[0]?.keyId);
    expect(h.output()).toContain('pending version holds an invalid value: treating it as not created');
  });

  it('revokes the fresh key and names the way out when AWS refuses to replace an invalid pending value', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    h.sm.setValue(h.arn, token, 'not json');

    // Act
    const result = h.step('createSecret', token);

    // Assess
    await expect(result).rejects.toThrow(PendingValueConflictError);
    await expect(result).rejects.toThrow(`Run \`keyrelay cancel ${h.name}\` and rotate again`);
    expect(h.keysFor(token)).toHaveLength(0);
    expect(h.sm.valueAt(h.arn, 'AWSPENDING')).toBe('not json');
  });

  it('treats a value-less pending version as not created', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();

    // Act
    await h.step('createSecret', token);

    // Assess
    expect(h.sm.mock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: h.arn, VersionId: token });
    expect(h.sm.mock).toHaveReceivedCommandTimes(PutSecretValueCommand, 1);
  });

  it('refuses to start while the secret is frozen, saying how to unfreeze', async () => {
    // Prepare
    const h = await rotationHarness({ tags: { [TAGS.frozen]: '2026-11-22T10:00:00Z alice: incident 42' } });
    const token = h.start();

    // Act
    const result = h.step('createSecret', token);

    // Assess
    await expect(result).rejects.toThrow(RotationFrozenError);
    await expect(result).rejects.toThrow(`Run \`keyrelay unfreeze ${h.name}\``);
    expect(h.keysFor(token)).toHaveLength(0);
    expect(h.sm.mock).toHaveReceivedCommandTimes(PutSecretValueCommand, 0);
  });

  describe('quota full', () => {
    it('frees keys through onQuotaFull once and retries', async () => {
      // Prepare: quota 2, held by the current key and an expired one
      const onQuotaFull = vi.fn();
      const h = await rotationHarness({ quota: 2, deps: { onQuotaFull } });
      const expired = await h.provider.issue({ label: 'expired' });
      onQuotaFull.mockImplementation(async () => {
        await h.provider.revoke(expired.keyId);
        return 1;
      });
      const token = h.start();

      // Act
      await h.step('createSecret', token);

      // Assess
      expect(onQuotaFull).toHaveBeenCalledTimes(1);
      expect(onQuotaFull.mock.calls[0]?.[0]).toMatchObject({ arn: h.arn, name: h.name });
      expect(h.keysFor(token)).toHaveLength(1);
    });

    it('fails naming the quota and the way out when it is still full', async () => {
      // Prepare
      const onQuotaFull = vi.fn(async () => 1);
      const h = await rotationHarness({ quota: 1, deps: { onQuotaFull } });
      const token = h.start();

      // Act
      const result = h.step('createSecret', token);

      // Assess
      await expect(result).rejects.toThrow(RotationQuotaError);
      await expect(result).rejects.toThrow(/quota of 1 keys for this admin credential is full \(freed 1 expired key\(s\) first\)/);
      await expect(result).rejects.toThrow(/keyrelay cancel NAME/);
      await expect(result).rejects.toThrow(/keyrelay revoke NAME --key-id ID/);
      await expect(result).rejects.toThrow(`keyrelay rotate ${h.name} --emergency`);
      expect(onQuotaFull).toHaveBeenCalledTimes(1);
      expect(h.provider.calls.filter((c) => c.op === 'issue')).toHaveLength(3); // the initial key, then two refused
    });

    it('fails at once without onQuotaFull', async () => {
      // Prepare
      const h = await rotationHarness({ quota: 1 });
      const token = h.start();

      // Act
      const result = h.step('createSecret', token);

      // Assess
      await expect(result).rejects.toThrow(/freed 0 expired key/);
      expect(h.provider.calls.filter((c) => c.op === 'issue')).toHaveLength(2);
    });
  });
});

describe('Step: createSecret, restrictions', () => {
  it('tells the provider which key the new one replaces, so it copies its scopes', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    // Act
    await h.step('createSecret', token);
    // Assess
    expect(h.provider.calls.filter((c) => c.op === 'issue').map((c) => c.keyId)).toEqual([undefined, h.initialKeyId]);
  });

  it('names no key to replace on the first rotation', async () => {
    const h = await rotationHarness({ withCurrent: false });
    await h.step('createSecret', h.start());
    expect(h.provider.calls.filter((c) => c.op === 'issue').map((c) => c.keyId)).toEqual([undefined]);
  });

  it('still issues a key when the key it replaces was already deleted at the provider', async () => {
    // Prepare: the current key is gone (revokeWithoutReplacement, or the provider revoked a leaked key), and the
    // adapter, like Cloudflare's or SendGrid's, reads the replaced key by id to copy its scopes
    const h = await rotationHarness();
    const issue = h.provider.issue.bind(h.provider);
    h.provider.issue = async (request) => {
      if (request.replaces !== undefined && h.provider.keys.get(request.replaces)?.status === 'deleted') {
        throw new KeyNotFoundError('fake', `read key scopes: key '${request.replaces}' does not exist`, { status: 404 });
      }
      return issue(request);
    };
    await h.provider.revoke(h.initialKeyId!);
    const token = h.start();

    // Act
    await h.rotate(token);

    // Assess: the rotation that replaces the dead key completes, from the provider settings
    const current = parseSecretValue(h.sm.valueAt(h.arn, 'AWSCURRENT'), h.name);
    expect(h.keysFor(token).map((k) => k.keyId)).toEqual([current.keyId]);
    expect(h.output()).toContain('the key being replaced no longer exists at the provider');
  });
});
