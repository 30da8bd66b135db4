import { describe, expect, it } from 'vitest';
import { rotatedWorld } from '../../support/revoker-harness';

// What `cancel` may touch: the cancelled rotation's keys, nothing else (issue 14's mutation survivors).

const HOUR = 3_600_000;

describe('Action: cancel, scope', () => {
  it("leaves a previous key past its deadline to the sweep: its usage hold and observation window stay", async () => {
    // Prepare: the previous key's grace is over (the sweep has not run yet) and a rotation is stuck
    const { world, old } = await rotatedWorld({ observation: 7200, usageQuiet: 600, usageMaxHold: 6 * 3600 });
    await world.clock.advance(HOUR);
    await world.createPending();
    const pending = world.value('AWSPENDING');
    // Act
    const response = await world.handler({ action: 'cancel', secretId: world.arn, operator: 'ana' });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: pending.keyId, outcome: 'revoked' })]);
    expect(world.status(old.keyId)).toBe('active');
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'grace' });
    expect(world.provider.calls.filter((c) => c.keyId === old.keyId)).toEqual([]);
  });

  it('a second cancel changes nothing', async () => {
    // Prepare
    const { world } = await rotatedWorld();
    await world.createPending();
    const pending = world.value('AWSPENDING');
    await world.handler({ action: 'cancel', secretId: world.arn, operator: 'ana' });
    const record = await world.record(pending.keyId);
    const calls = world.provider.calls.length;
    // Act
    const again = await world.handler({ action: 'cancel', secretId: world.arn, operator: 'ana' });
    // Assess
    expect(again.keys).toEqual([]);
    expect(world.provider.calls.slice(calls)).toEqual([]);
    expect(await world.record(pending.keyId)).toEqual(record);
    expect(record).toMatchObject({ phase: 'revoked', reason: 'cancel', by: 'ana' });
  });
});
