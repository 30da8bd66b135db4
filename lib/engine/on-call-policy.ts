import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { TAGS } from '../../core/state';
import { acknowledgeWildcard } from './acknowledgements';
import type { EngineNames } from './names';
import { managedSecretCondition, secretArnPattern } from './scopes';

/** Props of {@link OnCallPolicy}. */
export interface OnCallPolicyProps {
  readonly names: EngineNames;
  readonly rotationFunction: lambda.IFunction;
  readonly revokerFunction: lambda.IFunction;
}

/**
 * The managed policy `<prefix>-oncall`: what the keyrelay CLI needs, and no more. No `GetSecretValue`: on-call never
 * reads a live key (`status` works from DescribeSecret, tags and the revoker's `inspect`; only `status --fingerprints`
 * reads values, and needs that grant on top). No `PutSecretValue`, `UpdateSecretVersionStage` or key-record tags:
 * `import`, `rollback`, `cancel`, `retire` and every record change are revoker actions that check their input
 * (docs/security.md). `RotateSecret` only with this engine's rotation function. Not included: turning rotation off
 * and removing keyrelay's tags (the end of `retire`), a platform-engineer action that takes a key out of keyrelay.
 *
 * @example
 * const policy = new OnCallPolicy(engine, 'OnCallPolicy', { names, rotationFunction, revokerFunction });
 * policy.attachToRole(oncallRole);
 */
export class OnCallPolicy extends iam.ManagedPolicy {
  constructor(scope: Construct, id: string, props: OnCallPolicyProps) {
    const { names, rotationFunction, revokerFunction } = props;
    const secrets = secretArnPattern(scope);
    const sm = (sid: string, actions: string[], extra: Record<string, Record<string, string | string[]>> = {}) =>
      new iam.PolicyStatement({ sid, actions, resources: [secrets], conditions: { ...managedSecretCondition(names), ...extra } });
    super(scope, id, {
      managedPolicyName: names.onCallPolicy,
      description: 'keyrelay CLI: status, plan, rotate, emergency, cancel, restore, rollback, history, freeze, import',
      statements: [
        new iam.PolicyStatement({ sid: 'FindManagedSecrets', actions: ['secretsmanager:ListSecrets'], resources: ['*'] }),
        sm('Inspect', ['secretsmanager:DescribeSecret', 'secretsmanager:ListSecretVersionIds']),
        // Only rotations run by this engine's rotation function: the secret must name it, and a request that names a
        // function must name it too (the CLI's own rotate names none, so a plain condition on the request would deny it).
        sm('RotateWithThisEngine', ['secretsmanager:RotateSecret'], {
          ArnEquals: { 'secretsmanager:resource/AllowRotationLambdaArn': rotationFunction.functionArn },
          ArnEqualsIfExists: { 'secretsmanager:RotationLambdaARN': rotationFunction.functionArn },
        }),
        sm('Freeze', ['secretsmanager:TagResource', 'secretsmanager:UntagResource'], {
          'ForAllValues:StringEquals': { 'aws:TagKeys': [TAGS.frozen] },
        }),
        new iam.PolicyStatement({
          sid: 'InvokeFunctions',
          // RotateSecret also needs invoke on the rotation function; every other action goes through the revoker.
          actions: ['lambda:InvokeFunction'],
          resources: [revokerFunction.functionArn, rotationFunction.functionArn],
        }),
        new iam.PolicyStatement({ sid: 'Alarms', actions: ['cloudwatch:DescribeAlarms'], resources: ['*'] }),
      ],
    });
    acknowledgeWildcard(this, '*', 'secretsmanager:ListSecrets and cloudwatch:DescribeAlarms have no resource-level permissions; both only read metadata.');
    acknowledgeWildcard(this, secrets, "Narrowed by the aws:ResourceTag/keyrelay:revoker condition to this engine's secrets.");
  }
}
