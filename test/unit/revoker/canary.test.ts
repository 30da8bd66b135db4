import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../../core/metrics';
import { formatSecretValue } from '../../../core/secret-value';
import { providerKeyLabel, readManagedSecret, setFrozen, type KeySettings } from '../../../core/state';
import { AUTO_EMERGENCY_LIMIT_MS, BREAKER_KEYS } from '../../../lambda/revoker/automatic';
import { RevokerWorld } from '../../support/revoker-harness';

/**
 * Leak response without a human (issue 19): the canary verifies each current key on its schedule; a key the provider
 * rejects while the admin credential works is replaced and revoked on its own; an outage or a rejected admin
 * credential rotates nothing; many dead keys of one provider open the breaker; limits hold automatic action back.
 */

const CANARY: Partial<KeySettings> = { canaryEvery: 300 };

/** Worlds whose `RotateSecret` runs the harness's model of the four steps, with the revoker's token. */
function worlds(names: string[], settings: Partial<KeySettings> = CANARY): RevokerWorld[] {
  const first = new RevokerWorld(names[0], settings, 20);
  const all = [first, ...names.slice(1).map((n) => first.also(n, settings))];
  first.deps.rotateSecret = async (arn, token) => {
    const world = all.find((w) => w.arn === arn) as RevokerWorld;
    world.sm.startRotation(arn, token);
    const issued = await world.provider.issue({ label: providerKeyLabel(world, token) });
    const value = { apiKey: issued.apiKey, keyId: issued.keyId, provider: 'fake', issuedAt: new Date(world.clock.now()).toISOString() };
    await world.sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token, SecretString: formatSecretValue(value), VersionStages: ['AWSPENDING'] }));
    await world.finish(token);
  };
  return all;
}

/** A rotated world whose current key the provider then refuses (a scanning partner revoked it behind keyrelay's back). */
async function deadKey(world: RevokerWorld): Promise<string> {
  await world.rotate();
  const dead = world.value('AWSCURRENT').keyId;
  (world.provider.keys.get(dead) as { status: string }).status = 'disabled';
  return dead;
}

describe('Canary: a dead current key is healed without a human', () => {
  it('rotates, revokes the dead key, audits the trigger and notes the verdict', async () => {
    // Prepare
    const [world] = worlds(['payments/api']) as [RevokerWorld];
    const dead = await deadKey(world);

    // Act
    const response = await world.handler({ action: 'canary' });

    // Assess
    const current = world.value('AWSCURRENT');
    expect(current.keyId).not.toBe(dead);
    expect(world.status(current.keyId)).toBe('active');
    expect(world.status(dead)).toBe('deleted');
    expect(response.keys).toEqual([expect.objectContaining({ keyId: dead, outcome: 'revoked' })]);
    expect(await world.record(dead)).toMatchObject({ phase: 'revoked', reason: 'emergency', by: 'keyrelay:canary' });
    const audit = world.logger.lines.find((l) => l.attributes.action === 'automaticEmergency');
    expect(audit?.attributes).toMatchObject({ trigger: 'canary', keyId: dead, operator: 'keyrelay:canary' });
    expect(world.metrics.sum(METRICS.canaryKeyRejected)).toBe(1);
    expect(world.metrics.sum(METRICS.autoEmergencyDone)).toBe(1);
    const secret = await readManagedSecret(world.sm.client, world.arn);
    expect(secret.canary).toMatchObject({ verdict: 'rejected', action: 'rotated' });
    expect(secret.lastAutoEmergency).toMatchObject({ trigger: 'canary', keyId: dead });
  });

  it('leaves a key that works alone, and notes ok', async () => {
    // Prepare
    const [world] = worlds(['payments/api']) as [RevokerWorld];
    await world.rotate();
    const before = world.value('AWSCURRENT').keyId;

    // Act
    await world.handler({ action: 'canary' });

    // Assess
    expect(world.value('AWSCURRENT').keyId).toBe(before);
    expect((await readManagedSecret(world.sm.client, world.arn)).canary?.verdict).toBe('ok');
    expect(world.metrics.sum(METRICS.canaryKeyRejected)).toBe(0);
  });

  it('checks a key only when its interval has passed, and never a key without a canary', async () => {
    // Prepare
    const [world, off] = worlds(['payments/api', 'search/api'], {}) as [RevokerWorld, RevokerWorld];
    const on = world.also('billing/api', CANARY);
    for (const w of [world, off, on]) await w.rotate();
    await world.handler({ action: 'canary' });
    const verifies = () => world.provider.calls.filter((c) => c.op === 'verify').length;
    const first = verifies();

    // Act: two minutes later (not due), then five (due)
    world.clock.advance(120_000);
    await world.handler({ action: 'canary' });
    const notDue = verifies();
    world.clock.advance(180_000);
    await world.handler({ action: 'canary' });

    // Assess: only billing/api has a canary
    expect(first).toBe(1);
    expect(notDue).toBe(1);
    expect(verifies()).toBe(2);
    expect((await readManagedSecret(world.sm.client, off.arn)).canary).toBeUndefined();
  });
});

describe('Canary: what it cannot judge rotates nothing', () => {
  it('a provider outage: no rotation, CanaryInconclusive', async () => {
    // Prepare
    const [world] = worlds(['payments/api']) as [RevokerWorld];
    await world.rotate();
    const before = world.value('AWSCURRENT').keyId;
    world.provider.fail({ op: 'verify', error: 'unavailable', times: 10 });

    // Act
    await world.handler({ action: 'canary' });

    // Assess
    expect(world.value('AWSCURRENT').keyId).toBe(before);
    expect(world.metrics.sum(METRICS.canaryInconclusive)).toBe(1);
    expect(world.metrics.sum(METRICS.autoEmergencyDone)).toBe(0);
    expect((await readManagedSecret(world.sm.client, world.arn)).canary?.verdict).toBe('provider-unavailable');
  });

  it('a key rejected while the admin credential is rejected too: no rotation, CanaryInconclusive', async () => {
    // Prepare
    const [world] = worlds(['payments/api']) as [RevokerWorld];
    const dead = await deadKey(world);
    world.provider.fail({ op: 'list', error: 'auth', times: 10 });

    // Act
    await world.handler({ action: 'canary' });

    // Assess
    expect(world.value('AWSCURRENT').keyId).toBe(dead);
    expect(world.metrics.sum(METRICS.canaryInconclusive)).toBe(1);
    expect((await readManagedSecret(world.sm.client, world.arn)).canary?.verdict).toBe('admin-rejected');
  });
});

describe('Canary: limits', () => {
  it(`opens the breaker when ${BREAKER_KEYS} keys of one provider are dead at once: none rotates`, async () => {
    // Prepare
    const all = worlds(['a/api', 'b/api', 'c/api']);
    const dead: string[] = [];
    for (const w of all) dead.push(await deadKey(w));

    // Act
    await all[0]!.handler({ action: 'canary' });

    // Assess
    for (const [i, w] of all.entries()) expect(w.value('AWSCURRENT').keyId).toBe(dead[i]);
    expect(all[0]!.metrics.sum(METRICS.canaryBreakerOpen)).toBe(1);
    expect(all[0]!.metrics.sum(METRICS.autoEmergencyHeld)).toBe(3);
    for (const w of all) expect((await readManagedSecret(w.sm.client, w.arn)).canary).toMatchObject({ verdict: 'rejected', action: 'held-breaker' });
  });

  it('two dead keys of one provider are still rotated (below the breaker)', async () => {
    // Prepare
    const all = worlds(['a/api', 'b/api']);
    for (const w of all) await deadKey(w);

    // Act
    await all[0]!.handler({ action: 'canary' });

    // Assess
    expect(all[0]!.metrics.sum(METRICS.autoEmergencyDone)).toBe(2);
  });

  it('at most one automatic emergency per key per hour', async () => {
    // Prepare: healed once, then the new key dies too
    const [world] = worlds(['payments/api']) as [RevokerWorld];
    await deadKey(world);
    await world.handler({ action: 'canary' });
    const second = world.value('AWSCURRENT').keyId;
    (world.provider.keys.get(second) as { status: string }).status = 'disabled';

    // Act: five minutes later, held; an hour after the first, healed
    world.clock.advance(300_000);
    await world.handler({ action: 'canary' });
    const held = world.value('AWSCURRENT').keyId;
    world.clock.advance(AUTO_EMERGENCY_LIMIT_MS);
    await world.handler({ action: 'canary' });

    // Assess
    expect(held).toBe(second);
    expect(world.metrics.sum(METRICS.autoEmergencyHeld)).toBe(1);
    expect(world.value('AWSCURRENT').keyId).not.toBe(second);
    expect(world.metrics.sum(METRICS.autoEmergencyDone)).toBe(2);
  });

  it.each([
    ['turned off for the key', { ...CANARY, autoEmergency: false as const }, 'held-off'],
    ['the key is frozen', CANARY, 'held-frozen'],
  ])('holds the emergency when %s, and alarms', async (_, settings, action) => {
    // Prepare
    const [world] = worlds(['payments/api'], settings) as [RevokerWorld];
    const dead = await deadKey(world);
    if (action === 'held-frozen') await setFrozen(world.sm.client, world.arn, 'INC-1 ana: provider migration');

    // Act
    await world.handler({ action: 'canary' });

    // Assess
    expect(world.value('AWSCURRENT').keyId).toBe(dead);
    expect(world.metrics.sum(METRICS.autoEmergencyHeld)).toBe(1);
    expect((await readManagedSecret(world.sm.client, world.arn)).canary?.action).toBe(action);
  });
});
