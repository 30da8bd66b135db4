import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { manifestTrust, MANIFEST_VERSION, type Manifest, UndeclaredSecretError } from '../../../core/manifest';
import { providerKeyLabel, putKeyRecord } from '../../../core/state';
import { freeQuota } from '../../../lambda/revoker/actions';
import { createRevokerHandler } from '../../../lambda/revoker/handler';
import { KeyInUseError, KeyMovedError, NothingToDoError } from '../../../lambda/revoker/errors';
import { RevokerWorld, rotatedWorld, TEST_SETTINGS } from '../../support/revoker-harness';

// The operator actions' refusals, audit lines and edge states that no other test reached (issue 14's mutation
// survivors of lambda/revoker/actions.ts). Log lines are asserted by their fields, never their sentences.

const HOUR = 3_600_000;
const who = { reason: 'key pasted in a public issue', operator: 'ana' };

/** The version a stage is on. */
function versionOf(world: RevokerWorld, stage: string): string | undefined {
  return Object.entries(world.sm.stages(world.arn)).find(([, s]) => s.includes(stage))?.[0];
}

/** Fields of the audit lines written so far. */
function audits(world: RevokerWorld): Array<Record<string, unknown>> {
  return world.logger.lines.filter((l) => l.attributes.audit === true).map((l) => l.attributes);
}

/** The `op` of every provider call the revoker retried. */
function retriedOps(world: RevokerWorld): unknown[] {
  return world.logger.lines.filter((l) => l.attributes.attempt !== undefined && l.attributes.op !== undefined).map((l) => l.attributes.op);
}

describe('Operator actions: trust', () => {
  it('refuses to inspect a secret this deployment does not declare', async () => {
    // Prepare: a deployed revoker (with a manifest) that declares some other secret only
    const world = new RevokerWorld();
    await world.rotate();
    const manifest: Manifest = { version: MANIFEST_VERSION, keys: new Map([['other/api', TEST_SETTINGS]]), allowedOrigins: [] };
    const handler = createRevokerHandler({ ...world.deps, trust: manifestTrust(manifest, {}, () => undefined) });
    // Act
    const result = handler({ action: 'inspect', secretId: world.arn });
    // Assess
    await expect(result).rejects.toThrow(UndeclaredSecretError);
  });

  it('restores a key for the observation window the deployment declares, not one rewritten into the tags', async () => {
    // Prepare: the tags say 2 h; the deployed manifest says 4 h
    const { world, old } = await rotatedWorld({ observation: 7200 });
    const declared = { ...TEST_SETTINGS, observation: 4 * 3600 };
    const manifest: Manifest = { version: MANIFEST_VERSION, keys: new Map([['payments/api', declared]]), allowedOrigins: [] };
    const handler = createRevokerHandler({ ...world.deps, trust: manifestTrust(manifest, {}, () => undefined) });
    await world.clock.advance(HOUR);
    await handler({ action: 'revokeDue', secretId: world.arn });
    // Act
    await handler({ action: 'restore', secretId: world.arn, ...who });
    // Assess
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'grace', due: world.clock.now() + 4 * HOUR });
  });
});

describe('Operator actions: audit lines', () => {
  it('audits a cancel with the pending version, operator and reason', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    const token = await world.createPending();
    // Act
    await world.handler({ action: 'cancel', secretId: world.arn, ...who });
    // Assess
    expect(audits(world)).toEqual([{ audit: true, action: 'cancel', secret: 'payments/api', pendingVersion: token, ...who }]);
  });

  it('audits a cancel with nothing pending too, naming no version', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    // Act
    await world.handler({ action: 'cancel', secretId: world.arn, ...who });
    // Assess
    expect(audits(world)).toEqual([{ audit: true, action: 'cancel', secret: 'payments/api', pendingVersion: null, ...who }]);
  });

  it('audits a restore with the key, operator and reason', async () => {
    // Prepare: the previous key disabled by the sweep (two-phase)
    const { world, old } = await rotatedWorld({ observation: 7200 });
    await world.clock.advance(HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Act
    await world.handler({ action: 'restore', secretId: world.arn, ...who });
    // Assess
    expect(audits(world)).toEqual([{ audit: true, action: 'restore', secret: 'payments/api', keyId: old.keyId, ...who }]);
  });
});

describe('Operator actions: retried provider calls are logged with their operation', () => {
  it('names the listing that cancel, inspect and freeQuota retried', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    await world.createPending();
    // Act: each listing is throttled once
    world.provider.fail({ op: 'list', error: 'throttled', times: 1 });
    await world.handler({ action: 'cancel', secretId: world.arn, ...who });
    world.provider.fail({ op: 'list', error: 'throttled', times: 1 });
    await world.handler({ action: 'inspect', secretId: world.arn });
    world.provider.fail({ op: 'list', error: 'throttled', times: 1 });
    await freeQuota(world.deps, world, world.provider);
    // Assess
    expect(retriedOps(world)).toEqual(['list', 'list', 'list']);
  });

  it('names the enable that restore retried', async () => {
    // Prepare
    const { world } = await rotatedWorld({ observation: 7200 });
    await world.clock.advance(HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    world.provider.fail({ op: 'enable', error: 'throttled', times: 1 });
    // Act
    await world.handler({ action: 'restore', secretId: world.arn, ...who });
    // Assess
    expect(retriedOps(world)).toEqual(['enable']);
  });
});

describe('Action: revokeNow, refusals', () => {
  it('names every stage that still uses a key it refuses', async () => {
    // Prepare: AWSPENDING left on the current version (finishSecret ends that way)
    const { world } = await rotatedWorld();
    const current = world.value('AWSCURRENT');
    await world.sm.send(new UpdateSecretVersionStageCommand({ SecretId: world.arn, VersionStage: 'AWSPENDING', MoveToVersionId: versionOf(world, 'AWSCURRENT') }));
    // Act
    const result = world.handler({ action: 'revokeNow', secretId: world.arn, keyId: current.keyId, ...who });
    // Assess
    await expect(result).rejects.toThrow(KeyInUseError);
    await expect(result).rejects.toThrow(/AWSCURRENT and AWSPENDING/);
    expect(world.status(current.keyId)).toBe('active');
  });

  it("refuses another secret's key before it writes a record or an audit line", async () => {
    // Prepare
    const { world } = await rotatedWorld();
    const other = await world.provider.issue({ label: providerKeyLabel({ arn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:other/secret-XyZ123', name: 'other/secret' }, 't') });
    // Act
    const result = world.handler({ action: 'revokeNow', secretId: world.arn, keyId: other.keyId, ...who });
    // Assess
    await expect(result).rejects.toThrow(KeyInUseError);
    expect(await world.record(other.keyId)).toBeUndefined();
    expect(audits(world)).toEqual([]);
    expect(world.status(other.keyId)).toBe('active');
  });

  it('names both versions when the previous version is not the one the operator confirmed', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    const previous = versionOf(world, 'AWSPREVIOUS')!;
    // Act
    const result = world.handler({ action: 'revokeNow', secretId: world.arn, previous: true, expectedVersionId: 'confirmed-version', ...who });
    // Assess
    await expect(result).rejects.toThrow(KeyMovedError);
    await expect(result).rejects.toThrow(previous);
    await expect(result).rejects.toThrow('confirmed-version');
  });

  it('says there is no previous key to revoke when AWSPREVIOUS holds no keyrelay value, naming that version', async () => {
    // Prepare: a hand-written value moved to AWSPREVIOUS
    const { world } = await rotatedWorld();
    await world.sm.send(new PutSecretValueCommand({ SecretId: world.arn, ClientRequestToken: 'by-hand', SecretString: 'not a keyrelay value', VersionStages: ['AWSPREVIOUS'] }));
    // Act
    const result = world.handler({ action: 'revokeNow', secretId: world.arn, previous: true, ...who });
    // Assess
    await expect(result).rejects.toThrow(NothingToDoError);
    await expect(result).rejects.toThrow(/'payments\/api'.*by-hand.*keyId/);
  });
});

describe('Action: revokeNow, the record it leaves', () => {
  it('leaves an emergency record that the sweep finishes at once, skipping the usage hold and the observation window', async () => {
    // Prepare: a secret with both, the previous key in use, and a provider that fails every revoke attempt of this call
    const { world, old } = await rotatedWorld({ observation: 7200, usageQuiet: 600, usageMaxHold: 6 * 3600 });
    world.provider.use(world.provider.keys.get(old.keyId)!.apiKey);
    world.provider.fail({ op: 'revoke', error: 'unavailable', times: 6 });
    await expect(world.handler({ action: 'revokeNow', secretId: world.arn, previous: true, ...who })).rejects.toThrow();
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'grace', reason: 'emergency', by: 'ana' });
    // Act
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(world.status(old.keyId)).toBe('deleted');
    expect(world.provider.calls.filter((c) => c.keyId === old.keyId).map((c) => c.op)).not.toContain('disable');
  });
});

describe('Action: revokeWithoutReplacement, nothing to revoke', () => {
  it('says the secret has no current key', async () => {
    // Prepare: a declared secret that never held a key
    const world = new RevokerWorld();
    // Act
    const result = world.handler({ action: 'revokeWithoutReplacement', secretId: world.arn, acceptDowntime: true, ...who });
    // Assess
    await expect(result).rejects.toThrow(NothingToDoError);
    await expect(result).rejects.toThrow(/'payments\/api' has no current key/);
  });
});

describe('Action: cancel, racing finishSecret', () => {
  it('revokes nothing when finishSecret claimed the pending version first, and says how to see the outcome', async () => {
    // Prepare: the label removal loses to finishSecret's
    const { world } = await rotatedWorld();
    const token = await world.createPending();
    const pending = world.value('AWSPENDING');
    world.sm.beforeSend = (command) => {
      if (command === 'UpdateSecretVersionStage') {
        throw Object.assign(new Error('version does not have AWSPENDING'), { name: 'InvalidParameterException' });
      }
    };
    // Act
    const result = world.handler({ action: 'cancel', secretId: world.arn, ...who });
    // Assess
    await expect(result).rejects.toThrow(NothingToDoError);
    await expect(result).rejects.toThrow(token);
    await expect(result).rejects.toThrow('keyrelay status payments/api');
    expect(world.status(pending.keyId)).toBe('active');
    expect(await world.record(pending.keyId)).toBeUndefined();
  });

  it('fails with the error itself when removing the label fails otherwise, revoking nothing', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    await world.createPending();
    const pending = world.value('AWSPENDING');
    world.sm.beforeSend = (command) => {
      if (command === 'UpdateSecretVersionStage') throw Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' });
    };
    // Act
    const result = world.handler({ action: 'cancel', secretId: world.arn, ...who });
    // Assess
    await expect(result).rejects.toThrow(expect.objectContaining({ name: 'AccessDeniedException' }));
    expect(world.status(pending.keyId)).toBe('active');
  });

  it('leaves a cancelled key whose deadline is still ahead (a revoker whose clock ran ahead wrote it)', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    const ahead = await world.provider.issue({ label: providerKeyLabel(world, 'ahead') });
    await putKeyRecord(world.sm.client, world.arn, { keyId: ahead.keyId, phase: 'grace', due: world.clock.now() + HOUR, reason: 'cancel', by: 'bo' });
    // Act
    await world.handler({ action: 'cancel', secretId: world.arn, ...who });
    // Assess
    expect(world.status(ahead.keyId)).toBe('active');
  });
});

describe('Action: restore, edge states', () => {
  it('repeating a restore after two keys were restored answers for the most recently restored one', async () => {
    // Prepare: two disabled keys, each restored by id, the newer one last
    const { world, old: older } = await rotatedWorld({ observation: 7200 });
    await world.clock.advance(HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    const newer = world.value('AWSCURRENT');
    await world.rotate();
    await world.clock.advance(HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    await world.handler({ action: 'restore', secretId: world.arn, keyId: older.keyId, ...who });
    await world.clock.advance(60_000);
    await world.handler({ action: 'restore', secretId: world.arn, keyId: newer.keyId, ...who });
    // Act
    const again = await world.handler({ action: 'restore', secretId: world.arn, ...who });
    // Assess
    expect(again.keys).toEqual([expect.objectContaining({ keyId: newer.keyId, outcome: 'restored', detail: 'already grace' })]);
  });

  it('with nothing disabled, says so (and how to look) even when a key restored earlier was deleted since', async () => {
    // Prepare: a restored key whose grace then ran out, so the sweep deleted it (its record keeps reason 'restored')
    const { world, old } = await rotatedWorld({ observation: 7200 });
    await world.clock.advance(HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    await world.handler({ action: 'restore', secretId: world.arn, ...who });
    await world.clock.advance(3 * HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    await world.clock.advance(3 * HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'revoked', reason: 'restored' });
    // Act
    const result = world.handler({ action: 'restore', secretId: world.arn, ...who });
    // Assess
    await expect(result).rejects.toThrow(NothingToDoError);
    await expect(result).rejects.toThrow(/no disabled key to restore.*inspect the secret/);
  });

  it('refuses with the provider named when the provider cannot enable keys, leaving the key disabled', async () => {
    // Prepare
    const { world, old } = await rotatedWorld({ observation: 7200 });
    await world.clock.advance(HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    Object.assign(world.provider, { enable: undefined });
    // Act
    const result = world.handler({ action: 'restore', secretId: world.arn, ...who });
    // Assess
    await expect(result).rejects.toThrow(NothingToDoError);
    await expect(result).rejects.toThrow(/'fake' cannot enable keys/);
    expect(world.status(old.keyId)).toBe('disabled');
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'disabled' });
  });
});

describe('Action: inspect, edge states', () => {
  it('names the admin secret to fix when the provider rejects the admin credential', async () => {
    // Prepare
    const { world } = await rotatedWorld({ adminSecret: 'keyrelay/admin/fake' });
    world.provider.fail({ op: 'list', error: 'auth' });
    // Act
    const response = await world.handler({ action: 'inspect', secretId: world.arn });
    // Assess
    expect(response.inspect?.problems).toEqual([expect.stringContaining("'keyrelay/admin/fake'")]);
  });

  it('still answers when AWSPREVIOUS holds no keyrelay value', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    await world.sm.send(new PutSecretValueCommand({ SecretId: world.arn, ClientRequestToken: 'by-hand', SecretString: 'not a keyrelay value', VersionStages: ['AWSPREVIOUS'] }));
    const current = world.value('AWSCURRENT');
    // Act
    const response = await world.handler({ action: 'inspect', secretId: world.arn });
    // Assess
    expect(response.inspect?.keys).toContainEqual(expect.objectContaining({ keyId: current.keyId, stages: ['AWSCURRENT'] }));
  });

  it('lists the current key even when it was imported under another label', async () => {
    // Prepare: the current key was issued outside keyrelay (imported), so it carries no label of this secret
    const world = new RevokerWorld();
    const imported = await world.provider.issue({ label: 'made by hand' });
    await world.sm.send(new PutSecretValueCommand({
      SecretId: world.arn, ClientRequestToken: 'import',
      SecretString: JSON.stringify({ apiKey: imported.apiKey, keyId: imported.keyId, provider: 'fake', issuedAt: '2026-11-01T00:00:00Z' }),
    }));
    // Act
    const response = await world.handler({ action: 'inspect', secretId: world.arn });
    // Assess
    expect(response.inspect?.keys).toEqual([expect.objectContaining({ keyId: imported.keyId, stages: ['AWSCURRENT'] })]);
  });
});
