import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { AWS_EVENTS_ALIAS, HEALTH_EXPOSED } from '../../core/ports';
import type { EngineNames } from './names';
import { managedSecretCondition, secretArnPattern } from './scopes';

/** What {@link createLeakResponse} wires. */
export interface LeakResponseProps {
  readonly names: EngineNames;
  readonly revoker: lambda.Function;
  readonly revokerRole: iam.Role;
  readonly rotation: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  /** How often the canary rule fires (the shortest canary interval of the keys). @default - no canary rule */
  readonly canaryEvery?: Duration;
}

/** The leak response's resources. */
export interface LeakResponse {
  /** Sends `{action: 'canary'}` to the revoker (id `CanaryRule`), when a key has a canary. */
  readonly canaryRule?: events.Rule;
  /** The revoker's alias only {@link healthRule} may invoke (id `AwsEventsAlias`). */
  readonly awsEventsAlias: lambda.Alias;
  /** AWS Health `AWS_RISK_CREDENTIALS_EXPOSED` to the alias (id `AwsHealthRule`). */
  readonly healthRule: events.Rule;
}

/**
 * Leak response without a human (docs/revocation.md, "Leak response"; trust: docs/security.md, "Automatic
 * emergencies"):
 * - the canary rule runs the revoker's canary at the shortest canary interval of the keys (each key is checked when
 *   its own interval has passed);
 * - the AWS Health rule (`source: aws.health`, event type `AWS_RISK_CREDENTIALS_EXPOSED`) targets the revoker's alias
 *   `aws-events`, which only that rule may invoke (its resource policy names the rule; no identity policy of the
 *   deployment names a qualified revoker ARN). Lambda reports the alias in `invokedFunctionArn`, so the revoker tells
 *   the rule's invocation from a direct `Invoke` of an event-shaped payload. EventBridge refuses `PutEvents` with an
 *   `aws.` source, so nothing a caller puts on a bus matches the rule either;
 * - the revoker may start a rotation with this engine's rotation function (the automatic emergency).
 *
 * AWS Health delivers IAM's (global) events in us-east-1: elsewhere the rule fires only for events forwarded from there.
 *
 * @example
 * createLeakResponse(engine, { names, revoker, revokerRole, rotation, deadLetterQueue, canaryEvery: Duration.minutes(5) });
 */
export function createLeakResponse(scope: Construct, props: LeakResponseProps): LeakResponse {
  const { names, revoker, revokerRole, deadLetterQueue } = props;
  const canaryRule = props.canaryEvery
    ? new events.Rule(scope, 'CanaryRule', {
        ruleName: names.rules.canary,
        description: 'keyrelay: the canary verifies current keys and heals dead ones',
        schedule: events.Schedule.rate(props.canaryEvery),
        targets: [
          new targets.LambdaFunction(revoker, { event: events.RuleTargetInput.fromObject({ action: 'canary' }), retryAttempts: 0, deadLetterQueue }),
        ],
      })
    : undefined;
  // $LATEST: the alias follows every deploy without publishing (and keeping) a version per deploy.
  const awsEventsAlias = new lambda.Alias(scope, 'AwsEventsAlias', {
    aliasName: AWS_EVENTS_ALIAS,
    version: revoker.latestVersion,
    description: 'keyrelay: only the AWS Health rule may invoke this alias (the revoker trusts AWS events only through it)',
  });
  const healthRule = new events.Rule(scope, 'AwsHealthRule', {
    ruleName: names.rules.awsHealth,
    description: 'keyrelay: AWS Health exposed IAM access keys to the revoker (automatic emergency for keyrelay keys)',
    eventPattern: {
      source: [HEALTH_EXPOSED.source],
      detailType: [HEALTH_EXPOSED.detailType],
      detail: { eventTypeCode: [HEALTH_EXPOSED.eventTypeCode] },
    },
    targets: [new targets.LambdaFunction(awsEventsAlias, { retryAttempts: 2, maxEventAge: Duration.hours(1), deadLetterQueue })],
  });
  revokerRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'AutomaticEmergencyRotation',
      actions: ['secretsmanager:RotateSecret'],
      resources: [secretArnPattern(scope)],
      conditions: {
        ...managedSecretCondition(names),
        ArnEquals: { 'secretsmanager:resource/AllowRotationLambdaArn': props.rotation.functionArn },
        ArnEqualsIfExists: { 'secretsmanager:RotationLambdaARN': props.rotation.functionArn },
      },
    }),
  );
  // RotateSecret also needs invoke on the rotation function (as on-call's rotate does).
  revokerRole.addToPolicy(new iam.PolicyStatement({ sid: 'AutomaticEmergencyInvokeRotation', actions: ['lambda:InvokeFunction'], resources: [props.rotation.functionArn] }));
  return { canaryRule, awsEventsAlias, healthRule };
}
