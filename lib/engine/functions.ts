import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV } from '../../core/env';
import type { Manifest } from '../../core/manifest';
import { LAMBDA_HANDLER, lambdaBundles } from '../bundles';
import { stageFunctionCode } from '../manifest';
import type { EngineNames } from './names';

/** What {@link createFunctions} needs beyond names. */
export interface EngineFunctionsProps {
  readonly names: EngineNames;
  /** Shipped beside each bundle (`manifest.json`): the keys the functions act on. */
  readonly manifest: Manifest;
  /** Directory whose `dist/lambda/<rotation|revoker>` holds the bundles. @default - this package's root */
  readonly codeRoot?: string;
  readonly revokerArn: string;
  readonly schedulerRole: iam.IRole;
  readonly deadLetterQueue: sqs.IQueue;
  readonly rotationTimeout: Duration;
  readonly revokerTimeout: Duration;
  readonly memorySize: number;
  readonly reservedConcurrency?: number;
  readonly logRetention: logs.RetentionDays;
}

/** The two functions, their roles (no permissions yet: `permissions.ts`) and Secrets Manager's invoke permission. */
export interface EngineFunctions {
  readonly rotation: lambda.Function;
  readonly revoker: lambda.Function;
  readonly rotationRole: iam.Role;
  readonly revokerRole: iam.Role;
  /** Invoke permission for `secretsmanager.amazonaws.com` (with `aws:SourceAccount`); schedules depend on it. */
  readonly rotationInvokePermission: lambda.CfnPermission;
}

/**
 * The rotation and revoker functions (ids `Rotation`, `Revoker`), each with its own role (`RotationRole`,
 * `RevokerRole`) and log group (`RotationLogs`, `RevokerLogs`), all in `scope` (the engine). Each function ships its
 * prebuilt bundle plus the manifest in one staged directory, so the asset hash covers both and a key change
 * redeploys both functions.
 *
 * The prebuilt bundles (lib/bundles.ts) are deployed as they are: the same files the local stack runs under Node 24,
 * the AWS SDK inside them (the runtime's own SDK is a version no test has seen). No source map: its load at init
 * costs cold-start time (docs/benchmarks.md).
 *
 * @example
 * const fns = createFunctions(engine, { names, manifest, revokerArn, schedulerRole, deadLetterQueue, ... });
 */
export function createFunctions(scope: Construct, props: EngineFunctionsProps): EngineFunctions {
  const { names } = props;
  const bundles = lambdaBundles(props.codeRoot);
  const staged = mkdtempSync(join(tmpdir(), 'keyrelay-code-'));
  const code = (name: 'rotation' | 'revoker') => lambda.Code.fromAsset(stageFunctionCode(bundles[name], props.manifest, join(staged, name)));
  const environment: Record<string, string> = {
    [ENV.revokerArn]: props.revokerArn,
    [ENV.schedulerRoleArn]: props.schedulerRole.roleArn,
    [ENV.scheduleGroup]: names.scheduleGroup,
    [ENV.revokerDlqArn]: props.deadLetterQueue.queueArn,
    [ENV.eventBus]: 'default',
    POWERTOOLS_SERVICE_NAME: 'keyrelay',
    POWERTOOLS_METRICS_NAMESPACE: 'keyrelay',
  };
  const common = {
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize,
    environment,
    reservedConcurrentExecutions: props.reservedConcurrency,
    handler: LAMBDA_HANDLER,
  };

  const rotationRole = functionRole(scope, 'RotationRole', 'keyrelay rotation function');
  const rotation = new lambda.Function(scope, 'Rotation', {
    ...common,
    functionName: names.rotation,
    description: 'keyrelay: the four Secrets Manager rotation steps for third-party API keys',
    code: code('rotation'),
    timeout: props.rotationTimeout,
    role: rotationRole,
    logGroup: logGroup(scope, 'RotationLogs', names.rotation, props.logRetention, rotationRole),
  });

  const revokerRole = functionRole(scope, 'RevokerRole', 'keyrelay revoker function');
  const revoker = new lambda.Function(scope, 'Revoker', {
    ...common,
    functionName: names.revoker,
    description: 'keyrelay: revocations at deadlines, reconcile sweep, on-call actions',
    code: code('revoker'),
    timeout: props.revokerTimeout,
    role: revokerRole,
    logGroup: logGroup(scope, 'RevokerLogs', names.revoker, props.logRetention, revokerRole),
    deadLetterQueue: props.deadLetterQueue,
    retryAttempts: 2,
  });

  // Secrets Manager invokes the rotation function; SourceAccount stops a confused deputy in another account.
  const rotationInvokePermission = new lambda.CfnPermission(scope, 'SecretsManagerInvoke', {
    action: 'lambda:InvokeFunction',
    functionName: rotation.functionArn,
    principal: 'secretsmanager.amazonaws.com',
    sourceAccount: Stack.of(scope).account,
  });
  return { rotation, revoker, rotationRole, revokerRole, rotationInvokePermission };
}

function functionRole(scope: Construct, id: string, description: string): iam.Role {
  return new iam.Role(scope, id, { description, assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
}

/**
 * The function's log group, and its role's right to write it: a custom role has no AWSLambdaBasicExecutionRole,
 * and without `CreateLogStream`/`PutLogEvents` Lambda silently drops every log line and EMF metric.
 */
function logGroup(scope: Construct, id: string, functionName: string, retention: logs.RetentionDays, role: iam.Role): logs.LogGroup {
  const group = new logs.LogGroup(scope, id, {
    logGroupName: `/aws/lambda/${functionName}`,
    retention,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  group.grantWrite(role);
  return group;
}
