import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { providerKeyLabel } from '../../../core/state';
import { freeQuota } from '../../../lambda/revoker/actions';
import { createRotationHandler } from '../../../lambda/rotation';
import { RotationQuotaError } from '../../../lambda/rotation/errors';
import { RevokerWorld } from '../../support/revoker-harness';

const HOUR = 3_600_000;

/**
 * A new secret (issue 20): its AWSCURRENT holds a placeholder that is not a keyrelay value (the local stack and AWS
 * create secrets with `{}` or nothing), and the admin credential's quota is full with other secrets' keys.
 */
async function newSecretWithFullQuota(quota: number): Promise<RevokerWorld> {
  const world = new RevokerWorld('payments/new', {}, quota);
  for (let i = 0; i < quota; i++) await world.provider.issue({ label: providerKeyLabel({ arn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:other/s${i}-AbCdEf`, name: `other/s${i}` }, 't') });
  await world.sm.send(new PutSecretValueCommand({ SecretId: world.arn, SecretString: '{}', VersionStages: ['AWSCURRENT'] }));
  return world;
}

describe('Function: freeQuota on a new secret', () => {
  it('treats a current value that is not a keyrelay value as holding no key and frees what is due', async () => {
    // Prepare: one of this secret's own keys, orphaned long ago (a crashed first rotation), holds the last slot
    const world = new RevokerWorld('payments/new', {}, 2);
    await world.provider.issue({ label: providerKeyLabel({ arn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:other/s-AbCdEf', name: 'other/s' }, 't') });
    const crashed = await world.provider.issue({ label: providerKeyLabel(world, 'crashed-token') });
    await world.sm.send(new PutSecretValueCommand({ SecretId: world.arn, SecretString: '{}', VersionStages: ['AWSCURRENT'] }));
    await world.clock.advance(2 * HOUR);
    expect(await freeQuota(world.deps, { arn: world.arn }, world.provider)).toBe(0); // first sighting: a grace period
    await world.clock.advance(2 * HOUR);
    // Act
    const freed = await freeQuota(world.deps, { arn: world.arn }, world.provider);
    // Assess
    expect(freed).toBe(1);
    expect(world.status(crashed.keyId)).toBe('deleted');
  });

  it('lets the rotation fail with the quota error that names the way out, not a StateError', async () => {
    // Prepare
    const world = await newSecretWithFullQuota(2);
    const rotate = createRotationHandler({
      ...world.deps,
      events: { keyRotated: async () => undefined },
      logger: new Logger({ serviceName: 'keyrelay', logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'keyrelay', serviceName: 'keyrelay' }),
      retry: { random: () => 0.5 },
      onQuotaFull: (secret, provider) => freeQuota(world.deps, secret, provider),
    });
    world.sm.startRotation(world.arn, 'first');
    // Act
    const result = rotate({ Step: 'createSecret', SecretId: world.arn, ClientRequestToken: 'first' });
    // Assess
    await expect(result).rejects.toThrow(RotationQuotaError);
    await expect(result).rejects.toThrow(/quota of 2 keys for this admin credential is full \(freed 0 expired key\(s\) first\)\. Way out/);
    expect(world.provider.alive()).toHaveLength(2);
  });

  it('still refuses a current value that names a key id but is otherwise invalid (that key may be in use)', async () => {
    // Prepare
    const world = await newSecretWithFullQuota(2);
    await world.sm.send(new PutSecretValueCommand({ SecretId: world.arn, SecretString: '{"keyId":"fk-1"}', VersionStages: ['AWSCURRENT'] }));
    // Act
    const result = freeQuota(world.deps, { arn: world.arn }, world.provider);
    // Assess
    await expect(result).rejects.toThrow(/value is invalid at 'apiKey'/);
  });
});
