import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { keyViaServiceStatement } from './kms';
import type { EngineNames } from './names';

/*
 * Where failures go: the alarm topic on-call hears, and the revoker's dead-letter queue.
 */

/** SNS subscription of the alarm topic beyond email. */
export interface AlarmSubscription {
  protocol: 'email' | 'email-json' | 'http' | 'https' | 'sqs' | 'lambda' | 'sms' | 'firehose' | 'application';
  endpoint: string;
}

/** Who hears the alarm topic. */
export interface AlarmRecipients {
  readonly emails?: readonly string[];
  readonly subscriptions?: readonly AlarmSubscription[];
}

/**
 * The engine's alarm topic (id `AlarmTopic` in `scope`, the engine): encrypted with the engine key, TLS only, and
 * publishable by CloudWatch alarms of this account. Rules add their own publish statements (`rules.ts`).
 *
 * @example
 * const topic = createAlarmTopic(engine, names, key, { emails: ['oncall@example.com'] });
 */
export function createAlarmTopic(scope: Construct, names: EngineNames, key: kms.IKey, recipients: AlarmRecipients): sns.Topic {
  const topic = new sns.Topic(scope, 'AlarmTopic', {
    displayName: `keyrelay alarms (${names.prefix})`,
    masterKey: key,
    enforceSSL: true,
  });
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarms',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
  );
  for (const email of recipients.emails ?? []) topic.addSubscription(new subs.EmailSubscription(email));
  (recipients.subscriptions ?? []).forEach((s, i) => {
    new sns.Subscription(scope, `AlarmSubscription${i}`, {
      topic,
      protocol: s.protocol as sns.SubscriptionProtocol,
      endpoint: s.endpoint,
    });
  });
  return topic;
}

/** The revoker's dead-letter queue (id `RevokerDeadLetterQueue` in `scope`): failed scheduled and asynchronous invocations, kept 14 days. */
export function createDeadLetterQueue(scope: Construct, key: kms.IKey): sqs.Queue {
  return new sqs.Queue(scope, 'RevokerDeadLetterQueue', {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
}

/** Lets `role` send to the dead-letter `queue`, and use `key` for it only through SQS. */
export function allowDeadLetterSend(role: iam.Role, queue: sqs.IQueue, key: kms.IKey): void {
  role.addToPolicy(new iam.PolicyStatement({ sid: 'DeadLetterQueue', actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
  role.addToPolicy(keyViaServiceStatement('KeyViaSqs', key, 'sqs', ['kms:GenerateDataKey', 'kms:Decrypt']));
}
