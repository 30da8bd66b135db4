import type { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { EngineNames } from './names';

/*
 * The engine's EventBridge rules. Each rule's name is in `engineNames(...).rules`, which the key policy reads: a rule
 * not named there cannot deliver to the encrypted topic or queue.
 */

/**
 * Forwards Secrets Manager's rotation failure events to the alarm topic (id `RotationFailedRule`), with a message
 * saying what to do first. Not `targets.SnsTopic`: it lets events.amazonaws.com publish with no condition, so a rule
 * in any account (cross-account targets) could write to on-call's alarm topic. Only this rule may.
 *
 * @example
 * const rule = createRotationFailedRule(engine, names, alarmTopic);
 */
export function createRotationFailedRule(scope: Construct, names: EngineNames, topic: sns.Topic): events.Rule {
  const rule = new events.Rule(scope, 'RotationFailedRule', {
    ruleName: names.rules.rotationFailed,
    description: 'keyrelay: Secrets Manager rotation failures to the alarm topic',
    eventPattern: {
      source: ['aws.secretsmanager'],
      detailType: ['AWS Service Event via CloudTrail'],
      detail: {
        eventSource: ['secretsmanager.amazonaws.com'],
        eventName: ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'],
      },
    },
  });
  const failureMessage = events.RuleTargetInput.fromText(
    `keyrelay: Secrets Manager reported ${events.EventField.fromPath('$.detail.eventName')} for ` +
      `${events.EventField.fromPath('$.detail.additionalEventData.SecretId')} at ${events.EventField.time}. ` +
      'First: run `keyrelay status` on that secret and read the rotation function logs for the failing step; ' +
      'fix the cause, then `keyrelay cancel` and `keyrelay rotate`.',
  );
  rule.addTarget({ bind: () => ({ arn: topic.topicArn, input: failureMessage, targetResource: topic }) });
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'RotationFailedRule',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleArn } },
    }),
  );
  return rule;
}

/** Runs the revoker's reconcile sweep every `every` (id `ReconcileRule`), failed invocations to the dead-letter queue. */
export function createReconcileRule(scope: Construct, names: EngineNames, revoker: lambda.IFunction, deadLetterQueue: sqs.IQueue, every: Duration): events.Rule {
  return new events.Rule(scope, 'ReconcileRule', {
    ruleName: names.rules.reconcile,
    description: 'keyrelay: periodic reconcile sweep (orphans, missed deadlines, gauges)',
    schedule: events.Schedule.rate(every),
    targets: [
      new targets.LambdaFunction(revoker, {
        event: events.RuleTargetInput.fromObject({ action: 'reconcile' }),
        retryAttempts: 2,
        deadLetterQueue,
      }),
    ],
  });
}
