/**
 * Environment variables the CDK app sets on keyrelay's functions and the handlers read. One list, so the
 * constructs and the code cannot drift apart.
 */
export const ENV = {
  /** ARN of the revoker function (target of revocation schedules). */
  revokerArn: 'KEYRELAY_REVOKER_ARN',
  /** Role EventBridge Scheduler assumes to invoke the revoker. */
  schedulerRoleArn: 'KEYRELAY_SCHEDULER_ROLE_ARN',
  /** Schedule group for revocation schedules. @default 'default' */
  scheduleGroup: 'KEYRELAY_SCHEDULE_GROUP',
  /** Dead-letter queue for schedules whose revoker invocation fails. */
  revokerDlqArn: 'KEYRELAY_REVOKER_DLQ_ARN',
  /** Event bus for `KeyRotated`. @default 'default' */
  eventBus: 'KEYRELAY_EVENT_BUS',
} as const;
