import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import 'aws-sdk-client-mock-vitest/extend';
import { describe, expect, it } from 'vitest';
import { RotationStateError } from '../../../core/errors';
import { ROTATION_STEPS, RotationEventError } from '../../../lambda/rotation';
import { secretValue } from '../../support/leak-guard';
import { rotationHarness } from './harness';

describe('Function: createRotationHandler', () => {
  describe('start checks', () => {
    it.each(ROTATION_STEPS)('throws in %s when rotation is disabled', async (step) => {
      // Prepare
      const h = await rotationHarness({ rotationEnabled: false });
      const token = h.start();
      const providerCalls = h.provider.calls.length;

      // Act
      const result = h.step(step, token);

      // Assess
      await expect(result).rejects.toThrow(RotationStateError);
      await expect(result).rejects.toThrow(/rotation is not enabled/);
      expect(h.provider.calls).toHaveLength(providerCalls);
    });

    it.each(ROTATION_STEPS)('throws in %s when the token is not a version of the secret', async (step) => {
      // Prepare
      const h = await rotationHarness();
      h.start();

      // Act
      const result = h.step(step, '00000000-0000-0000-0000-000000000000');

      // Assess
      await expect(result).rejects.toThrow(/'00000000-0000-0000-0000-000000000000' \(ClientRequestToken\) is not a version/);
    });

    it.each(ROTATION_STEPS)("throws in %s when the token's version is not AWSPENDING", async (step) => {
      // Prepare: the previous version exists but carries only AWSPREVIOUS
      const h = await rotationHarness();
      await h.rotate(h.start());
      h.start();

      // Act
      const result = h.step(step, h.initialVersion ?? '');

      // Assess
      await expect(result).rejects.toThrow(/is not AWSPENDING \(stages: AWSPREVIOUS\)/);
    });

    it.each(ROTATION_STEPS)('does nothing in %s when the token is already AWSCURRENT', async (step) => {
      // Prepare
      const h = await rotationHarness();
      const token = h.start();
      await h.rotate(token);
      h.sm.mock.resetHistory();
      const providerCalls = h.provider.calls.length;

      // Act
      await h.step(step, token);

      // Assess
      expect(h.sm.mock.calls().map((c) => c.args[0].constructor.name)).toEqual(['DescribeSecretCommand']);
      expect(h.provider.calls.length).toBe(providerCalls);
    });
  });

  describe('dispatch', () => {
    it('runs each camelCase step', async () => {
      // Prepare
      const h = await rotationHarness();
      const token = h.start();

      // Act + Assess: each step does its own work
      await h.step('createSecret', token);
      expect(h.sm.mock).toHaveReceivedCommandTimes(PutSecretValueCommand, 1);
      expect(h.keysFor(token)).toHaveLength(1);

      const verifies = () => h.provider.calls.filter((c) => c.op === 'verify').length;
      await h.step('setSecret', token);
      expect(verifies()).toBe(2); // current + pending

      await h.step('testSecret', token);
      expect(verifies()).toBe(3);
      expect(h.sm.mock).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 0);

      await h.step('finishSecret', token);
      expect(h.sm.mock).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 2); // claim AWSPENDING, move AWSCURRENT
      expect(h.sm.stages(h.arn)[token]).toContain('AWSCURRENT');
    });

    it.each(['CreateSecret', 'create_secret', 'rotate', ''])('rejects the unknown step %j with a clear error', async (step) => {
      // Prepare
      const h = await rotationHarness();
      const token = h.start();

      // Act
      const result = h.step(step, token);

      // Assess
      await expect(result).rejects.toThrow(RotationEventError);
      await expect(result).rejects.toThrow(
        `rotation event field 'Step': expected one of createSecret, setSecret, testSecret, finishSecret (camelCase), got '${step}'`,
      );
      expect(h.sm.mock.calls()).toHaveLength(0);
    });

    it.each([
      ['no SecretId', { Step: 'createSecret', ClientRequestToken: 't' }, 'SecretId'],
      ['no token', { Step: 'createSecret', SecretId: 'arn' }, 'ClientRequestToken'],
      ['a numeric token', { Step: 'createSecret', SecretId: 'arn', ClientRequestToken: 7 }, 'ClientRequestToken'],
      ['an empty RotationToken', { Step: 'createSecret', SecretId: 'arn', ClientRequestToken: 't', RotationToken: '' }, 'RotationToken'],
      ['no Step', { SecretId: 'arn', ClientRequestToken: 't' }, 'Step'],
      ['not an object', 'createSecret', '(event)'],
      ['null', null, '(event)'],
    ])('rejects an event with %s, naming the field', async (_case, event, field) => {
      // Prepare
      const h = await rotationHarness();

      // Act
      const result = h.handler(event);

      // Assess
      await expect(result).rejects.toThrow(RotationEventError);
      await expect(result).rejects.toThrow(`rotation event field '${field}'`);
    });

    it('never quotes RotationToken when rejecting an event', async () => {
      // Prepare
      const h = await rotationHarness();
      const rotationToken = secretValue(`rt-${'x'.repeat(20)}-${Math.random()}`);

      // Act
      const err = await h
        .handler({ Step: 'Finish', SecretId: h.arn, ClientRequestToken: 7, RotationToken: rotationToken })
        .catch((e: unknown) => e as Error);

      // Assess
      expect(err).toBeInstanceOf(RotationEventError);
      expect((err as Error).message).not.toContain(rotationToken);
      expect(h.output()).not.toContain(rotationToken);
      expect(h.output()).toContain('rejected a malformed rotation event');
    });
  });
});
