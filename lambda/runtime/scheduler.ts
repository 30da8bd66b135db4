import { ConflictException, CreateScheduleCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { createHash } from 'node:crypto';
import type { Clock } from '../../core/clock';
import { ENV } from '../../core/env';
import { ConfigError } from '../../core/errors';
import type { RevocationRequest, RevocationScheduler } from '../../core/ports';
import type { RevokerRequest } from '../revoker/protocol';

/** Where revocation schedules go, from the function's environment ({@link ENV}). */
export interface SchedulerTarget {
  /** Revoker function ARN. */
  revokerArn?: string;
  /** Role EventBridge Scheduler assumes to invoke the revoker. */
  roleArn?: string;
  /** @default 'default' */
  group?: string;
  /** Dead-letter queue for failed invocations. @default - none */
  dlqArn?: string;
}

/** Reads {@link SchedulerTarget} from the environment. */
export function schedulerTargetFromEnv(env: NodeJS.ProcessEnv = process.env): SchedulerTarget {
  return {
    revokerArn: env[ENV.revokerArn],
    roleArn: env[ENV.schedulerRoleArn],
    group: env[ENV.scheduleGroup],
    dlqArn: env[ENV.revokerDlqArn],
  };
}

const NAME_LIMIT = 64;

function slug(text: string, max: number): string {
  return text.replace(/[^0-9A-Za-z_.-]+/g, '-').slice(0, max);
}

/**
 * The schedule name for one key's revocation at one time: `kr-<secret>-<keyId>-<hash>`, at most 64 characters of
 * `[0-9A-Za-z-_.]` (no `/`: moto answers 404). The hash covers secret, key and due time: a retried finishSecret
 * finds its schedule already there (ConflictException) instead of arranging a second one, while the revoker
 * re-arming the same key for a later time (usage hold, two-phase delete, restore) gets a schedule of its own.
 * An earlier schedule that still fires finds nothing due: `revokeDue` is idempotent.
 */
export function revocationScheduleName(secretArn: string, keyId: string, due: number): string {
  const hash = createHash('sha256').update(`${secretArn}\n${keyId}\n${Math.floor(due / 1000)}`).digest('hex').slice(0, 16);
  const name = secretArn.split(':').at(6) ?? secretArn;
  return `kr-${slug(name, 28)}-${slug(keyId, NAME_LIMIT - 3 - 28 - 2 - 16)}-${hash}`;
}

/** `at(...)` of the first whole second not before `ms` (and not in the past). */
function atExpression(ms: number, now: number): string {
  const when = Math.ceil(Math.max(ms, now + 60_000) / 1000) * 1000;
  return `at(${new Date(when).toISOString().slice(0, 19)})`;
}

/**
 * A {@link RevocationScheduler} on EventBridge Scheduler: one one-time schedule per key (`ActionAfterCompletion:
 * DELETE`, flexible window off) invoking the revoker with `{"action":"revokeDue","secretId":...}`. Idempotent.
 * A due time in the past (a late retry) is arranged a minute from now.
 * @throws ConfigError when the revoker ARN or the scheduler role is not configured.
 */
export function eventBridgeScheduler(client: SchedulerClient, clock: Clock, target: SchedulerTarget): RevocationScheduler {
  return {
    async scheduleRevocation(request: RevocationRequest): Promise<void> {
      if (!target.revokerArn || !target.roleArn) {
        throw new ConfigError(
          `cannot arrange revocations: environment variables ${ENV.revokerArn} and ${ENV.schedulerRoleArn} must be set ` +
            '(the CDK app sets them); the reconcile sweep revokes past-deadline keys meanwhile',
        );
      }
      const input: RevokerRequest = { action: 'revokeDue', secretId: request.secretArn };
      try {
        await client.send(
          new CreateScheduleCommand({
            Name: revocationScheduleName(request.secretArn, request.keyId, request.due),
            GroupName: target.group ?? 'default',
            ScheduleExpression: atExpression(request.due, clock.now()),
            ScheduleExpressionTimezone: 'UTC',
            FlexibleTimeWindow: { Mode: 'OFF' },
            ActionAfterCompletion: 'DELETE',
            Description: `keyrelay: revoke ${request.keyId} of ${request.secretName}`.slice(0, 512),
            Target: {
              Arn: target.revokerArn,
              RoleArn: target.roleArn,
              Input: JSON.stringify(input),
              ...(target.dlqArn ? { DeadLetterConfig: { Arn: target.dlqArn } } : {}),
            },
          }),
        );
      } catch (err) {
        if (err instanceof ConflictException || (err as { name?: string }).name === 'ConflictException') return;
        throw err;
      }
    },
  };
}
