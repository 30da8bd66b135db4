import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Manifest } from '../core/manifest';
import { canaryRuleEvery, NAME_PREFIX, type ResolvedKey } from './config';
import { buildManifest, mirrorsManifest } from './manifest';
import { KeyRelayMonitoring } from './monitoring';
import { checkReconcileEvery, refuse } from './validation';
import { AwsIamUserPolicies, type AwsIamUserPolicy } from './engine/aws-iam-user-policies';
import { createAlarmTopic, createDeadLetterQueue, type AlarmSubscription } from './engine/delivery';
import { createFunctions } from './engine/functions';
import { createEngineKey, viaService } from './engine/kms';
import { engineNames, type EngineNames } from './engine/names';
import { OnCallPolicy } from './engine/on-call-policy';
import { addEngineOutputs } from './engine/outputs';
import { grantFunctionPermissions } from './engine/permissions';
import { createReconcileRule, createRotationFailedRule } from './engine/rules';
import { createLeakResponse, type LeakResponse } from './engine/leak-response';
import { createScheduler } from './engine/scheduler';
import { functionArn, managedSecretCondition, scheduleArnPattern, secretArnPattern } from './engine/scopes';
import { checkReplicaRegions, forwardKeyRotated, grantReplicaAccess, replicaRegionsOf } from './replicas';

export { NAG_RULE } from './engine/acknowledgements';
export { AWS_IAM_TAG_KEYS, MAX_AWS_IAM_USER_POLICIES } from './engine/aws-iam-user-policies';
export type { AlarmSubscription } from './engine/delivery';
export { READ_ACTIONS } from './engine/permissions';

/*
 * The engine construct composes one file per job (lib/engine/): names.ts (physical names), kms.ts (the key and the
 * kms:ViaService statement), delivery.ts (alarm topic, dead-letter queue), scheduler.ts, functions.ts,
 * permissions.ts (the functions' roles), aws-iam-user-policies.ts, on-call-policy.ts, rules.ts, outputs.ts and
 * acknowledgements.ts (cdk-nag). Every part creates its resources in the engine's own scope under the ids they had
 * before the split, so no logical id changed: a changed id would make CloudFormation replace the key of every secret
 * and collide with the physical names of functions, log groups, rules and the on-call policy.
 */

/** Props of {@link KeyRelayEngine}. */
export interface KeyRelayEngineProps {
  /**
   * Prefix of physical names: functions `<prefix>-rotation` and `<prefix>-revoker`, schedule group
   * `<prefix>-revocations`, alias `alias/<prefix>`, policy `<prefix>-oncall`. Distinct per deployment in one account.
   * @default 'KeyRelay'
   */
  readonly namePrefix?: string;
  /** Names or ARNs of the secrets holding provider admin credentials; only the two functions may read them. @default - none */
  readonly adminSecrets?: readonly string[];
  /** Email addresses subscribed to the alarm topic. @default - none */
  readonly alarmEmails?: readonly string[];
  /** Other subscriptions of the alarm topic. @default - none */
  readonly alarmSubscriptions?: readonly AlarmSubscription[];
  /** How often the reconcile sweep runs. @default Duration.hours(1) */
  readonly reconcileEvery?: Duration;
  /**
   * No successful rotation for this long raises the overdue alarm: the longest rotation interval plus its window
   * plus slack.
   * @default Duration.days(32)
   */
  readonly overdueAfter?: Duration;
  /**
   * Rotation function timeout, per step. testSecret retries propagation delays for up to about a minute and every
   * provider call honours throttling (Retry-After) with backoff: 5 minutes leaves more than twice that, and a step
   * never eats the rotation window (at least an hour) in which Secrets Manager retries.
   * @default Duration.minutes(5)
   */
  readonly rotationTimeout?: Duration;
  /**
   * Revoker timeout. The reconcile sweep lists each admin credential once and re-reads only secrets with work (seconds
   * at 5,000 keys); it stops starting work a minute before this and the next sweep continues. Below Lambda's 15-minute cap.
   * @default Duration.minutes(10)
   */
  readonly revokerTimeout?: Duration;
  /** Reserved concurrency of each function. Fails the deploy on accounts with a low concurrency limit. @default - none */
  readonly reservedConcurrency?: number;
  /** Memory of each function, MiB. @default 256 */
  readonly memorySize?: number;
  /** Retention of the functions' logs (the audit trail next to CloudTrail). @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Directory whose `dist/lambda/<rotation|revoker>` holds the functions' bundles (`lib/bundles.ts`, built from its
   * `lambda/` when missing). @default - this package's root
   */
  readonly codeRoot?: string;
  /**
   * The keys this engine manages: their settings go into the manifest both functions ship with (`lib/manifest.ts`),
   * and a {@link KeyRelayKey} for a key not listed here fails synth. @default - none (the functions act on nothing)
   */
  readonly keys?: readonly ResolvedKey[];
}

/**
 * The shared half of keyrelay: one customer-managed KMS key, the rotation and revoker functions, the revoker's
 * dead-letter queue, the scheduler role, the alarm topic, the EventBridge rules, alarms and the dashboard. Keys
 * ({@link KeyRelayKey}) point at it. Every key is declared in the engine's manifest (`keys`), shipped inside the
 * functions' code: the functions obey it, never the secrets' tags (docs/security.md). So adding, removing or changing a
 * key **redeploys both functions** (the asset hash changes).
 *
 * Least privilege without per-secret statements: the functions may touch a secret only when its
 * `keyrelay:revoker` tag names this engine's revoker (one tag-scoped statement, whatever the number of keys),
 * so IAM policy size does not grow with keys and two deployments in one account cannot touch each other's keys.
 *
 * @example
 * const engine = new KeyRelayEngine(stack, 'Engine', { alarmEmails: ['oncall@example.com'], keys: config.keys });
 * new KeyRelayKey(stack, 'Stripe', { engine, key: config.keys[0] });
 */
export class KeyRelayEngine extends Construct {
  /** The customer-managed key encrypting every secret, the alarm topic and the dead-letter queue. */
  readonly key: kms.Key;
  readonly rotationFunction: lambda.Function;
  readonly revokerFunction: lambda.Function;
  /** Physical name of the revoker: the `keyrelay:revoker` tag value of every secret of this engine. */
  readonly revokerFunctionName: string;
  /** Invoke permission for `secretsmanager.amazonaws.com` (with `aws:SourceAccount`); schedules depend on it. */
  readonly rotationInvokePermission: lambda.CfnPermission;
  /** Receives failed scheduled and asynchronous revoker invocations. */
  readonly revokerDeadLetterQueue: sqs.Queue;
  /** Role EventBridge Scheduler assumes: may invoke only the revoker. */
  readonly schedulerRole: iam.Role;
  readonly scheduleGroupName: string;
  readonly alarmTopic: sns.Topic;
  /** Rule forwarding Secrets Manager's rotation failure events to the alarm topic. */
  readonly rotationFailedRule: events.Rule;
  /** Managed policy with exactly what the keyrelay CLI needs. */
  readonly onCallPolicy: iam.ManagedPolicy;
  /** The canary rule, the AWS Health rule and the revoker alias only it may invoke. */
  readonly leakResponse: LeakResponse;
  readonly monitoring: KeyRelayMonitoring;
  /** Prefix of physical names. */
  readonly namePrefix: string;
  /** The physical names of this engine's resources, derived from {@link namePrefix}. */
  readonly names: EngineNames;
  /** The declared keys the functions act on (shipped in their code). */
  readonly manifest: Manifest;
  private readonly awsIamUsers: AwsIamUserPolicies;

  constructor(scope: Construct, id: string, props: KeyRelayEngineProps = {}) {
    super(scope, id);
    validateProps(this, props);
    const names = engineNames(props.namePrefix ?? 'KeyRelay');
    checkReplicaRegions(Stack.of(this), props.keys ?? []);
    const replicaRegions = replicaRegionsOf(props.keys ?? []);
    this.names = names;
    this.namePrefix = names.prefix;
    this.revokerFunctionName = names.revoker;
    this.scheduleGroupName = names.scheduleGroup;
    this.manifest = buildManifest(props.keys ?? [], names.revoker);
    const revokerArn = functionArn(this, names.revoker);

    this.key = createEngineKey(this, names);
    this.alarmTopic = createAlarmTopic(this, names, this.key, { emails: props.alarmEmails, subscriptions: props.alarmSubscriptions });
    this.revokerDeadLetterQueue = createDeadLetterQueue(this, this.key);
    this.schedulerRole = createScheduler(this, names, revokerArn, this.revokerDeadLetterQueue, this.key);

    const functions = createFunctions(this, {
      names,
      manifest: this.manifest,
      codeRoot: props.codeRoot,
      revokerArn,
      schedulerRole: this.schedulerRole,
      deadLetterQueue: this.revokerDeadLetterQueue,
      rotationTimeout: props.rotationTimeout ?? Duration.minutes(5),
      revokerTimeout: props.revokerTimeout ?? Duration.minutes(10),
      memorySize: props.memorySize ?? 256,
      reservedConcurrency: props.reservedConcurrency,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    });
    this.rotationFunction = functions.rotation;
    this.revokerFunction = functions.revoker;
    this.rotationInvokePermission = functions.rotationInvokePermission;
    grantFunctionPermissions(this, {
      names,
      rotationRole: functions.rotationRole,
      revokerRole: functions.revokerRole,
      key: this.key,
      deadLetterQueue: this.revokerDeadLetterQueue,
      schedulerRole: this.schedulerRole,
      adminSecrets: props.adminSecrets ?? [],
    });
    this.awsIamUsers = new AwsIamUserPolicies(this, names.prefix, [functions.rotationRole, functions.revokerRole]);

    this.rotationFailedRule = createRotationFailedRule(this, names, this.alarmTopic);
    const reconcileEvery = props.reconcileEvery ?? Duration.hours(1);
    createReconcileRule(this, names, this.revokerFunction, this.revokerDeadLetterQueue, reconcileEvery);
    const canaryEvery = canaryRuleEvery(props.keys ?? []);
    this.leakResponse = createLeakResponse(this, {
      names,
      revoker: this.revokerFunction,
      revokerRole: functions.revokerRole,
      rotation: this.rotationFunction,
      deadLetterQueue: this.revokerDeadLetterQueue,
      canaryEvery: canaryEvery === undefined ? undefined : Duration.seconds(canaryEvery),
    });

    this.onCallPolicy = new OnCallPolicy(this, 'OnCallPolicy', { names, rotationFunction: this.rotationFunction, revokerFunction: this.revokerFunction });
    // Replicas (lib/replicas.ts): the revoker confirms each serves the new key; status and plan show each region.
    grantReplicaAccess(this, {
      names,
      regions: replicaRegions,
      rotationRole: functions.rotationRole,
      revokerRole: functions.revokerRole,
      onCallPolicy: this.onCallPolicy,
    });
    forwardKeyRotated(this, names, replicaRegions);
    this.monitoring = new KeyRelayMonitoring(this, 'Monitoring', {
      topic: this.alarmTopic,
      rotationFunction: this.rotationFunction,
      revokerFunction: this.revokerFunction,
      deadLetterQueue: this.revokerDeadLetterQueue,
      reconcileEvery,
      overdueAfter: props.overdueAfter ?? Duration.days(32),
      dashboardName: names.dashboard,
      alarmNamePrefix: names.alarmPrefix,
      replicas: replicaRegions.length > 0,
    });
    addEngineOutputs(this, {
      onCallPolicyArn: this.onCallPolicy.managedPolicyArn,
      revokerFunctionName: names.revoker,
      alarmTopicArn: this.alarmTopic.topicArn,
    });
  }

  /**
   * Managed policies letting both functions manage the access keys of the `aws-iam` users (keys with
   * `credentials: role`), filled in order of {@link grantProviderAccess} calls; empty without such keys.
   */
  get awsIamUserPolicies(): readonly AwsIamUserPolicy[] {
    return this.awsIamUsers.policies;
  }

  /** ARN pattern of every secret in this account and region (narrowed by the tag condition). */
  get secretArnPattern(): string {
    return secretArnPattern(this);
  }

  /** ARN pattern of this engine's revocation schedules: its schedule group, names starting `kr-` (lambda/runtime/scheduler.ts). */
  get scheduleArnPattern(): string {
    return scheduleArnPattern(this, this.names);
  }

  /** The condition that limits a statement to this engine's secrets. */
  get managedSecretCondition(): Record<string, Record<string, string>> {
    return managedSecretCondition(this.names);
  }

  /**
   * Lets `grantee` decrypt with the key, only through Secrets Manager (reading a secret also needs the secret's
   * own permission). Cross-account grantees get a key policy statement too.
   */
  grantDecryptViaSecretsManager(grantee: iam.IGrantable): iam.Grant {
    // Identity policy where possible: a key policy statement per reader would grow toward KMS's 32 KB limit and
    // make the engine stack reference every app's role.
    return iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['kms:Decrypt'],
      resourceArns: [this.key.keyArn],
      resourceSelfArns: ['*'],
      resource: this.key,
      conditions: viaService(this, 'secretsmanager'),
    });
  }

  /**
   * Checks that `key` is in this engine's manifest with the same settings. {@link KeyRelayKey} calls it.
   * @throws ConfigError otherwise (the deployed functions would refuse its secret).
   */
  declaredKey(key: ResolvedKey): void {
    mirrorsManifest(this.manifest, key, this.revokerFunctionName);
  }

  /**
   * Grants both functions what `key`'s provider needs beyond reading its admin secret (`adminSecrets`). Only
   * `aws-iam` with `credentials: role` (the default) needs more: exactly `AWS_IAM_ACTIONS` on that IAM user, tag
   * writes only for keyrelay's tag keys, in managed policies shared by both roles ({@link AwsIamUserPolicies}).
   * {@link KeyRelayKey} calls it for every key.
   *
   * @throws ConfigError when a key granted before names the same IAM user (`claimAwsIamUser`: `resolveConfig`
   *   checks one config, this the keys of every config granted to the engine), or when the users no longer fit in
   *   `MAX_AWS_IAM_USER_POLICIES` policies.
   */
  grantProviderAccess(key: ResolvedKey): void {
    this.awsIamUsers.grant(key);
  }
}

/** Lambda's limits and keyrelay's own, checked before anything is built. @throws ValidationError naming the engine. */
function validateProps(engine: KeyRelayEngine, props: KeyRelayEngineProps): void {
  if (props.namePrefix !== undefined && !NAME_PREFIX.test(props.namePrefix)) {
    refuse(engine, 'NamePrefixInvalid', `namePrefix must be 1-40 letters, digits or -, starting with a letter, got '${props.namePrefix}'`);
  }
  if (props.reconcileEvery) checkReconcileEvery(engine, props.reconcileEvery);
  const minutes = (d: Duration | undefined) => d?.toSeconds() ?? 0;
  if (props.rotationTimeout && (minutes(props.rotationTimeout) < 60 || minutes(props.rotationTimeout) > 900)) {
    refuse(engine, 'RotationTimeoutOutOfRange', `rotationTimeout must be from 1 to 15 minutes, got ${props.rotationTimeout.toHumanString()}`);
  }
  // The sweep stops starting work a minute before the timeout: it needs more than that minute.
  if (props.revokerTimeout && (minutes(props.revokerTimeout) <= 60 || minutes(props.revokerTimeout) > 900)) {
    refuse(engine, 'RevokerTimeoutOutOfRange', `revokerTimeout must be more than 1 and at most 15 minutes, got ${props.revokerTimeout.toHumanString()}`);
  }
  if (props.memorySize !== undefined && !(Number.isInteger(props.memorySize) && props.memorySize >= 128 && props.memorySize <= 10_240)) {
    refuse(engine, 'MemorySizeOutOfRange', `memorySize must be a whole number of MiB from 128 to 10240, got ${props.memorySize}`);
  }
  if (props.reservedConcurrency !== undefined && !(Number.isInteger(props.reservedConcurrency) && props.reservedConcurrency >= 1)) {
    // 0 would stop the function from running at all.
    refuse(engine, 'ReservedConcurrencyInvalid', `reservedConcurrency must be a whole number of at least 1, got ${props.reservedConcurrency}`);
  }
}
