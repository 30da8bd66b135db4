import { describe, expect, it } from 'vitest';
import { rotatedWorld as rotated } from '../../support/revoker-harness';

const HOUR = 3_600_000;
const operator = 'arn:aws:sts::123456789012:assumed-role/OnCall/ana@example.com';
const who = { reason: 'key pasted in a public issue', operator };

describe('Key records: by=<operator>', () => {
  it('revokeNow and revokeWithoutReplacement record who revoked', async () => {
    // Prepare
    const { world, old } = await rotated();
    const current = world.value('AWSCURRENT');
    // Act
    await world.handler({ action: 'revokeNow', secretId: world.arn, previous: true, ...who });
    await world.handler({ action: 'revokeWithoutReplacement', secretId: world.arn, acceptDowntime: true, ...who, operator: 'bob smith' });
    // Assess
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'revoked', reason: 'emergency', by: operator });
    expect(await world.record(current.keyId)).toMatchObject({ phase: 'revoked', reason: 'no-replacement', by: 'bob-smith' });
  });

  it('cancel records who cancelled on the pending key, through its revocation', async () => {
    // Prepare
    const { world } = await rotated();
    await world.createPending();
    const pending = world.value('AWSPENDING');
    // Act
    await world.handler({ action: 'cancel', secretId: world.arn, operator });
    // Assess
    expect(await world.record(pending.keyId)).toMatchObject({ phase: 'revoked', reason: 'cancel', by: operator });
  });

  it('restore records who restored, and later phases keep it', async () => {
    // Prepare
    const { world, old } = await rotated({ observation: 7200 });
    await world.clock.advance(HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Act
    await world.handler({ action: 'restore', secretId: world.arn, operator });
    const restored = await world.record(old.keyId);
    await world.clock.advance(2 * HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    const disabled = await world.record(old.keyId);
    await world.clock.advance(2 * HOUR);
    await world.handler({ action: 'revokeDue', secretId: world.arn });
    // Assess
    expect(restored).toMatchObject({ phase: 'grace', reason: 'restored', by: operator });
    expect(disabled).toMatchObject({ phase: 'disabled', by: operator });
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'revoked', by: operator });
  });

});
