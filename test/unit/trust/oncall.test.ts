import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../../core/secret-value';
import { providerKeyLabel, stageHolders } from '../../../core/state';
import { rotatedWorld, RevokerWorld } from '../../support/revoker-harness';

const HOUR = 3_600_000;
const who = { operator: 'ana', reason: 'incident 7' };

describe('Action: rollback (on-call through the revoker)', () => {
  it('moves AWSCURRENT back to a previous key in grace, and gives the demoted key a full grace period first', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    const demoted = world.value('AWSCURRENT');
    // Act
    const answer = await world.handler({ action: 'rollback', secretId: world.arn, ...who });
    // Assess
    expect(world.value('AWSCURRENT').keyId).toBe(old.keyId);
    expect(await world.record(demoted.keyId)).toMatchObject({ phase: 'grace', due: world.clock.now() + HOUR, reason: 'rollback', by: 'ana' });
    expect(answer.keys.map((k) => k.keyId)).toEqual([old.keyId, demoted.keyId]);
  });

  it("judges 'due soon' on the revoker's clock, not the caller's", async () => {
    // Prepare: the previous key's grace ends in 30 s by the revoker's clock
    const { world } = await rotatedWorld();
    await world.clock.advance(HOUR - 30_000);
    const current = world.value('AWSCURRENT');
    // Act
    const result = world.handler({ action: 'rollback', secretId: world.arn, ...who });
    // Assess
    await expect(result).rejects.toMatchObject({ code: 'PreviousKeyNotValid' });
    expect(world.value('AWSCURRENT').keyId).toBe(current.keyId);
  });

  it('refuses a previous key the provider no longer accepts, or one being revoked in an emergency', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    await world.provider.revoke(old.keyId);
    // Act + Assess
    await expect(world.handler({ action: 'rollback', secretId: world.arn, ...who })).rejects.toMatchObject({ code: 'PreviousKeyNotValid' });
  });

  it('refuses while a rotation is pending', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    await world.createPending();
    // Act + Assess
    await expect(world.handler({ action: 'rollback', secretId: world.arn, ...who })).rejects.toMatchObject({ code: 'RotationInProgress' });
  });
});

describe('Action: import (on-call through the revoker)', () => {
  it('stores a key the provider accepts and lists as AWSCURRENT, the replaced key in grace, and audits only a fingerprint', async () => {
    // Prepare: a key an application uses, made by hand at the provider
    const { world } = await rotatedWorld();
    const replaced = world.value('AWSCURRENT');
    const adopted = await world.provider.issue({ label: 'made by hand' });
    // Act
    await world.handler({ action: 'import', secretId: world.arn, keyId: adopted.keyId, apiKey: adopted.apiKey, ...who });
    // Assess
    expect(world.value('AWSCURRENT')).toMatchObject({ keyId: adopted.keyId, apiKey: adopted.apiKey, provider: 'fake' });
    expect(await world.record(replaced.keyId)).toMatchObject({ phase: 'grace', reason: 'import', by: 'ana' });
    const audit = world.logger.lines.find((l) => l.message === 'audit' && l.attributes.action === 'import');
    expect(audit?.attributes).toMatchObject({ keyId: adopted.keyId, fingerprint: fingerprint(adopted.apiKey) });
    expect(JSON.stringify(world.logger.lines)).not.toContain(adopted.apiKey);
  });

  it("refuses another secret's key, a key the provider rejects, and a key id it does not list", async () => {
    // Prepare
    const { world } = await rotatedWorld();
    const theirs = await world.provider.issue({ label: providerKeyLabel({ arn: world.arn.replace('payments/api', 'billing/api'), name: 'billing/api' }, 't') });
    const mine = await world.provider.issue({ label: 'made by hand' });
    const before = stageHolders(world.sm.stages(world.arn)).current;
    // Act
    const results = await Promise.allSettled([
      world.handler({ action: 'import', secretId: world.arn, keyId: theirs.keyId, apiKey: theirs.apiKey, ...who }),
      world.handler({ action: 'import', secretId: world.arn, keyId: mine.keyId, apiKey: 'not-the-key', ...who }),
      world.handler({ action: 'import', secretId: world.arn, keyId: 'fk-999', apiKey: mine.apiKey, ...who }),
    ]);
    // Assess
    expect(results.map((r) => r.status === 'rejected' && (r.reason as { code?: string }).code)).toEqual(['ImportInvalid', 'ImportInvalid', 'ImportInvalid']);
    expect(stageHolders(world.sm.stages(world.arn)).current).toBe(before);
  });

  it('validates its input: a key id tags cannot hold is refused before anything is read', async () => {
    // Prepare
    const world = new RevokerWorld();
    // Act
    const result = world.handler({ action: 'import', secretId: world.arn, keyId: 'a b', apiKey: 'x', ...who });
    // Assess
    await expect(result).rejects.toMatchObject({ code: 'RevokerRequestInvalid' });
    expect(world.sm.sent).toEqual([]);
  });
});

describe('Action: retire (on-call through the revoker)', () => {
  it('abandons the rotation, revokes every recorded key and the current one; with handOver the current key stays', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    const current = world.value('AWSCURRENT');
    await world.createPending();
    const pending = world.value('AWSPENDING');
    const { world: other } = await rotatedWorld();
    const kept = other.value('AWSCURRENT');
    // Act
    await world.handler({ action: 'retire', secretId: world.arn, handOver: false, ...who });
    await other.handler({ action: 'retire', secretId: other.arn, handOver: true, ...who });
    // Assess
    expect([old, current, pending].map((k) => world.status(k.keyId))).toEqual(['deleted', 'deleted', 'deleted']);
    expect(other.status(kept.keyId)).toBe('active');
  });
});
