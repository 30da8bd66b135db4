import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ListAccessKeysCommand, type AccessKeyMetadata } from '@aws-sdk/client-iam';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../core/clock';
import { formatSecretValue, parseSecretValue, type SecretValue } from '../../core/secret-value';
import { providerKeyLabel, settingsToTags } from '../../core/state';
import { QuotaExceededError } from '../../lambda/providers';
import { AwsIamAccessKeys, parseAwsAccessKey } from '../../lambda/providers/aws-iam';
import type { KeyProvider } from '../../lambda/providers/types';
import { createRevokerHandler, freeQuota, type RevokerDeps } from '../../lambda/revoker';
import { createRotationHandler, ROTATION_STEPS, RotationQuotaError } from '../../lambda/rotation';
import { keySettings, resolveConfig } from '../../lib/config';
import { FakeClock } from '../support/fake-clock';
import { registerSecret } from '../support/leak-guard';
import { MemorySecretsManager } from '../support/memory-secrets-manager';
import { useMotoIam } from '../support/moto-iam';
import { RecordingLogger, RecordingMetrics, RecordingScheduler } from '../support/revoker-harness';

// A two-key provider (IAM) never loses the key AWSCURRENT references and never hits LimitExceeded, end to end: the
// real rotation handler (four steps) and the real revoker (revokeDue, freeQuota) over an IAM-backed secret whose
// access keys live in moto with authentication on. Secrets Manager is the in-memory, AWS-faithful fake (moto's RotateSecret cannot run a Node.js Lambda); time is a FakeClock.
const fixture = useMotoIam();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** What the adapter was asked to do, checked against the secret's AWSCURRENT key at the moment of each call. */
interface Audit {
  quotaErrors: number;
  /** Revocations or disables of the key AWSCURRENT referenced when the call was made. */
  currentKeyHits: string[];
  revoked: string[];
  disabled: string[];
}

/** One IAM-backed managed secret, the rotation handler and the revoker over it. */
async function world(config: { gracePeriod: string; observationWindow?: string; rotateEvery: string }) {
  const user = await fixture.moto.createUser('rotated');
  const name = `ci/${user}`;
  const key = resolveConfig({ keys: { [name]: { provider: { type: 'aws-iam', userName: user }, ...config } } }).keys[0];
  if (!key) throw new Error('config resolved no key');
  const clock = new FakeClock(Date.now(), true);
  const sm = new MemorySecretsManager(clock);
  const arn = sm.create(name, settingsToTags(keySettings(key)));
  const context = { settings: {}, clock, adminCredential: () => Promise.reject(new Error('unused')) };
  const adapter = new AwsIamAccessKeys({ userName: user }, context, fixture.moto.clients());
  const audit: Audit = { quotaErrors: 0, currentKeyHits: [], revoked: [], disabled: [] };
  const currentKeyId = () => {
    const text = sm.valueAt(arn, 'AWSCURRENT');
    return text === undefined ? undefined : parseSecretValue(text, name).keyId;
  };
  const guard = (op: 'revoked' | 'disabled', keyId: string) => {
    audit[op].push(keyId);
    if (keyId === currentKeyId()) audit.currentKeyHits.push(`${op} ${keyId}`);
  };
  const provider: KeyProvider = {
    type: adapter.type,
    capabilities: adapter.capabilities,
    quota: adapter.quota,
    issue: async (request) => {
      try {
        const issued = await adapter.issue(request);
        registerSecret(issued.apiKey);
        registerSecret(parseAwsAccessKey(issued.apiKey).secretAccessKey);
        return issued;
      } catch (err) {
        if (err instanceof QuotaExceededError) audit.quotaErrors++;
        throw err;
      }
    },
    verify: (apiKey) => adapter.verify(apiKey),
    list: () => adapter.list(),
    lastUsed: (keyId) => adapter.lastUsed(keyId),
    enable: (keyId) => adapter.enable(keyId),
    disable: (keyId) => (guard('disabled', keyId), adapter.disable(keyId)),
    revoke: (keyId) => (guard('revoked', keyId), adapter.revoke(keyId)),
  };
  const revokerDeps: RevokerDeps = {
    sm: sm.client, provider: async () => provider, clock, scheduler: new RecordingScheduler(),
    logger: new RecordingLogger(), metrics: new RecordingMetrics(), random: () => 0.5,
  };
  let quotaRelief = 0;
  const rotate = createRotationHandler({
    sm: sm.client,
    provider: async () => provider,
    clock,
    scheduler: new RecordingScheduler(),
    events: { keyRotated: async () => undefined },
    logger: new Logger({ serviceName: 'keyrelay', logLevel: 'WARN' }),
    metrics: new Metrics({ namespace: 'keyrelay', serviceName: 'keyrelay' }),
    onQuotaFull: (secret, p) => (quotaRelief++, freeQuota(revokerDeps, secret, p)),
    retry: { random: () => 0.5 },
  });
  const revoker = createRevokerHandler(revokerDeps);

  // The first key, imported the way `keyrelay import` stores one: AWSCURRENT.
  const first = await provider.issue({ label: providerKeyLabel({ arn, name }, 'initial') });
  const value: SecretValue = { ...first, provider: 'aws-iam', issuedAt: isoTime(clock.now()) };
  const SecretString = formatSecretValue(value);
  await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: randomUUID(), SecretString, VersionStages: ['AWSCURRENT'] }));

  return {
    user, arn, clock, audit, provider,
    quotaRelief: () => quotaRelief,
    current: () => parseSecretValue(sm.valueAt(arn, 'AWSCURRENT'), name),
    /** RotateSecret's first half, then the four steps in order, as Secrets Manager invokes them. */
    async rotation(): Promise<void> {
      const token = randomUUID();
      sm.startRotation(arn, token);
      for (const Step of ROTATION_STEPS) await rotate({ Step, SecretId: arn, ClientRequestToken: token });
    },
    revokeDue: () => revoker({ action: 'revokeDue', secretId: arn }),
    /** The user's keys as IAM reports them. */
    async iamKeys(): Promise<AccessKeyMetadata[]> {
      return (await fixture.moto.iam(fixture.moto.admin).send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata ?? [];
    },
  };
}

describe('An IAM-backed secret rotated end to end (moto, authentication on)', () => {
  it('rotates three times with two-phase revocation, never touching the AWSCURRENT key nor the 2-key limit', async () => {
    // Prepare: rotate weekly, 1 day grace, 1 hour disabled before deletion (lib/config checks 1d + 1h < 7d for quota 2)
    const w = await world({ rotateEvery: '7d', gracePeriod: '1d', observationWindow: '1h' });

    for (let round = 1; round <= 3; round++) {
      const before = w.current();

      // Act: a rotation, then the revoker at the end of the grace period and again after the observation window
      await w.rotation();
      const after = w.current();
      const duringGrace = (await w.iamKeys()).map((k) => [k.AccessKeyId, k.Status]);
      await w.clock.advance(DAY + 1000);
      await w.revokeDue();
      const duringObservation = (await w.iamKeys()).map((k) => [k.AccessKeyId, k.Status]);
      await w.clock.advance(HOUR + 1000);
      await w.revokeDue();

      // Assess: both keys work during grace; the old one is Inactive, then deleted and rejected; the new one works
      expect(after.keyId).not.toBe(before.keyId);
      expect(duringGrace).toEqual(expect.arrayContaining([[before.keyId, 'Active'], [after.keyId, 'Active']]));
      expect(duringObservation).toEqual(expect.arrayContaining([[before.keyId, 'Inactive'], [after.keyId, 'Active']]));
      expect((await w.iamKeys()).map((k) => k.AccessKeyId)).toEqual([after.keyId]);
      await expect(w.provider.verify(before.apiKey)).rejects.toThrow(/InvalidClientTokenId/);
      await expect(w.provider.verify(after.apiKey)).resolves.toEqual({ principal: expect.stringContaining(`:user/${w.user}`) });
      await w.clock.advance(7 * DAY - DAY - HOUR - 2000);
    }
    expect(w.audit.currentKeyHits).toEqual([]);
    expect(w.audit.quotaErrors).toBe(0);
    expect(w.quotaRelief()).toBe(0);
    expect(w.audit.revoked).toHaveLength(3);
    expect(w.audit.disabled).toEqual(w.audit.revoked);
  });

  it('frees the previous key, not the current one, when a rotation meets a full user (revoker late)', async () => {
    // Prepare: one rotation whose old key the revoker never got to, grace long over
    const w = await world({ rotateEvery: '7d', gracePeriod: '1d' });
    const first = w.current();
    await w.rotation();
    const second = w.current();
    await w.clock.advance(2 * DAY);

    // Act
    await w.rotation();

    // Assess: createSecret met the limit, the revoker's freeQuota deleted the old key, and the rotation went through
    const third = w.current();
    expect(w.audit.quotaErrors).toBe(1);
    expect(w.quotaRelief()).toBe(1);
    expect(w.audit.revoked).toEqual([first.keyId]);
    expect(w.audit.currentKeyHits).toEqual([]);
    expect((await w.iamKeys()).map((k) => k.AccessKeyId).sort()).toEqual([second.keyId, third.keyId].sort());
    await expect(w.provider.verify(second.apiKey)).resolves.toBeDefined();
    await expect(w.provider.verify(third.apiKey)).resolves.toBeDefined();
  });

  it('fails the rotation rather than revoke a key still in its grace period', async () => {
    // Prepare: rotate twice within the grace period (an operator's manual rotation)
    const w = await world({ rotateEvery: '7d', gracePeriod: '1d' });
    const previous = w.current();
    await w.rotation();
    const current = w.current();
    await w.clock.advance(HOUR);

    // Act
    const err = await w.rotation().catch((e: unknown) => e);

    // Assess: the limit is reported, nothing was revoked, AWSCURRENT did not move, and both keys still authenticate
    expect(err).toBeInstanceOf(RotationQuotaError);
    expect(w.quotaRelief()).toBe(1);
    expect(w.audit.revoked).toEqual([]);
    expect(w.current().keyId).toBe(current.keyId);
    expect((await w.iamKeys()).map((k) => k.AccessKeyId).sort()).toEqual([previous.keyId, current.keyId].sort());
    await expect(w.provider.verify(current.apiKey)).resolves.toBeDefined();
    await expect(w.provider.verify(previous.apiKey)).resolves.toBeDefined();
  });
});
