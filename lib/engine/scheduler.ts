import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { CfnScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { allowDeadLetterSend } from './delivery';
import type { EngineNames } from './names';

/**
 * The revocation schedules' home: the schedule group (id `ScheduleGroup`) and the role EventBridge Scheduler assumes
 * (id `SchedulerRole`), which may invoke only the revoker and send to its dead-letter queue. The functions create the
 * schedules at run time (lambda/runtime/scheduler.ts).
 *
 * @example
 * const role = createScheduler(engine, names, revokerArn, deadLetterQueue, key);
 */
export function createScheduler(scope: Construct, names: EngineNames, revokerArn: string, deadLetterQueue: sqs.IQueue, key: kms.IKey): iam.Role {
  const stack = Stack.of(scope);
  new CfnScheduleGroup(scope, 'ScheduleGroup', { name: names.scheduleGroup });
  const role = new iam.Role(scope, 'SchedulerRole', {
    description: 'EventBridge Scheduler: invoke the keyrelay revoker at revocation deadlines',
    // aws:SourceArn must be the schedule group's ARN, not a schedule's (EventBridge Scheduler User Guide,
    // "Confused deputy prevention"): only schedules of this engine's group can have Scheduler assume the role.
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: {
        StringEquals: {
          'aws:SourceAccount': stack.account,
          'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: names.scheduleGroup }),
        },
      },
    }),
  });
  // The unqualified revoker only: its `aws-events` alias is the AWS Health rule's alone (lib/engine/leak-response.ts).
  role.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [revokerArn] }));
  allowDeadLetterSend(role, deadLetterQueue, key);
  return role;
}
