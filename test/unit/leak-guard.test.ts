import { describe, expect, it } from 'vitest';
import { leakedSecrets, secretValue } from '../support/leak-guard';

describe('Function: leakedSecrets', () => {
  it('finds a registered key in captured output and reports where, without the key', () => {
    // Prepare
    const key = secretValue('rk_live_leakguardselftest01');
    // Act
    const leaks = leakedSecrets(`{"level":"INFO","message":"issued","key":"${key}"}`);
    // Assess
    expect(leaks).toHaveLength(1);
    expect(leaks[0]).toContain('"key":"<KEY>');
    expect(leaks[0]).not.toContain(key);
  });

  it('stays quiet on output without registered keys', () => {
    secretValue('rk_live_leakguardselftest02');
    expect(leakedSecrets('fingerprint sha256:0123456789ab')).toEqual([]);
  });
});
