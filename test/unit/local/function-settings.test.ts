import { describe, expect, it } from 'vitest';
import { ENV } from '../../../lambda/core/env';
import { resolveConfig } from '../../../lib/config';
import { deployedFunctionSettings, FunctionSettingsError, settingsFromTemplates } from '../../../local/function-settings';

// The local runtime gives each bundle what `cdk synth` gives the function, with the local stack's resources.
const LOCAL = { [ENV.revokerArn]: 'arn:aws:lambda:us-east-1:123456789012:function:keyrelay-revoker', [ENV.revokerDlqArn]: undefined, [ENV.schedulerRoleArn]: 'arn:aws:iam::123456789012:role/local' };

describe('Function: deployedFunctionSettings', () => {
  it('reads handler, timeout, memory and environment from the synthesized template, local resources swapped in', () => {
    // Act
    const settings = deployedFunctionSettings(resolveConfig({ keys: {} }), { account: '123456789012', region: 'us-east-1' }, LOCAL);

    // Assess
    expect(settings.rotation).toMatchObject({ handler: 'index.handler', timeoutMs: 300_000, memoryMb: 256 });
    expect(settings.revoker).toMatchObject({ handler: 'index.handler', timeoutMs: 600_000, memoryMb: 256 });
    expect(settings.rotation.environment).toMatchObject({
      [ENV.revokerArn]: LOCAL[ENV.revokerArn],
      [ENV.schedulerRoleArn]: LOCAL[ENV.schedulerRoleArn],
      [ENV.scheduleGroup]: 'KeyRelay-revocations',
      [ENV.eventBus]: 'default',
    });
    expect(settings.rotation.environment).not.toHaveProperty(ENV.revokerDlqArn);
  });
});

describe('Function: settingsFromTemplates', () => {
  const template = (variables: Record<string, unknown>) =>
    new Map([
      [
        'KeyRelay',
        {
          Resources: Object.fromEntries(
            ['rotation', 'revoker'].map((fn) => [
              fn,
              { Type: 'AWS::Lambda::Function', Properties: { FunctionName: `KeyRelay-${fn}`, Environment: { Variables: variables } } },
            ]),
          ),
        },
      ],
    ]);

  it('takes CloudFormation defaults when the template sets no timeout or memory', () => {
    // Act
    const settings = settingsFromTemplates(template({ A: 'b' }), 'KeyRelay', {});

    // Assess
    expect(settings.revoker).toEqual({ handler: 'index.handler', timeoutMs: 3000, memoryMb: 128, environment: { A: 'b' } });
  });

  it('refuses a computed variable the local stack has no value for, naming it', () => {
    // Act + Assess
    expect(() => settingsFromTemplates(template({ NEW_TABLE_ARN: { 'Fn::GetAtt': ['Table', 'Arn'] } }), 'KeyRelay', {})).toThrow(
      expect.objectContaining({ name: FunctionSettingsError.name, message: expect.stringContaining('NEW_TABLE_ARN') }),
    );
  });
});
