import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../../core/metrics';
import { AWS_EVENTS_ALIAS } from '../../../core/ports';
import { formatSecretValue } from '../../../core/secret-value';
import { providerKeyLabel, readManagedSecret } from '../../../core/state';
import { UntrustedEventError } from '../../../lambda/revoker/errors';
import { exposedKeyIds } from '../../../lambda/revoker/health';
import { RevokerWorld } from '../../support/revoker-harness';

/**
 * AWS Health `AWS_RISK_CREDENTIALS_EXPOSED` (issue 19): an exposed access key keyrelay manages is replaced and revoked
 * on its own; other keys are only reported; and only the rule's invocation (its alias, which Lambda reports in
 * `invokedFunctionArn`) is believed: a direct `Invoke` carrying the same payload changes nothing.
 */

const REVOKER = 'arn:aws:lambda:us-east-1:123456789012:function:KeyRelay-revoker';
const viaRule = { getRemainingTimeInMillis: () => 600_000, invokedFunctionArn: `${REVOKER}:${AWS_EVENTS_ALIAS}` };

/** The event as AWS Health delivers it (shape of AWS's own sample, aws/aws-health-tools). */
function exposed(accessKeyId: string): Record<string, unknown> {
  return {
    version: '0', id: '121345678-1234-1234-1234-123456789012', 'detail-type': 'AWS Health Event', source: 'aws.health',
    account: '123456789012', time: '2026-12-04T06:27:57Z', region: 'us-east-1', resources: [],
    detail: {
      eventArn: 'arn:aws:health:global::event/AWS_RISK_CREDENTIALS_EXPOSED_XXXXXXXXXXXXXXXXX', service: 'RISK',
      eventTypeCode: 'AWS_RISK_CREDENTIALS_EXPOSED', eventTypeCategory: 'issue', startTime: 'Fri, 04 Dec 2026 06:10:09 GMT',
      eventDescription: [{ language: 'en_US', latestDescription: 'exposed' }], affectedEntities: [{ entityValue: accessKeyId }],
    },
  };
}

async function iamWorld(): Promise<RevokerWorld> {
  return (await iamWorlds(['ci/deployer']))[0] as RevokerWorld;
}

/** IAM secrets sharing one revoker, each rotated once; `RotateSecret` runs the harness's model of the steps. */
async function iamWorlds(names: string[]): Promise<RevokerWorld[]> {
  const first = new RevokerWorld(names[0], { provider: 'aws-iam' }, 20);
  const all = [first, ...names.slice(1).map((n) => first.also(n, { provider: 'aws-iam' }))];
  first.provider.idPrefix = 'AKIAFAKEKEYID0000';
  first.deps.rotateSecret = async (arn, token) => {
    const world = all.find((w) => w.arn === arn) as RevokerWorld;
    world.sm.startRotation(arn, token);
    const issued = await world.provider.issue({ label: providerKeyLabel(world, token) });
    const value = { apiKey: issued.apiKey, keyId: issued.keyId, provider: 'aws-iam', issuedAt: new Date(world.clock.now()).toISOString() };
    await world.sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token, SecretString: formatSecretValue(value), VersionStages: ['AWSPENDING'] }));
    await world.finish(token);
  };
  for (const w of all) await w.rotate();
  return all;
}

describe('AWS Health: exposed access keys', () => {
  it('reads the access key id where AWS puts it (detail.affectedEntities[].entityValue)', () => {
    expect(exposedKeyIds(exposed(`AKIA${'X'.repeat(16)}`)).keyIds).toEqual([`AKIA${'X'.repeat(16)}`]);
    expect(exposedKeyIds({ ...exposed(`AKIA${'X'.repeat(16)}`), detail: { eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE' } }).keyIds).toEqual([]);
  });

  it("replaces and revokes the exposed key of a keyrelay secret, naming AWS Health in the audit line", async () => {
    // Prepare
    const world = await iamWorld();
    const leaked = world.value('AWSCURRENT').keyId;

    // Act
    const response = await world.handler(exposed(leaked), viaRule);

    // Assess
    expect(response.action).toBe('awsHealth');
    expect(world.value('AWSCURRENT').keyId).not.toBe(leaked);
    expect(world.status(leaked)).toBe('deleted');
    expect(world.metrics.sum(METRICS.healthKeyExposed)).toBe(1);
    expect(world.logger.lines.find((l) => l.attributes.action === 'automaticEmergency')?.attributes).toMatchObject({ trigger: 'aws-health', keyId: leaked });
    expect((await readManagedSecret(world.sm.client, world.arn)).lastAutoEmergency).toMatchObject({ trigger: 'aws-health', keyId: leaked });
  });

  it('only reports an exposed key keyrelay does not manage', async () => {
    // Prepare
    const world = await iamWorld();
    const current = world.value('AWSCURRENT').keyId;

    // Act
    await world.handler(exposed(`AKIA${'X'.repeat(16)}`), viaRule);

    // Assess
    expect(world.value('AWSCURRENT').keyId).toBe(current);
    expect(world.metrics.sum(METRICS.healthKeyUnmanaged)).toBe(1);
    expect(world.metrics.sum(METRICS.autoEmergencyDone)).toBe(0);
  });

  it.each([
    ['a direct Invoke of the function', `${REVOKER}`],
    ['another qualifier', `${REVOKER}:live`],
    ['no context', undefined],
  ])('refuses the same payload arriving through %s: nothing changes', async (_, invokedFunctionArn) => {
    // Prepare
    const world = await iamWorld();
    const leaked = world.value('AWSCURRENT').keyId;
    const context = invokedFunctionArn === undefined ? undefined : { getRemainingTimeInMillis: () => 600_000, invokedFunctionArn };

    // Act
    const refused = world.handler(exposed(leaked), context);

    // Assess
    await expect(refused).rejects.toBeInstanceOf(UntrustedEventError);
    expect(world.value('AWSCURRENT').keyId).toBe(leaked);
    expect(world.status(leaked)).toBe('active');
    expect(world.metrics.sum(METRICS.untrustedEvent)).toBe(1);
  });

  it('a canary payload cannot carry a verdict: a key that works is not rotated', async () => {
    // Prepare
    const world = await iamWorld();
    const current = world.value('AWSCURRENT').keyId;

    // Act: a caller claims the key is dead
    await world.handler({ action: 'canary', secretId: world.arn, verdict: 'rejected', keyId: current });

    // Assess
    expect(world.value('AWSCURRENT').keyId).toBe(current);
  });

  it('holds the second exposure of a key within the hour', async () => {
    // Prepare
    const world = await iamWorld();
    await world.handler(exposed(world.value('AWSCURRENT').keyId), viaRule);
    const replacement = world.value('AWSCURRENT').keyId;

    // Act
    await world.handler(exposed(replacement), viaRule);

    // Assess
    expect(world.value('AWSCURRENT').keyId).toBe(replacement);
    expect(world.metrics.sum(METRICS.autoEmergencyHeld)).toBe(1);
  });
});

describe('AWS Health: the breaker', () => {
  it('holds the third automatic emergency of one provider within the hour, and alarms', async () => {
    // Prepare
    const worlds = await iamWorlds(['a/iam', 'b/iam', 'c/iam']);
    const [a, b, c] = worlds as [RevokerWorld, RevokerWorld, RevokerWorld];
    await a.handler(exposed(a.value('AWSCURRENT').keyId), viaRule);
    await b.handler(exposed(b.value('AWSCURRENT').keyId), viaRule);
    const third = c.value('AWSCURRENT').keyId;

    // Act
    await c.handler(exposed(third), viaRule);

    // Assess
    expect(c.value('AWSCURRENT').keyId).toBe(third);
    expect(c.metrics.sum(METRICS.autoEmergencyDone)).toBe(2);
    expect(c.metrics.sum(METRICS.canaryBreakerOpen)).toBe(1);
  });
});
