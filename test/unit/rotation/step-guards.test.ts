import { describe, expect, it, vi } from 'vitest';
import { RotationStateError } from '../../../core/errors';
import { parseSecretValue } from '../../../core/secret-value';
import { PrincipalMismatchError } from '../../../lambda/rotation';
import { rotationHarness } from './harness';

// Guards of the rotation steps that no other test reached (issue 14's mutation survivors).

describe('Step: setSecret guards', () => {
  it('keeps the confused-deputy guard on the stored principals when the provider reports none on verify', async () => {
    // Prepare: the admin credential now belongs to another account, and verify names no principal
    const h = await rotationHarness();
    Object.assign(h.provider, { principal: 'acct-2' });
    const verify = h.provider.verify.bind(h.provider);
    vi.spyOn(h.provider, 'verify').mockImplementation(async (apiKey) => {
      await verify(apiKey);
      return {};
    });
    const token = h.start();
    await h.step('createSecret', token);
    // Act
    const result = h.step('setSecret', token);
    // Assess
    await expect(result).rejects.toThrow(PrincipalMismatchError);
    await expect(result).rejects.toThrow("the pending key acts as 'acct-2' but the current key acts as 'acct-1'");
  });

  it('refuses to change provider through a rotation, naming both providers', async () => {
    // Prepare: the current key was stored for provider 'fake'; the secret's provider tag now says 'reference'
    const h = await rotationHarness({ tags: { 'keyrelay:provider': 'reference' } });
    const token = h.start();
    await h.step('createSecret', token);
    // Act
    const result = h.step('setSecret', token);
    // Assess
    await expect(result).rejects.toThrow(RotationStateError);
    await expect(result).rejects.toThrow(/provider 'fake' but the pending one from 'reference'/);
    expect(h.provider.calls.filter((c) => c.op === 'verify')).toEqual([]);
  });
});

describe('Step: createSecret clean-up of an interrupted attempt', () => {
  it('issues no second key while the key a crashed attempt left cannot be revoked', async () => {
    // Prepare: an attempt issued a key and died before storing it; now the provider refuses the revoke
    const h = await rotationHarness();
    const token = h.start();
    h.sm.fail({ op: 'PutSecretValue', error: new Error('Task timed out after 30.00 seconds') });
    await expect(h.step('createSecret', token)).rejects.toThrow(/timed out/);
    const leftover = h.keysFor(token)[0]!;
    h.provider.fail({ op: 'revoke', error: 'auth' });
    // Act
    const result = h.step('createSecret', token);
    // Assess: the step fails, and the leftover is still the only key for the token (no orphan added)
    await expect(result).rejects.toThrow(/credential rejected/);
    expect(h.keysFor(token).map((k) => k.keyId)).toEqual([leftover.keyId]);
    expect(h.sm.valueAt(h.arn, 'AWSPENDING')).toBeUndefined();
  });

  it('treats a leftover key the provider already deleted as revoked, and issues the first key', async () => {
    // Prepare: a first rotation (no key to replace, so no fallback issue hides an error)
    const h = await rotationHarness({ withCurrent: false });
    const token = h.start();
    h.sm.fail({ op: 'PutSecretValue', error: new Error('Task timed out after 30.00 seconds') });
    await expect(h.step('createSecret', token)).rejects.toThrow(/timed out/);
    const leftover = h.keysFor(token)[0]!;
    h.provider.fail({ op: 'revoke', error: 'notFound' }); // deleted at the provider between its list and our revoke
    // Act
    await h.step('createSecret', token);
    // Assess
    const stored = parseSecretValue(h.sm.valueAt(h.arn, 'AWSPENDING'), h.name);
    expect(stored.keyId).not.toBe(leftover.keyId);
  });
});
