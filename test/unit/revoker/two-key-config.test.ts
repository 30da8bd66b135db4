import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../lib/config';
import { providerDefinition } from '../../../lambda/providers';

// Issue 4 item 4: with a quota of two keys (AWS IAM) the old key must be gone before the next rotation issues a
// third, so grace + usage hold cap + observation window must be shorter than the rotation interval.
const iam = { provider: { type: 'aws-iam', userName: 'billing-app' }, rotateEvery: '7d' };

describe('Function: resolveConfig (two-key providers)', () => {
  it('has aws-iam registered with a quota of two keys (the premise of these tests)', () => {
    expect(providerDefinition('aws-iam').quota).toBe(2);
  });

  it('accepts grace + maxHold + observation shorter than the interval', () => {
    // Act
    const { keys } = resolveConfig({
      keys: { k: { ...iam, gracePeriod: '2d', usageHold: { quietPeriod: '1h', maxHold: '2d' }, observationWindow: '2d' } },
    });
    // Assess
    expect(keys[0]).toMatchObject({ gracePeriod: 2 * 86_400, observationWindow: 2 * 86_400 });
  });

  it.each([
    [{ gracePeriod: '3d', usageHold: { quietPeriod: '1h', maxHold: '2d' }, observationWindow: '2d' }, '7 days vs 7 days'],
    [{ gracePeriod: '6d', observationWindow: '2d' }, '8 days vs 7 days'],
    [{ gracePeriod: '4d', usageHold: { quietPeriod: '1h', maxHold: '4d' } }, '8 days vs 7 days'],
  ])('rejects %j naming the settings, the quota and both durations', (settings, durations) => {
    // Act + Assess
    expect(() => resolveConfig({ keys: { k: { ...iam, ...settings } } })).toThrow(
      new RegExp(`key 'k': gracePeriod plus usageHold.maxHold plus observationWindow must be shorter than the rotation interval for 'aws-iam' \\(a quota of 2 keys\\), got ${durations}`),
    );
  });

  it('does not apply the check to providers with a larger quota', () => {
    // Act
    const { keys } = resolveConfig({
      keys: { k: { provider: { type: 'reference' }, adminSecret: 'a', rotateEvery: '7d', gracePeriod: '6d', observationWindow: '3d' } },
    });
    // Assess
    expect(keys).toHaveLength(1);
  });
});
