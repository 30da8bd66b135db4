import { PutSecretValueCommand, TagResourceCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import 'aws-sdk-client-mock-vitest/extend';
import { describe, expect, it, vi } from 'vitest';
import { RotationStateError } from '../../../core/errors';
import { ProviderResponseError } from '../../../lambda/providers/errors';
import { PendingKeyRejectedError, PrincipalMismatchError } from '../../../lambda/rotation';
import { rotationHarness } from './harness';

const verifies = (calls: Array<{ op: string }>) => calls.filter((c) => c.op === 'verify').length;

describe('Step: setSecret', () => {
  it('is idempotent: verifies both keys and changes nothing, twice', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    await h.step('createSecret', token);
    const stages = h.sm.stages(h.arn);
    h.sm.mock.resetHistory();

    // Act
    await h.step('setSecret', token);
    await h.step('setSecret', token);

    // Assess
    expect(verifies(h.provider.calls)).toBe(4);
    expect(h.sm.stages(h.arn)).toEqual(stages);
    expect(h.sm.mock).toHaveReceivedCommandTimes(PutSecretValueCommand, 0);
    expect(h.sm.mock).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 0);
    expect(h.sm.mock).toHaveReceivedCommandTimes(TagResourceCommand, 0);
  });

  it('rejects a pending key that belongs to a different principal', async () => {
    // Prepare: the pending key was issued under another account (a wrong admin credential)
    const h = await rotationHarness();
    const token = h.start();
    await h.step('createSecret', token);
    const pending = h.keysFor(token)[0];
    if (pending) pending.principal = 'acct-2';

    // Act
    const result = h.step('setSecret', token);

    // Assess
    await expect(result).rejects.toThrow(PrincipalMismatchError);
    await expect(result).rejects.toThrow("the pending key acts as 'acct-2' but the current key acts as 'acct-1'");
  });

  it('passes on the first rotation, when there is no current key', async () => {
    // Prepare
    const h = await rotationHarness({ withCurrent: false });
    const token = h.start();
    await h.step('createSecret', token);

    // Act
    await h.step('setSecret', token);

    // Assess
    expect(verifies(h.provider.calls)).toBe(1);
  });

  it('does not let a current key the provider already rejects block its replacement', async () => {
    // Prepare: the current key was revoked by id (a leak) before the rotation
    const h = await rotationHarness();
    const token = h.start();
    await h.step('createSecret', token);
    await h.provider.revoke(h.initialKeyId ?? '');

    // Act
    await h.step('setSecret', token);

    // Assess
    expect(h.output()).toContain('the current key no longer authenticates');
  });

  it('throws when createSecret has not stored the pending key', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();

    // Act
    const result = h.step('setSecret', token);

    // Assess
    await expect(result).rejects.toThrow(RotationStateError);
    await expect(result).rejects.toThrow(`pending version '${token}' has no value`);
  });
});

describe('Step: testSecret', () => {
  it('passes the configuration test of a secret that has no key yet (schedule created with rotate-immediately off)', async () => {
    // Prepare: a new secret, no value anywhere; Secrets Manager tests the rotation configuration only
    const h = await rotationHarness({ withCurrent: false });
    const token = h.start();
    // Act
    await h.step('testSecret', token);
    // Assess
    expect(verifies(h.provider.calls)).toBe(0);
    expect(h.output()).toContain('nothing to test');
  });

  it('still fails when a secret with a current key has no pending value', async () => {
    const h = await rotationHarness();
    await expect(h.step('testSecret', h.start())).rejects.toThrow(/has no value; createSecret must store it first/);
  });

  it('retries through propagation delay, waiting on the clock', async () => {
    // Prepare: the provider rejects the new key twice before it propagates
    const h = await rotationHarness();
    const token = h.start();
    await h.step('createSecret', token);
    h.provider.fail({ op: 'verify', error: 'auth', times: 2 });
    const before = h.clock.now();

    // Act
    await h.step('testSecret', token);

    // Assess: waits of 0.75 s then 1.5 s (base 1 s, doubling, half jitter at 0.5)
    expect(verifies(h.provider.calls)).toBe(3);
    expect(h.clock.now() - before).toBe(750 + 1500);
  });

  it('fails on a persistent auth failure after a bounded number of attempts', async () => {
    // Prepare
    const h = await rotationHarness({ deps: { retry: { random: () => 0.5, verifyAttempts: 4 } } });
    const token = h.start();
    await h.step('createSecret', token);
    h.provider.fail({ op: 'verify', error: 'auth', times: 1000 });
    const before = verifies(h.provider.calls);

    // Act
    const result = h.step('testSecret', token);

    // Assess
    await expect(result).rejects.toThrow(PendingKeyRejectedError);
    await expect(result).rejects.toThrow(/rejected the pending key sha256:[0-9a-f]{12} 4 time\(s\)/);
    expect(verifies(h.provider.calls) - before).toBe(4);
  });

  it('stops retrying before the Lambda runs out of time', async () => {
    // Prepare: 12 s left minus a 3 s margin; a retry happens only while the longest wait (8 s) still fits
    const h = await rotationHarness();
    const token = h.start();
    await h.step('createSecret', token);
    h.provider.fail({ op: 'verify', error: 'auth', times: 1000 });
    const before = verifies(h.provider.calls);
    const started = h.clock.now();

    // Act
    const result = h.handler(
      { Step: 'testSecret', SecretId: h.arn, ClientRequestToken: token },
      { getRemainingTimeInMillis: () => 12_000 },
    );

    // Assess
    await expect(result).rejects.toThrow(PendingKeyRejectedError);
    expect(verifies(h.provider.calls) - before).toBe(3); // at 0, 0.75 s, 2.25 s; at 2.25 s + 8 s > 9 s it stops
    expect(h.clock.now() - started).toBeLessThanOrEqual(12_000 - 3_000);
  });

  it('never passes on an unknown error', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    await h.step('createSecret', token);
    const spy = vi.spyOn(h.provider, 'verify').mockRejectedValue(new TypeError('Cannot read properties of undefined'));

    // Act
    const result = h.step('testSecret', token);

    // Assess
    await expect(result).rejects.toThrow(TypeError);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('never passes on a response the adapter does not understand', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    await h.step('createSecret', token);
    vi.spyOn(h.provider, 'verify').mockRejectedValue(new ProviderResponseError('fake', 'unexpected body'));

    // Act
    const result = h.step('testSecret', token);

    // Assess
    await expect(result).rejects.toThrow(ProviderResponseError);
  });
});
