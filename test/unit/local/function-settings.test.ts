import { describe, expect, it } from 'vitest';
import { ENV } from '../../../core/env';
import { resolveConfig } from '../../../lib/config';
import { functionSettings, FunctionSettingsError } from '../../../local/function-settings';
import { synthesizeDeployment } from '../../../local/iam/policies';

// The local runtime gives each bundle what `cdk synth` gives the function, intrinsics resolved to the local account.
describe('Function: functionSettings', () => {
  it('reads handler, timeout, memory and every environment variable of the synthesized functions, resolved', () => {
    // Act
    const config = resolveConfig({ stacks: { prefix: 'keyrelay' }, keys: {} });
    const { functions, schedulerRole } = synthesizeDeployment(config, { account: '123456789012', region: 'eu-west-1' });

    // Assess
    expect(functions.rotation.settings).toMatchObject({ handler: 'index.handler', timeoutMs: 300_000, memoryMb: 256 });
    expect(functions.revoker.settings).toMatchObject({ handler: 'index.handler', timeoutMs: 600_000, memoryMb: 256 });
    expect(functions.rotation.settings.environment).toMatchObject({
      [ENV.revokerArn]: 'arn:aws:lambda:eu-west-1:123456789012:function:keyrelay-revoker',
      [ENV.schedulerRoleArn]: schedulerRole.arn,
      [ENV.scheduleGroup]: 'keyrelay-revocations',
      [ENV.revokerDlqArn]: expect.stringMatching(/^arn:aws:sqs:eu-west-1:123456789012:/),
      [ENV.eventBus]: 'default',
    });
  });

  it('takes CloudFormation defaults when the template sets no timeout or memory', () => {
    // Act
    const settings = functionSettings('f', { Environment: { Variables: { A: 'b' } } });

    // Assess
    expect(settings).toEqual({ handler: 'index.handler', timeoutMs: 3000, memoryMb: 128, environment: { A: 'b' } });
  });

  it('refuses a variable that is not a string after resolution, naming it', () => {
    // Act + Assess
    expect(() => functionSettings('keyrelay-rotation', { Environment: { Variables: { LIMITS: { a: 1 } } } })).toThrow(
      expect.objectContaining({ name: FunctionSettingsError.name, message: expect.stringContaining('LIMITS') }),
    );
  });
});
