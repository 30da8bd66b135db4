import { describe, expect, it } from 'vitest';
import { KeyMovedError } from '../../../lambda/revoker/errors';
import { rotatedWorld } from '../../support/revoker-harness';

/**
 * The emergency revokes the key the operator confirmed, not whatever key holds a stage when the revoker runs: the CLI
 * passes the confirmed key id and version, and the revoker refuses when they no longer match (issue 13).
 */
describe('Emergency: the confirmed key only', () => {
  it('revokes the previous key when it is the key the operator confirmed', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    const version = Object.entries(world.sm.stages(world.arn)).find(([, s]) => s.includes('AWSPREVIOUS'))?.[0];

    // Act
    const response = await world.handler({ action: 'revokeNow', secretId: world.arn, previous: true, expectedKeyId: old.keyId, expectedVersionId: version, reason: 'leak', operator: 'alice' });

    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'revoked' })]);
  });

  it('refuses, revoking nothing, when another rotation made a different key previous meanwhile', async () => {
    // Prepare: the operator confirmed `old`; a rotation ran before the revoker did.
    const { world, old } = await rotatedWorld();
    await world.rotate();
    const nowPrevious = world.value('AWSPREVIOUS');

    // Act
    const refused = world.handler({ action: 'revokeNow', secretId: world.arn, previous: true, expectedKeyId: old.keyId, reason: 'leak', operator: 'alice' });

    // Assess
    await expect(refused).rejects.toBeInstanceOf(KeyMovedError);
    await expect(refused).rejects.toThrow(new RegExp(`previous key is '${nowPrevious.keyId}', not the confirmed '${old.keyId}'`));
    expect(world.status(nowPrevious.keyId)).toBe('active');
  });

  it('refuses by version too, when the key id was not known to the CLI', async () => {
    // Prepare
    const { world } = await rotatedWorld();

    // Act + Assess
    await expect(
      world.handler({ action: 'revokeNow', secretId: world.arn, previous: true, expectedVersionId: 'some-other-version', reason: 'leak', operator: 'alice' }),
    ).rejects.toBeInstanceOf(KeyMovedError);
  });

  it('refuses a revocation without replacement when the current key is no longer the confirmed one', async () => {
    // Prepare
    const { world, old } = await rotatedWorld();
    const current = world.value('AWSCURRENT');

    // Act
    const refused = world.handler({ action: 'revokeWithoutReplacement', secretId: world.arn, expectedKeyId: old.keyId, reason: 'leak', operator: 'alice', acceptDowntime: true });

    // Assess
    await expect(refused).rejects.toBeInstanceOf(KeyMovedError);
    expect(world.status(current.keyId)).toBe('active');
  });
});
