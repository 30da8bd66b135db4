import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../../core/secret-value';
import { providerKeyLabel, putKeyRecord } from '../../../core/state';
import { KeyInUseError, NothingToDoError, RevocationFailedError, RevokerRequestError } from '../../../lambda/revoker/errors';
import { freeQuota } from '../../../lambda/revoker/actions';
import { ORPHAN_MIN_AGE_MS } from '../../../lambda/revoker/keys';
import { RevokerWorld, rotatedWorld as rotated } from '../../support/revoker-harness';

const HOUR = 3_600_000;
const who = { reason: 'key pasted in a public issue', operator: 'ana' };

describe('Function: createRevokerHandler', () => {
  it.each([
    [{ action: 'explode', secretId: 's' }, /at 'action'/],
    [{ action: 'revokeDue' }, /at 'secretId'/],
    [{ action: 'revokeWithoutReplacement', secretId: 's', reason: 'r', operator: 'o', acceptDowntime: false }, /'acceptDowntime': must be true/],
    [{ action: 'revokeNow', secretId: 's', reason: 'r', operator: 'o' }, /exactly one of 'keyId' or 'previous: true'/],
    [{ action: 'revokeNow', secretId: 's', keyId: 'k', previous: true, reason: 'r', operator: 'o' }, /exactly one of/],
    [{ action: 'cancel', secretId: 's', operator: '  ' }, /at 'operator': must not be empty/],
    ['revokeDue', /at '\(payload\)'.*got "revokeDue"/],
  ])('throws RevokerRequestError naming the field for %j', async (payload, message) => {
    // Prepare
    const world = new RevokerWorld();
    // Act
    const result = world.handler(payload);
    // Assess
    await expect(result).rejects.toThrow(RevokerRequestError);
    await expect(result).rejects.toThrow(message);
    expect(world.sm.sent).toEqual([]);
  });
});

describe('Action: reconcile', () => {
  it('gives an orphan older than the rotation window a grace period from its first sighting, then revokes it', async () => {
    // Prepare
    const { world } = await rotated();
    const orphan = await world.provider.issue({ label: providerKeyLabel(world, 'crashed-token') });
    await world.clock.advance(ORPHAN_MIN_AGE_MS - 1000);
    await world.handler({ action: 'reconcile', secretId: world.arn });
    expect(await world.record(orphan.keyId)).toBeUndefined();
    await world.clock.advance(1000);
    await world.handler({ action: 'reconcile', secretId: world.arn });
    expect(await world.record(orphan.keyId)).toMatchObject({ phase: 'grace', due: world.clock.now() + HOUR, reason: 'orphan' });
    await world.clock.advance(HOUR);
    // Act
    await world.handler({ action: 'reconcile', secretId: world.arn });
    // Assess
    expect(world.status(orphan.keyId)).toBe('deleted');
    expect(await world.record(orphan.keyId)).toMatchObject({ phase: 'revoked', reason: 'orphan' });
    expect(world.metrics.sum('OrphansRevoked')).toBe(1);
  });

  it('leaves alone a key labelled with the pending token, keys of other secrets and unlabelled keys', async () => {
    // Prepare
    const { world } = await rotated();
    const token = `pending-token`;
    world.sm.startRotation(world.arn, token);
    const pending = await world.provider.issue({ label: providerKeyLabel(world, token) });
    const other = await world.provider.issue({ label: providerKeyLabel({ arn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:other/secret-XyZ123', name: 'other/secret' }, 'x') });
    const manual = await world.provider.issue({ label: 'made by hand' });
    await world.clock.advance(2 * HOUR);
    // Act
    await world.handler({ action: 'reconcile', secretId: world.arn });
    // Assess
    expect([pending, other, manual].map((k) => world.status(k.keyId))).toEqual(['active', 'active', 'active']);
  });

  it("never takes a key of another deployment's secret with the same name for an orphan", async () => {
    // Prepare: production, in another account, shares the provider admin credential and the secret name
    const { world } = await rotated();
    const production = { arn: world.arn.replace(':123456789012:', ':222222222222:').replace(/-[A-Za-z0-9]{6}$/, '-PrOdXy'), name: world.name };
    expect(production.arn).not.toBe(world.arn);
    const theirs = await world.provider.issue({ label: providerKeyLabel(production, 'their-current-token') });
    await world.clock.advance(30 * 24 * HOUR);
    // Act
    await world.handler({ action: 'reconcile', secretId: world.arn });
    await world.clock.advance(30 * 24 * HOUR);
    await world.handler({ action: 'reconcile', secretId: world.arn });
    // Assess
    expect(world.status(theirs.keyId)).toBe('active');
  });

  it('never revokes a previous key whose record was lost (rollback) sooner than a grace period from now', async () => {
    // Prepare
    const { world, old } = await rotated({ gracePeriod: 7200 });
    const { deleteKeyRecords } = await import('../../../core/state');
    await deleteKeyRecords(world.sm.client, world.arn, [old.keyId]);
    await world.clock.advance(ORPHAN_MIN_AGE_MS);
    // Act
    await world.handler({ action: 'reconcile', secretId: world.arn });
    // Assess
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'grace', due: world.clock.now() + 2 * HOUR, reason: 'orphan', versionId: expect.any(String) });
    expect(world.status(old.keyId)).toBe('active');
    await world.clock.advance(2 * HOUR);
    await world.handler({ action: 'reconcile', secretId: world.arn });
    expect(world.status(old.keyId)).toBe('deleted');
  });

  it('emits KeysPastDeadline and SecondsSinceLastRotation', async () => {
    // Prepare
    const { world } = await rotated();
    await world.clock.advance(2 * HOUR);
    world.provider.fail({ op: 'revoke', error: 'auth' });
    // Act
    const result = world.handler({ action: 'reconcile' });
    // Assess
    await expect(result).rejects.toThrow(RevocationFailedError);
    expect(world.metrics.last('KeysPastDeadline')).toBe(1);
    expect(world.metrics.last('SecondsSinceLastRotation')).toBe(7200);
  });

  it('sweeps every managed secret and reports a failing one without stopping the others', async () => {
    // Prepare
    const { world, old } = await rotated();
    world.sm.create('broken/secret', [{ Key: 'keyrelay:managed', Value: 'v1' }]);
    await world.clock.advance(HOUR);
    // Act
    const result = world.handler({ action: 'reconcile' });
    // Assess
    await expect(result).rejects.toThrow(/'arn:.*broken\/secret.*'.*tag 'keyrelay:provider' is missing/);
    expect(world.status(old.keyId)).toBe('deleted');
    expect(world.metrics.sum('RevocationFailed')).toBe(1);
  });
});

describe('Action: revokeNow', () => {
  it('deletes the previous key at once: no grace, no hold, no observation; audited', async () => {
    // Prepare
    const { world, old } = await rotated({ observation: 3600, usageQuiet: 600, usageMaxHold: 3600 });
    world.provider.use(world.provider.keys.get(old.keyId)!.apiKey);
    // Act
    const response = await world.handler({ action: 'revokeNow', secretId: world.arn, previous: true, ...who });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'revoked' })]);
    expect(world.status(old.keyId)).toBe('deleted');
    expect(world.provider.calls.map((c) => c.op)).not.toContain('disable');
    const line = world.logger.lines.find((l) => l.message === 'audit');
    expect(line?.attributes).toMatchObject({ action: 'revokeNow', keyId: old.keyId, ...who, fingerprint: fingerprint(world.provider.keys.get(old.keyId)!.apiKey) });
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'revoked', reason: 'emergency' });
  });

  it('refuses the key AWSCURRENT references', async () => {
    // Prepare
    const { world } = await rotated();
    const current = world.value('AWSCURRENT');
    // Act
    const result = world.handler({ action: 'revokeNow', secretId: world.arn, keyId: current.keyId, ...who });
    // Assess
    await expect(result).rejects.toThrow(KeyInUseError);
    await expect(result).rejects.toThrow(/referenced by AWSCURRENT; rotate first/);
    expect(world.status(current.keyId)).toBe('active');
  });

  it("refuses another secret's key", async () => {
    // Prepare
    const { world } = await rotated();
    const other = await world.provider.issue({ label: providerKeyLabel({ arn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:other/secret-XyZ123', name: 'other/secret' }, 't') });
    // Act
    const result = world.handler({ action: 'revokeNow', secretId: world.arn, keyId: other.keyId, ...who });
    // Assess
    await expect(result).rejects.toThrow(/labelled for secret 'other\/secret-XyZ123'/);
    expect(world.status(other.keyId)).toBe('active');
  });

  it('revokes an orphan by key id, and counts a key already gone as revoked', async () => {
    // Prepare
    const { world } = await rotated();
    const orphan = await world.provider.issue({ label: providerKeyLabel(world, 'lost') });
    // Act
    await world.handler({ action: 'revokeNow', secretId: world.arn, keyId: orphan.keyId, ...who });
    const again = await world.handler({ action: 'revokeNow', secretId: world.arn, keyId: orphan.keyId, ...who });
    // Assess
    expect(world.status(orphan.keyId)).toBe('deleted');
    expect(again.keys).toEqual([expect.objectContaining({ outcome: 'revoked', detail: 'already gone' })]);
  });

  it('leaves a due record when the provider fails, so the sweep finishes the job', async () => {
    // Prepare
    const { world, old } = await rotated();
    world.provider.fail({ op: 'revoke', error: 'unavailable', times: 5 });
    // Act
    await expect(world.handler({ action: 'revokeNow', secretId: world.arn, previous: true, ...who })).rejects.toThrow(RevocationFailedError);
    await world.handler({ action: 'reconcile', secretId: world.arn });
    // Assess
    expect(world.status(old.keyId)).toBe('deleted');
  });

  it('throws NothingToDoError when there is no previous key', async () => {
    // Prepare
    const world = new RevokerWorld();
    await world.rotate();
    // Act + Assess
    await expect(world.handler({ action: 'revokeNow', secretId: world.arn, previous: true, ...who })).rejects.toThrow(NothingToDoError);
  });
});

describe('Action: revokeWithoutReplacement', () => {
  it('deletes the current key and audits the downtime', async () => {
    // Prepare
    const { world } = await rotated();
    const current = world.value('AWSCURRENT');
    // Act
    await world.handler({ action: 'revokeWithoutReplacement', secretId: world.arn, acceptDowntime: true, ...who });
    // Assess
    expect(world.status(current.keyId)).toBe('deleted');
    expect(world.logger.lines.find((l) => l.message === 'audit')?.attributes).toMatchObject({ action: 'revokeWithoutReplacement', ...who });
  });
});

describe('Action: cancel', () => {
  it('removes AWSPENDING from the pending version and revokes its key, never CancelRotateSecret', async () => {
    // Prepare
    const { world } = await rotated();
    const token = await world.createPending();
    const pending = world.value('AWSPENDING');
    // Act
    const response = await world.handler({ action: 'cancel', secretId: world.arn, operator: 'ana' });
    // Assess
    expect(world.sm.stages(world.arn)[token]).toBeUndefined();
    expect(world.status(pending.keyId)).toBe('deleted');
    expect(world.status(world.value('AWSCURRENT').keyId)).toBe('active');
    expect(response.keys).toEqual([expect.objectContaining({ keyId: pending.keyId, outcome: 'revoked' })]);
    expect(world.sm.sent).not.toContain('CancelRotateSecret');
  });

  it('also revokes a key issued for the pending token but never stored (createSecret crashed)', async () => {
    // Prepare
    const { world } = await rotated();
    world.sm.startRotation(world.arn, 'crashed');
    const issued = await world.provider.issue({ label: providerKeyLabel(world, 'crashed') });
    // Act
    await world.handler({ action: 'cancel', secretId: world.arn, operator: 'ana' });
    // Assess
    expect(world.status(issued.keyId)).toBe('deleted');
    expect(world.sm.stages(world.arn).crashed).toBeUndefined();
  });

  it('finishes on a repeat what a crash between removing the label and revoking left', async () => {
    // Prepare
    const { world } = await rotated();
    await world.createPending();
    const pending = world.value('AWSPENDING');
    world.provider.fail({ op: 'revoke', error: 'auth' });
    await expect(world.handler({ action: 'cancel', secretId: world.arn, operator: 'ana' })).rejects.toThrow(RevocationFailedError);
    // Act
    await world.handler({ action: 'cancel', secretId: world.arn, operator: 'ana' });
    // Assess
    expect(world.status(pending.keyId)).toBe('deleted');
  });

  it('only removes the label when AWSPENDING sits on the current version', async () => {
    // Prepare
    const { world } = await rotated();
    const current = world.sm.stages(world.arn);
    const currentVersion = Object.keys(current).find((v) => current[v]!.includes('AWSCURRENT'))!;
    const { UpdateSecretVersionStageCommand } = await import('@aws-sdk/client-secrets-manager');
    await world.sm.send(new UpdateSecretVersionStageCommand({ SecretId: world.arn, VersionStage: 'AWSPENDING', MoveToVersionId: currentVersion }));
    // Act
    await world.handler({ action: 'cancel', secretId: world.arn, operator: 'ana' });
    // Assess
    expect(world.sm.stages(world.arn)[currentVersion]).toEqual(['AWSCURRENT']);
    expect(world.status(world.value('AWSCURRENT').keyId)).toBe('active');
  });

  it('only removes a leftover AWSPENDING from a version that was current (rollback), giving its key a grace period', async () => {
    // Prepare
    const { world } = await rotated();
    const stages = world.sm.stages(world.arn);
    const current = Object.keys(stages).find((v) => stages[v]!.includes('AWSCURRENT'))!;
    const previous = Object.keys(stages).find((v) => stages[v]!.includes('AWSPREVIOUS'))!;
    const rolledAway = world.value('AWSCURRENT');
    const { UpdateSecretVersionStageCommand } = await import('@aws-sdk/client-secrets-manager');
    await world.sm.send(new UpdateSecretVersionStageCommand({ SecretId: world.arn, VersionStage: 'AWSPENDING', MoveToVersionId: current }));
    await world.sm.send(new UpdateSecretVersionStageCommand({ SecretId: world.arn, VersionStage: 'AWSCURRENT', MoveToVersionId: previous, RemoveFromVersionId: current }));
    // Act
    await world.handler({ action: 'cancel', secretId: world.arn, operator: 'ana' });
    // Assess
    expect(world.sm.stages(world.arn)[current]).toEqual(['AWSPREVIOUS']);
    expect(world.status(rolledAway.keyId)).toBe('active');
    expect(await world.record(rolledAway.keyId)).toMatchObject({ phase: 'grace', due: world.clock.now() + HOUR });
  });
});

describe('Action: restore', () => {
  it('re-enables a disabled key and pushes its deadline out by the observation window', async () => {
    // Prepare
    const { world, old } = await rotated({ observation: 7200 });
    await world.clock.advance(HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    await world.clock.advance(HOUR);
    // Act
    const response = await world.handler({ action: 'restore', secretId: world.arn, operator: 'ana', reason: 'billing app broke' });
    // Assess
    expect(world.status(old.keyId)).toBe('active');
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'grace', due: world.clock.now() + 7_200_000, reason: 'restored' });
    expect(world.scheduler.requests.at(-1)).toMatchObject({ keyId: old.keyId, due: world.clock.now() + 7_200_000 });
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'restored' })]);
    // Act: restoring twice changes nothing
    const again = await world.handler({ action: 'restore', secretId: world.arn, operator: 'ana' });
    expect(again.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'restored', detail: 'already grace' })]);
  });

  it('refuses a key already deleted, saying to rotate', async () => {
    // Prepare
    const { world, old } = await rotated();
    await world.clock.advance(HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Act
    const result = world.handler({ action: 'restore', secretId: world.arn, keyId: old.keyId, operator: 'ana' });
    // Assess
    await expect(result).rejects.toThrow(/was deleted at .* cannot come back; rotate/);
  });

  it('throws NothingToDoError when no key is disabled', async () => {
    const { world } = await rotated();
    await expect(world.handler({ action: 'restore', secretId: world.arn, operator: 'ana' })).rejects.toThrow(/no disabled key to restore/);
  });
});

describe('Action: inspect', () => {
  it('lists the secret keys with stages, records, orphan flag and quota', async () => {
    // Prepare
    const { world, old } = await rotated({ gracePeriod: 7200 });
    const orphan = await world.provider.issue({ label: providerKeyLabel(world, 'lost') });
    await world.clock.advance(ORPHAN_MIN_AGE_MS);
    const current = world.value('AWSCURRENT');
    // Act
    const { inspect } = await world.handler({ action: 'inspect', secretId: world.arn });
    // Assess
    expect(inspect?.keys).toEqual([
      expect.objectContaining({ keyId: old.keyId, stages: ['AWSPREVIOUS'], phase: 'grace', orphan: false }),
      expect.objectContaining({ keyId: current.keyId, stages: ['AWSCURRENT'], orphan: false }),
      expect.objectContaining({ keyId: orphan.keyId, stages: [], orphan: true }),
    ]);
    expect(inspect?.quota).toEqual({ used: 3, limit: 5 });
    expect(inspect?.problems).toEqual([]);
    expect(world.provider.alive()).toHaveLength(3);
  });

  it('reports a full quota and a rejected admin credential as problems', async () => {
    // Prepare
    const { world } = await rotated({}, 2);
    // Act
    const full = await world.handler({ action: 'inspect', secretId: world.arn });
    world.provider.fail({ op: 'list', error: 'auth' });
    const rejected = await world.handler({ action: 'inspect', secretId: world.arn });
    // Assess
    expect(full.inspect?.problems).toEqual([expect.stringMatching(/quota full: 2 of 2 keys.*cancel a stuck rotation, revokeNow a key by id/)]);
    expect(rejected.inspect?.problems).toEqual([expect.stringMatching(/admin credential rejected/)]);
  });
});

describe('Function: freeQuota', () => {
  it('revokes keys past their grace (disabled ones too), never the current key, and returns how many', async () => {
    // Prepare
    const { world, old } = await rotated({ observation: 86_400 });
    await world.clock.advance(HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    expect(world.status(old.keyId)).toBe('disabled');
    // Act
    const freed = await freeQuota(world.deps, { arn: world.arn }, world.provider);
    // Assess
    expect(freed).toBe(1);
    expect(world.status(old.keyId)).toBe('deleted');
    expect(world.provider.alive().map((k) => k.keyId)).toEqual([world.value('AWSCURRENT').keyId]);
  });

  it('keeps a key still within its grace period', async () => {
    // Prepare
    const { world, old } = await rotated();
    // Act
    const freed = await freeQuota(world.deps, { arn: world.arn }, world.provider);
    // Assess
    expect(freed).toBe(0);
    expect(world.status(old.keyId)).toBe('active');
  });

  it('honours the usage hold of a key still in use', async () => {
    // Prepare
    const { world, old } = await rotated({ usageQuiet: 600, usageMaxHold: 3600 });
    await world.clock.advance(HOUR);
    world.provider.use(world.provider.keys.get(old.keyId)!.apiKey);
    // Act
    const freed = await freeQuota(world.deps, { arn: world.arn }, world.provider);
    // Assess
    expect(freed).toBe(0);
    expect(world.status(old.keyId)).toBe('active');
  });

  it('never revokes the key of a record that AWSCURRENT references', async () => {
    // Prepare
    const { world } = await rotated();
    const current = world.value('AWSCURRENT');
    await putKeyRecord(world.sm.client, world.arn, { keyId: current.keyId, phase: 'disabled', due: 0 });
    // Act
    await freeQuota(world.deps, { arn: world.arn }, world.provider);
    // Assess
    expect(world.status(current.keyId)).toBe('active');
  });
});
