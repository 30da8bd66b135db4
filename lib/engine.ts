import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { CfnScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../core/env';
import { ConfigError } from '../core/errors';
import { EVENTS } from '../core/ports';
import { TAGS } from '../core/state';
import { AWS_IAM_ACTIONS, awsIamProvider, type AwsIamSettings } from '../lambda/providers/aws-iam';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Manifest } from '../core/manifest';
import { LAMBDA_HANDLER, lambdaBundles } from './bundles';
import { buildManifest, mirrorsManifest, stageFunctionCode } from './manifest';
import { claimAwsIamUser, type ResolvedKey } from './config';
import { KeyRelayMonitoring } from './monitoring';

/**
 * The shared half of keyrelay: one customer-managed KMS key, the rotation and revoker functions, the revoker's
 * dead-letter queue, the scheduler role, the alarm topic, the EventBridge rules, alarms and the dashboard. Keys
 * ({@link KeyRelayKey}) point at it. Every key is declared in the engine's manifest (`keys`), shipped inside the
 * functions' code: the functions obey it, never the secrets' tags (docs/security.md). So adding, removing or changing a
 * key **redeploys both functions** (the asset hash changes); an earlier version promised otherwise, because per-key
 * settings traveled in the
 * secret's tags.
 *
 * Least privilege without per-secret statements: the functions may touch a secret only when its
 * `keyrelay:revoker` tag names this engine's revoker (one tag-scoped statement, whatever the number of keys),
 * so IAM policy size does not grow with keys and two deployments in one account cannot touch each other's keys.
 *
 * @example
 * const engine = new KeyRelayEngine(stack, 'Engine', { alarmEmails: ['oncall@example.com'] });
 * new KeyRelayKey(stack, 'Stripe', { engine, key });
 */

/** SNS subscription of the alarm topic beyond email. */
export interface AlarmSubscription {
  protocol: 'email' | 'email-json' | 'http' | 'https' | 'sqs' | 'lambda' | 'sms' | 'firehose' | 'application';
  endpoint: string;
}

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

/** The actions an application needs to read a key. */
export const READ_ACTIONS = ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'] as const;

/** cdk-nag AwsSolutions rule ids as the validation plugin reports them. */
export const NAG_RULE = {
  wildcard: (resource: string) => `AwsSolutions::AwsSolutions-IAM5[Resource::${resource}]`,
} as const;

/** Acknowledges a cdk-nag finding on `scope`, with the reason it is right here (every acknowledgment has one). */
function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * Acknowledges cdk-nag's wildcard finding (IAM5) for `resource` on `scope`. The finding names the resource as the
 * template holds it, so the acknowledgment is derived from the very ARN the policy uses, never written by hand: an
 * environment-agnostic stack holds `arn:<AWS::Partition>:...:<AWS::Region>:<AWS::AccountId>:...`, one with an account
 * and region (what `cdk deploy` synthesizes when it has credentials) holds the literal ARN.
 */
function acknowledgeWildcard(scope: IConstruct, resource: string, reason: string): void {
  acknowledge(scope, NAG_RULE.wildcard(nagResourceText(Stack.of(scope).resolve(resource))), reason);
}

/** A resolved template value as cdk-nag flattens it in a finding: `Ref`s as `<Name>`, `Fn::Join`s joined. */
function nagResourceText(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as { Ref?: unknown; 'Fn::Join'?: [string, unknown[]] };
  if (typeof v.Ref === 'string') return `<${v.Ref}>`;
  if (v['Fn::Join']) return v['Fn::Join'][1].map(nagResourceText).join(v['Fn::Join'][0]);
  throw new Error(`acknowledgeWildcard: cannot name ${JSON.stringify(value)} as cdk-nag does; use a literal, a Ref or a Fn::Join`);
}

/** The IAM user tags the `aws-iam` adapter writes (labels, issue intent) all start with keyrelay's tag prefix. */
export const AWS_IAM_TAG_KEYS = 'keyrelay:*';
const IAM_TAG_ACTIONS: readonly string[] = ['iam:TagUser', 'iam:UntagUser'];

/** IAM's size limit of one managed policy: characters, whitespace not counted. */
const MANAGED_POLICY_MAX_CHARS = 6_144;
/** More than the policy's size without user ARNs (version, sids, actions, condition: about 400 characters). */
const IAM_USER_POLICY_OVERHEAD = 600;
/**
 * Managed policies IAM attaches to one role by default (quota "Managed policies per role", 10, raisable to 20).
 * The function roles hold no other managed policy.
 */
export const MAX_AWS_IAM_USER_POLICIES = 10;

/** What one user adds to its policy: its ARN in both statements, quoted with a comma, at the longest partition. */
function iamUserCost(resourceName: string): number {
  return 2 * `"arn:aws-us-gov:iam::123456789012:user/${resourceName}",`.length;
}

/** The managed policy being filled with `aws-iam` users, and its estimated size. */
interface AwsIamUserPolicy {
  readonly keyActions: iam.PolicyStatement;
  readonly tagActions: iam.PolicyStatement;
  size: number;
}

/** The rotation engine. See the module comment. */
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
  readonly monitoring: KeyRelayMonitoring;
  /** Prefix of physical names. */
  readonly namePrefix: string;
  /** The declared keys the functions act on (shipped in their code). */
  readonly manifest: Manifest;
  /**
   * Managed policies letting both functions manage the access keys of the `aws-iam` users (keys with
   * `credentials: role`), filled in order of {@link grantProviderAccess} calls; empty without such keys.
   */
  readonly awsIamUserPolicies: iam.ManagedPolicy[] = [];
  private readonly functionRoles: iam.Role[];
  /** IAM users claimed so far, see `claimAwsIamUser`: keys may come from several resolved configs. */
  private readonly awsIamUsers = new Map<string, string>();
  /** Number of `credentials: role` users in {@link awsIamUserPolicies}. */
  private awsIamRoleUsers = 0;
  private openAwsIamUserPolicy?: AwsIamUserPolicy;

  constructor(scope: Construct, id: string, props: KeyRelayEngineProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.namePrefix ?? 'KeyRelay';
    this.namePrefix = prefix;
    const bundles = lambdaBundles(props.codeRoot);
    this.revokerFunctionName = `${prefix}-revoker`;
    this.manifest = buildManifest(props.keys ?? [], this.revokerFunctionName);
    // One staged directory per function: its bundle plus manifest.json (the asset hash covers both).
    const staged = mkdtempSync(join(tmpdir(), 'keyrelay-code-'));
    const code = (name: 'rotation' | 'revoker') => lambda.Code.fromAsset(stageFunctionCode(bundles[name], this.manifest, join(staged, name)));
    const rotationName = `${prefix}-rotation`;
    this.scheduleGroupName = `${prefix}-revocations`;
    // Built from the physical name so the revoker's own environment and the scheduler role can name it without a cycle.
    const revokerArn = stack.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: this.revokerFunctionName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.key = new kms.Key(this, 'Key', {
      description: `keyrelay (${prefix}): secrets, alarm topic, revoker dead-letter queue`,
      enableKeyRotation: true,
      alias: `alias/${prefix}`,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // An encrypted topic receives nothing from alarms or rules unless these services may use the key: alarms would fail
    // silently. Only for this account (aws:SourceAccount) and this engine's own alarms and rules (aws:SourceArn), so
    // no other account's or other resource's alarm or rule can have CloudWatch or EventBridge use the key (confused
    // deputy). The ARNs are built from physical names: naming the rules by reference would make the key depend on the
    // topic that depends on the key.
    const allowDelivery = (sid: string, service: string, sourceArns: string[]): void => {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account }, ArnLike: { 'aws:SourceArn': sourceArns } },
        }),
      );
    };
    // Alarm names: `${alarmNamePrefix}-<id>` (lib/monitoring.ts), the prefix being this engine's.
    const alarms = stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: `${prefix}-*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    allowDelivery('AlarmDeliveryToEncryptedTopic', 'cloudwatch.amazonaws.com', [alarms]);
    const ruleNames = { rotationFailed: `${prefix}-rotation-failed`, reconcile: `${prefix}-reconcile` };
    const rules = Object.values(ruleNames).map((name) => stack.formatArn({ service: 'events', resource: 'rule', resourceName: name }));
    allowDelivery('EventDeliveryToEncryptedTopicAndQueue', 'events.amazonaws.com', rules);

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `keyrelay alarms (${prefix})`,
      masterKey: this.key,
      enforceSSL: true,
    });
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    for (const email of props.alarmEmails ?? []) this.alarmTopic.addSubscription(new subs.EmailSubscription(email));
    (props.alarmSubscriptions ?? []).forEach((s, i) => {
      new sns.Subscription(this, `AlarmSubscription${i}`, {
        topic: this.alarmTopic,
        protocol: s.protocol as sns.SubscriptionProtocol,
        endpoint: s.endpoint,
      });
    });

    this.revokerDeadLetterQueue = new sqs.Queue(this, 'RevokerDeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    new CfnScheduleGroup(this, 'ScheduleGroup', { name: this.scheduleGroupName });
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: 'EventBridge Scheduler: invoke the keyrelay revoker at revocation deadlines',
      // aws:SourceArn must be the schedule group's ARN, not a schedule's (EventBridge Scheduler User Guide,
      // "Confused deputy prevention"): only schedules of this engine's group can have Scheduler assume the role.
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: this.scheduleGroupName }),
          },
        },
      }),
    });
    this.schedulerRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [revokerArn, `${revokerArn}:*`] }),
    );
    this.allowDeadLetterSend(this.schedulerRole);
    acknowledgeWildcard(
      this.schedulerRole,
      `${revokerArn}:*`,
      'Qualified ARNs (versions and aliases) of the revoker only; the role can invoke nothing else.',
    );

    const environment: Record<string, string> = {
      [ENV.revokerArn]: revokerArn,
      [ENV.schedulerRoleArn]: this.schedulerRole.roleArn,
      [ENV.scheduleGroup]: this.scheduleGroupName,
      [ENV.revokerDlqArn]: this.revokerDeadLetterQueue.queueArn,
      [ENV.eventBus]: 'default',
      POWERTOOLS_SERVICE_NAME: 'keyrelay',
      POWERTOOLS_METRICS_NAMESPACE: 'keyrelay',
    };
    // The prebuilt bundles (lib/bundles.ts), deployed as they are: the same files the local stack runs under Node 24,
    // the AWS SDK inside them (the runtime's own SDK is a version no test has seen). No source map: its load at init
    // costs cold-start time (docs/benchmarks.md).
    const common = {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      environment,
      reservedConcurrentExecutions: props.reservedConcurrency,
      handler: LAMBDA_HANDLER,
    };
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;

    const rotationRole = this.functionRole('RotationRole', 'keyrelay rotation function');
    this.rotationFunction = new lambda.Function(this, 'Rotation', {
      ...common,
      functionName: rotationName,
      description: 'keyrelay: the four Secrets Manager rotation steps for third-party API keys',
      code: code('rotation'),
      timeout: props.rotationTimeout ?? Duration.minutes(5),
      role: rotationRole,
      logGroup: this.logGroup('RotationLogs', rotationName, retention, rotationRole),
    });

    const revokerRole = this.functionRole('RevokerRole', 'keyrelay revoker function');
    this.revokerFunction = new lambda.Function(this, 'Revoker', {
      ...common,
      functionName: this.revokerFunctionName,
      description: 'keyrelay: revocations at deadlines, reconcile sweep, on-call actions',
      code: code('revoker'),
      timeout: props.revokerTimeout ?? Duration.minutes(10),
      role: revokerRole,
      logGroup: this.logGroup('RevokerLogs', this.revokerFunctionName, retention, revokerRole),
      deadLetterQueue: this.revokerDeadLetterQueue,
      retryAttempts: 2,
    });
    this.allowDeadLetterSend(revokerRole);

    this.grantManagedSecrets(rotationRole, [
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'secretsmanager:UpdateSecretVersionStage',
    ]);
    this.grantManagedSecrets(revokerRole, [
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:UpdateSecretVersionStage',
      // import and rollback are revoker actions: on-call asks, the revoker checks and writes.
      'secretsmanager:PutSecretValue',
    ]);
    for (const role of [rotationRole, revokerRole]) {
      this.grantKeyRecords(role);
      this.grantKeyViaSecretsManager(role, ['kms:Decrypt', 'kms:GenerateDataKey']);
      this.grantAdminSecrets(role, props.adminSecrets ?? []);
      this.grantSchedules(role);
    }
    this.functionRoles = [rotationRole, revokerRole];
    revokerRole.addToPolicy(
      new iam.PolicyStatement({ sid: 'ReconcileListsSecrets', actions: ['secretsmanager:ListSecrets'], resources: ['*'] }),
    );
    rotationRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PublishKeyRotated',
        actions: ['events:PutEvents'],
        resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
        conditions: { StringEquals: { 'events:source': EVENTS.source } },
      }),
    );

    for (const role of [rotationRole, revokerRole]) {
      acknowledgeWildcard(
        role,
        this.secretArnPattern,
        "Secret names are the config's key names; the statement is narrowed by the aws:ResourceTag/keyrelay:revoker condition to this engine's secrets, one statement instead of one per key (IAM size limits at hundreds of keys).",
      );
      acknowledgeWildcard(
        role,
        this.scheduleArnPattern,
        "Revocation schedules are created at run time, one per key version; scoped to keyrelay's own schedule group and name prefix.",
      );
    }
    acknowledgeWildcard(
      revokerRole,
      '*',
      'secretsmanager:ListSecrets has no resource-level permissions; the sweep filters on the keyrelay:managed tag and every action on a secret is tag-scoped.',
    );

    // Secrets Manager invokes the rotation function; SourceAccount stops a confused deputy in another account.
    this.rotationInvokePermission = new lambda.CfnPermission(this, 'SecretsManagerInvoke', {
      action: 'lambda:InvokeFunction',
      functionName: this.rotationFunction.functionArn,
      principal: 'secretsmanager.amazonaws.com',
      sourceAccount: stack.account,
    });

    this.rotationFailedRule = new events.Rule(this, 'RotationFailedRule', {
      ruleName: ruleNames.rotationFailed,
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
    // Not targets.SnsTopic: it lets events.amazonaws.com publish with no condition, so a rule in any account
    // (cross-account targets) could write to on-call's alarm topic. Only this rule may.
    this.rotationFailedRule.addTarget({
      bind: () => ({ arn: this.alarmTopic.topicArn, input: failureMessage, targetResource: this.alarmTopic }),
    });
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'RotationFailedRule',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: { ArnEquals: { 'aws:SourceArn': this.rotationFailedRule.ruleArn } },
      }),
    );

    const reconcileEvery = props.reconcileEvery ?? Duration.hours(1);
    new events.Rule(this, 'ReconcileRule', {
      ruleName: ruleNames.reconcile,
      description: 'keyrelay: periodic reconcile sweep (orphans, missed deadlines, gauges)',
      schedule: events.Schedule.rate(reconcileEvery),
      targets: [
        new targets.LambdaFunction(this.revokerFunction, {
          event: events.RuleTargetInput.fromObject({ action: 'reconcile' }),
          retryAttempts: 2,
          deadLetterQueue: this.revokerDeadLetterQueue,
        }),
      ],
    });

    this.onCallPolicy = this.createOnCallPolicy(prefix);
    this.monitoring = new KeyRelayMonitoring(this, 'Monitoring', {
      topic: this.alarmTopic,
      rotationFunction: this.rotationFunction,
      revokerFunction: this.revokerFunction,
      deadLetterQueue: this.revokerDeadLetterQueue,
      reconcileEvery,
      overdueAfter: props.overdueAfter ?? Duration.days(32),
      dashboardName: prefix,
      alarmNamePrefix: prefix,
    });

    new CfnOutput(this, 'OnCallPolicyArn', {
      description: 'Attach to on-call engineers: exactly what the keyrelay CLI needs',
      value: this.onCallPolicy.managedPolicyArn,
    });
    new CfnOutput(this, 'RevokerFunctionName', { value: this.revokerFunctionName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
    new CfnOutput(this, 'KeyRotatedEventPattern', {
      description: 'EventBridge pattern apps subscribe to for an immediate refresh after a rotation',
      value: JSON.stringify({ source: [EVENTS.source], 'detail-type': [EVENTS.keyRotated] }),
    });
  }

  /** ARN pattern of every secret in this account and region (narrowed by the tag condition). */
  get secretArnPattern(): string {
    return Stack.of(this).formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  }

  /** ARN pattern of this engine's revocation schedules: its schedule group, names starting `kr-` (lambda/runtime/scheduler.ts). */
  get scheduleArnPattern(): string {
    return Stack.of(this).formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${this.scheduleGroupName}/kr-*` });
  }

  /** The condition that limits a statement to this engine's secrets. */
  get managedSecretCondition(): Record<string, Record<string, string>> {
    return { StringEquals: { [`aws:ResourceTag/${TAGS.revoker}`]: this.revokerFunctionName } };
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
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
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
   * writes only for keyrelay's tag keys. {@link KeyRelayKey} calls it for every key.
   *
   * The user ARNs go to managed policies shared by both roles, not to the roles' inline policies (10,240 characters
   * for all of a role's inline policies, about 2,000 already used: some 60 users, twice over): a managed policy
   * holds 25 to 45 users (6,144 characters; 64- to 20-character names), and a new one starts when it is full, up
   * to {@link MAX_AWS_IAM_USER_POLICIES} (250 to 450 users). One user ARN per key, never a wildcard: a path or
   * name-prefix convention would stay small but would reach users the config does not name.
   *
   * @throws ConfigError when a key granted before names the same IAM user (`claimAwsIamUser`: `resolveConfig`
   *   checks one config, this the keys of every config granted to the engine), or when the users no longer fit in
   *   {@link MAX_AWS_IAM_USER_POLICIES} policies.
   */
  grantProviderAccess(key: ResolvedKey): void {
    if (key.provider !== awsIamProvider.type) return;
    claimAwsIamUser(this.awsIamUsers, key);
    // resolveConfig validated the settings against the adapter's schema (and that admin-secret has an adminSecret).
    const { userName, path = '/', credentials = 'role' } = key.providerSettings as AwsIamSettings;
    // With admin-secret, the access key in the admin secret calls IAM; the functions only read that secret (adminSecrets).
    if (credentials === 'admin-secret') return;
    this.awsIamRoleUsers++;
    // IAM matches a policy against the user's full ARN, path included: user/<path><name>.
    const resourceName = `${path.slice(1)}${userName}`;
    const policy = this.awsIamUserPolicy(key, iamUserCost(resourceName));
    const arn = Stack.of(this).formatArn({ service: 'iam', region: '', resource: 'user', resourceName });
    policy.keyActions.addResources(arn);
    policy.tagActions.addResources(arn);
  }

  /** The policy with room for `cost` more characters: the last one, or a new one. */
  private awsIamUserPolicy(key: ResolvedKey, cost: number): AwsIamUserPolicy {
    const last = this.openAwsIamUserPolicy;
    if (last && last.size + cost <= MANAGED_POLICY_MAX_CHARS) {
      last.size += cost;
      return last;
    }
    const n = this.awsIamUserPolicies.length + 1;
    if (n > MAX_AWS_IAM_USER_POLICIES) {
      throw new ConfigError(
        `key '${key.name}': provider aws-iam: the IAM users of ${this.awsIamRoleUsers} keys with credentials 'role' need more ` +
          `than ${MAX_AWS_IAM_USER_POLICIES} managed policies on each function role (IAM's default quota); give some keys ` +
          "credentials 'admin-secret' (an access key whose own policy covers them, e.g. a user/keyrelay/* path) or " +
          'move them to a deployment with another stacks.prefix',
      );
    }
    const keyActions = new iam.PolicyStatement({
      sid: 'ManageAccessKeys',
      actions: AWS_IAM_ACTIONS.filter((a) => !IAM_TAG_ACTIONS.includes(a)),
    });
    // The adapter labels keys with user tags; a user's other tags may drive access decisions (ABAC): keyrelay's only.
    const tagActions = new iam.PolicyStatement({
      sid: 'TagUsersWithKeyrelayTagsOnly',
      actions: AWS_IAM_ACTIONS.filter((a) => IAM_TAG_ACTIONS.includes(a)),
      conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': AWS_IAM_TAG_KEYS } },
    });
    this.awsIamUserPolicies.push(
      new iam.ManagedPolicy(this, `AwsIamUsers${n}`, {
        description: `keyrelay (${this.namePrefix}): access keys of the IAM users of aws-iam keys (part ${n})`,
        statements: [keyActions, tagActions],
        roles: this.functionRoles,
      }),
    );
    this.openAwsIamUserPolicy = { keyActions, tagActions, size: IAM_USER_POLICY_OVERHEAD + cost };
    return this.openAwsIamUserPolicy;
  }

  private functionRole(id: string, description: string): iam.Role {
    return new iam.Role(this, id, { description, assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  }

  /**
   * The function's log group, and its role's right to write it: a custom role has no AWSLambdaBasicExecutionRole,
   * and without `CreateLogStream`/`PutLogEvents` Lambda silently drops every log line and EMF metric.
   */
  private logGroup(id: string, functionName: string, retention: logs.RetentionDays, role: iam.Role): logs.LogGroup {
    const group = new logs.LogGroup(this, id, {
      logGroupName: `/aws/lambda/${functionName}`,
      retention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    group.grantWrite(role);
    return group;
  }

  private grantManagedSecrets(role: iam.Role, actions: string[]): void {
    role.addToPolicy(
      new iam.PolicyStatement({ sid: 'ManagedSecrets', actions, resources: [this.secretArnPattern], conditions: this.managedSecretCondition }),
    );
  }

  /**
   * Lifecycle records and the current-key note only (finishSecret writes both in one TagResource): the functions
   * cannot change settings tags or the managed marker.
   */
  private grantKeyRecords(role: iam.Role): void {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'KeyRecordTags',
        actions: ['secretsmanager:TagResource', 'secretsmanager:UntagResource'],
        resources: [this.secretArnPattern],
        conditions: {
          ...this.managedSecretCondition,
          'ForAllValues:StringLike': { 'aws:TagKeys': [`${TAGS.keyRecord}*`, TAGS.current] },
        },
      }),
    );
  }

  private grantKeyViaSecretsManager(role: iam.IGrantable, actions: string[]): void {
    role.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'KeyViaSecretsManager',
        actions,
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }

  private grantAdminSecrets(role: iam.Role, adminSecrets: readonly string[]): void {
    if (adminSecrets.length === 0) return;
    const stack = Stack.of(this);
    const arns = [...new Set(adminSecrets)].sort().map((s) =>
      s.startsWith('arn:')
        ? s
        : stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${s}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({ sid: 'ProviderAdminSecrets', actions: [...READ_ACTIONS], resources: arns }),
    );
  }

  private grantSchedules(role: iam.Role): void {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RevocationSchedules',
        actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:GetSchedule', 'scheduler:UpdateSchedule'],
        resources: [this.scheduleArnPattern],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassOnlySchedulerRole',
        actions: ['iam:PassRole'],
        resources: [this.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
  }

  /** SendMessage to the dead-letter queue, and the key only through SQS. */
  private allowDeadLetterSend(role: iam.Role): void {
    role.addToPolicy(
      new iam.PolicyStatement({ sid: 'DeadLetterQueue', actions: ['sqs:SendMessage'], resources: [this.revokerDeadLetterQueue.queueArn] }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'KeyViaSqs',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sqs.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }

  /**
   * What the CLI needs, and no more. No `GetSecretValue`: on-call never reads a live key (`status` works from
   * DescribeSecret, tags and the revoker's `inspect`; only `status --fingerprints` reads values, and needs that grant
   * on top). No `PutSecretValue`, `UpdateSecretVersionStage` or key-record tags: `import`, `rollback`, `cancel`,
   * `retire` and every record change are revoker actions that check their input (docs/security.md). `RotateSecret`
   * only with this engine's rotation function. Not included: turning rotation off and removing keyrelay's tags (the
   * end of `retire`), a platform-engineer action that takes a key out of keyrelay.
   */
  private createOnCallPolicy(prefix: string): iam.ManagedPolicy {
    const sm = (sid: string, actions: string[], extra: Record<string, Record<string, string | string[]>> = {}) =>
      new iam.PolicyStatement({ sid, actions, resources: [this.secretArnPattern], conditions: { ...this.managedSecretCondition, ...extra } });
    const policy = new iam.ManagedPolicy(this, 'OnCallPolicy', {
      managedPolicyName: `${prefix}-oncall`,
      description: 'keyrelay CLI: status, plan, rotate, emergency, cancel, restore, rollback, history, freeze, import',
      statements: [
        new iam.PolicyStatement({ sid: 'FindManagedSecrets', actions: ['secretsmanager:ListSecrets'], resources: ['*'] }),
        sm('Inspect', ['secretsmanager:DescribeSecret', 'secretsmanager:ListSecretVersionIds']),
        // Only rotations run by this engine's rotation function: the secret must name it, and a request that names a
        // function must name it too (the CLI's own rotate names none, so a plain condition on the request would deny it).
        sm('RotateWithThisEngine', ['secretsmanager:RotateSecret'], {
          ArnEquals: { 'secretsmanager:resource/AllowRotationLambdaArn': this.rotationFunction.functionArn },
          ArnEqualsIfExists: { 'secretsmanager:RotationLambdaARN': this.rotationFunction.functionArn },
        }),
        sm('Freeze', ['secretsmanager:TagResource', 'secretsmanager:UntagResource'], {
          'ForAllValues:StringEquals': { 'aws:TagKeys': [TAGS.frozen] },
        }),
        new iam.PolicyStatement({
          sid: 'InvokeFunctions',
          // RotateSecret also needs invoke on the rotation function; every other action goes through the revoker.
          actions: ['lambda:InvokeFunction'],
          resources: [this.revokerFunction.functionArn, this.rotationFunction.functionArn],
        }),
        new iam.PolicyStatement({ sid: 'Alarms', actions: ['cloudwatch:DescribeAlarms'], resources: ['*'] }),
      ],
    });
    acknowledgeWildcard(
      policy,
      '*',
      'secretsmanager:ListSecrets and cloudwatch:DescribeAlarms have no resource-level permissions; both only read metadata.',
    );
    acknowledgeWildcard(policy, this.secretArnPattern, "Narrowed by the aws:ResourceTag/keyrelay:revoker condition to this engine's secrets.");
    return policy;
  }
}
