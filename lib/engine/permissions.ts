import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { EVENTS } from '../../core/ports';
import { STATE_NOTE_TAGS, TAGS } from '../../core/state';
import { acknowledgeWildcard } from './acknowledgements';
import { allowDeadLetterSend } from './delivery';
import { keyViaServiceStatement } from './kms';
import type { EngineNames } from './names';
import { managedSecretCondition, scheduleArnPattern, secretArnPattern } from './scopes';

/** The actions an application needs to read a key. */
export const READ_ACTIONS = ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'] as const;

/** What the functions' roles are granted on. */
export interface FunctionPermissionsProps {
  readonly names: EngineNames;
  readonly rotationRole: iam.Role;
  readonly revokerRole: iam.Role;
  readonly key: kms.IKey;
  readonly deadLetterQueue: sqs.IQueue;
  readonly schedulerRole: iam.IRole;
  /** Names or ARNs of the provider admin secrets both functions read. */
  readonly adminSecrets: readonly string[];
}

/**
 * Least privilege of the two functions without per-secret statements: a secret may be touched only when its
 * `keyrelay:revoker` tag names this engine's revoker (one tag-scoped statement, whatever the number of keys), so IAM
 * policy size does not grow with keys and two deployments in one account cannot touch each other's keys. The
 * `aws-iam` users' ARNs are the exception, in their own managed policies (`aws-iam-user-policies.ts`).
 *
 * @example
 * grantFunctionPermissions(engine, { names, rotationRole, revokerRole, key, deadLetterQueue, schedulerRole, adminSecrets: [] });
 */
export function grantFunctionPermissions(scope: Construct, props: FunctionPermissionsProps): void {
  const { names, rotationRole, revokerRole } = props;
  const secrets = secretArnPattern(scope);
  const schedules = scheduleArnPattern(scope, names);
  const managed = managedSecretCondition(names);
  allowDeadLetterSend(revokerRole, props.deadLetterQueue, props.key);
  const grantManagedSecrets = (role: iam.Role, actions: string[]) =>
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ManagedSecrets', actions, resources: [secrets], conditions: managed }));
  grantManagedSecrets(rotationRole, [
    'secretsmanager:DescribeSecret',
    'secretsmanager:GetSecretValue',
    'secretsmanager:PutSecretValue',
    'secretsmanager:UpdateSecretVersionStage',
  ]);
  grantManagedSecrets(revokerRole, [
    'secretsmanager:DescribeSecret',
    'secretsmanager:GetSecretValue',
    'secretsmanager:UpdateSecretVersionStage',
    // import and rollback are revoker actions: on-call asks, the revoker checks and writes.
    'secretsmanager:PutSecretValue',
  ]);
  const adminSecretArns = [...new Set(props.adminSecrets)].sort().map((s) =>
    s.startsWith('arn:')
      ? s
      : Stack.of(scope).formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${s}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
  );
  for (const role of [rotationRole, revokerRole]) {
    // Lifecycle records and the state notes only (finishSecret writes a record and the current-key note in one
    // TagResource; the revoker's canary its verdict and the automatic emergency's note): the functions cannot change
    // settings tags or the managed marker.
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'KeyRecordTags',
        actions: ['secretsmanager:TagResource', 'secretsmanager:UntagResource'],
        resources: [secrets],
        conditions: { ...managed, 'ForAllValues:StringLike': { 'aws:TagKeys': [`${TAGS.keyRecord}*`, ...STATE_NOTE_TAGS] } },
      }),
    );
    role.addToPrincipalPolicy(keyViaServiceStatement('KeyViaSecretsManager', props.key, 'secretsmanager', ['kms:Decrypt', 'kms:GenerateDataKey']));
    if (adminSecretArns.length > 0) {
      role.addToPolicy(new iam.PolicyStatement({ sid: 'ProviderAdminSecrets', actions: [...READ_ACTIONS], resources: adminSecretArns }));
    }
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RevocationSchedules',
        actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:GetSchedule', 'scheduler:UpdateSchedule'],
        resources: [schedules],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassOnlySchedulerRole',
        actions: ['iam:PassRole'],
        resources: [props.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
  }
  revokerRole.addToPolicy(new iam.PolicyStatement({ sid: 'ReconcileListsSecrets', actions: ['secretsmanager:ListSecrets'], resources: ['*'] }));
  rotationRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'PublishKeyRotated',
      actions: ['events:PutEvents'],
      resources: [Stack.of(scope).formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
      conditions: { StringEquals: { 'events:source': EVENTS.source } },
    }),
  );

  for (const role of [rotationRole, revokerRole]) {
    acknowledgeWildcard(
      role,
      secrets,
      "Secret names are the config's key names; the statement is narrowed by the aws:ResourceTag/keyrelay:revoker condition to this engine's secrets, one statement instead of one per key (IAM size limits at hundreds of keys).",
    );
    acknowledgeWildcard(
      role,
      schedules,
      "Revocation schedules are created at run time, one per key version; scoped to keyrelay's own schedule group and name prefix.",
    );
  }
  acknowledgeWildcard(
    revokerRole,
    '*',
    'secretsmanager:ListSecrets has no resource-level permissions; the sweep filters on the keyrelay:managed tag and every action on a secret is tag-scoped.',
  );
}
