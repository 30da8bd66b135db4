import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { TAGS } from '../../core/state';
import type { EngineNames } from './names';

/*
 * ARN patterns and conditions that narrow a statement to one engine's resources. The functions' roles and the
 * on-call policy share them, so both always mean the same secrets.
 */

/**
 * ARN pattern of every secret in the stack's account and region, or in `region` (a replica region), narrowed by
 * {@link managedSecretCondition}.
 */
export function secretArnPattern(scope: IConstruct, region?: string): string {
  return Stack.of(scope).formatArn({ service: 'secretsmanager', region, resource: 'secret', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

/** The condition that limits a statement to the secrets whose `keyrelay:revoker` tag names this engine's revoker. */
export function managedSecretCondition(names: EngineNames): Record<string, Record<string, string>> {
  return { StringEquals: { [`aws:ResourceTag/${TAGS.revoker}`]: names.revoker } };
}

/** ARN pattern of the engine's revocation schedules: its schedule group, names starting `kr-` (lambda/runtime/scheduler.ts). */
export function scheduleArnPattern(scope: IConstruct, names: EngineNames): string {
  return Stack.of(scope).formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${names.scheduleGroup}/kr-*` });
}

/**
 * ARN of a function of this stack by its physical name: the revoker's own environment and the scheduler role name it
 * without a reference, so without a cycle.
 */
export function functionArn(scope: IConstruct, functionName: string): string {
  return Stack.of(scope).formatArn({ service: 'lambda', resource: 'function', resourceName: functionName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}
