import { Arn, ArnFormat, type IResource, RemovalPolicy, Resource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ConfigError } from '../core/errors';
import { settingsToTags } from '../core/state';
import { keySettings, rotationRules, type ResolvedKey } from './config';
import { READ_ACTIONS, type KeyRelayEngine } from './engine';
import { replicaSecretArn, type KeyRelayReplicaRegion } from './replicas';
import { refuse } from './validation';

const [GET_VALUE_ACTION, DESCRIBE_ACTION] = READ_ACTIONS;
/** The conditions under which a reader may call `GetSecretValue` (either suffices). See `KeyRelayKey.grantRead`. */
const CURRENT_VERSION_READS: Array<Record<string, Record<string, unknown>>> = [
  { Null: { 'secretsmanager:VersionStage': 'true' } },
  { StringEquals: { 'secretsmanager:VersionStage': 'AWSCURRENT' } },
];
import type { RotationRulesSpec } from './schedule';

/**
 * A keyrelay key an application can be granted to read: one this app builds ({@link KeyRelayKey}) or one deployed
 * elsewhere ({@link KeyRelayKey.fromKeyAttributes}).
 */
export interface IKeyRelayKey extends IResource {
  /** The secret's ARN (for an import by name, a pattern ending in `-??????`). */
  readonly secretArn: string;
  /** The secret's name: the key's name in keyrelay.config.json. */
  readonly secretName: string;
  /** Lets `grantee` read the key's current value (see {@link KeyRelayKey.grantRead}). */
  grantRead(grantee: iam.IGrantable): iam.Grant;
}

/** How to find a key deployed elsewhere ({@link KeyRelayKey.fromKeyAttributes}). */
export interface KeyRelayKeyAttributes {
  /** The engine whose KMS key encrypts the secret: readers need `kms:Decrypt` through Secrets Manager on it. */
  readonly engine: KeyRelayEngine;
  /** The secret's complete ARN. @default - the ARN pattern of `secretName` in the engine's account and region */
  readonly secretArn?: string;
  /** The secret's name. Required without `secretArn`. @default - read from `secretArn` */
  readonly secretName?: string;
}

/** Props of {@link KeyRelayKey}. */
export interface KeyRelayKeyProps {
  readonly engine: KeyRelayEngine;
  /** The key, resolved from the config (`resolveConfig`). Its name is the secret's name. */
  readonly key: ResolvedKey;
  /** Rotation rules, e.g. staggered ones from `staggeredRotationRules`. @default - rotationRules(key), not staggered */
  readonly rotationRules?: RotationRulesSpec;
  /**
   * What happens to the secret when the key leaves the config. Retained by default: applications may still read it,
   * and its provider key must be revoked deliberately (`keyrelay` CLI) first.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The deployment in each replica region, by region (`buildKeyRelay` makes them): needed for every region in the key's
   * `replicaRegions` (its replica's KMS key and readers' grants there). @default - none (the key must not be replicated)
   */
  readonly replicas?: ReadonlyMap<string, KeyRelayReplicaRegion>;
}

/**
 * One rotated API key: a secret encrypted with the engine's key, tagged with its settings per the state contract
 * (docs/state.md), and a `CfnRotationSchedule` pointing at the engine's rotation function. Two resources per key
 * (three with readers): no per-key IAM statements, so the engine's policies stay the same size at 1,000 keys. The
 * exception is an `aws-iam` key: its IAM user's ARN joins the engine's policy (`engine.grantProviderAccess`).
 *
 * The secret starts without a value: its first rotation issues the key, or `keyrelay import` adopts one an app
 * already uses. `RotateImmediatelyOnUpdate` is off so a deploy of many keys does not call the provider at once.
 *
 * @example
 * const config = resolveConfig(json);
 * const engine = new KeyRelayEngine(stack, 'Engine', { keys: config.keys });
 * const key = new KeyRelayKey(stack, 'Stripe', { engine, key: config.keys[0]! });
 * key.grantRead(appRole);
 */
export class KeyRelayKey extends Resource implements IKeyRelayKey, iam.IResourceWithPolicy {
  /**
   * A key deployed elsewhere (another stack or app), to grant readers in this one: by its complete ARN, or by name in
   * the engine's account and region. Readers get identity policies only (an imported secret's resource policy is
   * not this app's to change), with the same conditions as {@link KeyRelayKey.grantRead}.
   *
   * @example
   * const stripe = KeyRelayKey.fromKeyAttributes(stack, 'Stripe', { engine, secretName: 'payments/stripe' });
   * stripe.grantRead(paymentsRole);
   */
  static fromKeyAttributes(scope: Construct, id: string, attrs: KeyRelayKeyAttributes): IKeyRelayKey {
    const { engine } = attrs;
    const secretName = attrs.secretName ?? (attrs.secretArn ? Arn.split(attrs.secretArn, ArnFormat.COLON_RESOURCE_NAME).resourceName?.replace(/-[A-Za-z0-9]{6}$/, '') : undefined);
    if (secretName === undefined) refuse(scope, 'KeyAttributesIncomplete', `${id}: fromKeyAttributes needs secretArn or secretName`);
    const secretArn = attrs.secretArn ?? Stack.of(scope).formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${secretName}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    return new ImportedKeyRelayKey(scope, id, { secretArn, secretName, engine });
  }

  readonly secret: secretsmanager.CfnSecret;
  readonly rotationSchedule: secretsmanager.CfnRotationSchedule;
  /** Secret ARN (a token until deploy). */
  readonly secretArn: string;
  readonly secretName: string;
  private readonly engine: KeyRelayEngine;
  private policy?: secretsmanager.CfnResourcePolicy;
  private readonly policyDocument = new iam.PolicyDocument();
  /** The replica regions of the secret, with the deployment there. */
  private readonly replicaRegions: KeyRelayReplicaRegion[];

  constructor(scope: Construct, id: string, props: KeyRelayKeyProps) {
    super(scope, id);
    const { engine, key } = props;
    this.engine = engine;
    this.secretName = key.name;
    engine.declaredKey(key);
    engine.grantProviderAccess(key);
    this.replicaRegions = (key.replicaRegions ?? []).map((region) => {
      const replica = props.replicas?.get(region);
      if (!replica) throw new ConfigError(`key '${key.name}': replicaRegions names '${region}' but no replica region was built for it: pass replicas (buildKeyRelay does)`);
      return replica;
    });
    this.secret = new secretsmanager.CfnSecret(this, 'Secret', {
      name: key.name,
      description: `keyrelay: ${key.provider} API key; rotated by ${engine.namePrefix}`,
      kmsKeyId: engine.key.keyArn,
      // Each replica with its region's key, named by alias: the key lives in that region's stack.
      replicaRegions: this.replicaRegions.length > 0
        ? this.replicaRegions.map((r) => ({ region: r.region, kmsKeyId: engine.names.replicaAlias }))
        : undefined,
      // No SecretString and no GenerateSecretString: a secret without a version, filled by the first rotation.
      tags: settingsToTags(keySettings(key, { revoker: engine.revokerFunctionName })).map((t) => ({ key: t.Key!, value: t.Value! })),
    });
    this.secret.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
    this.secretArn = this.secret.ref;

    const rules = props.rotationRules ?? rotationRules(key);
    this.rotationSchedule = new secretsmanager.CfnRotationSchedule(this, 'Schedule', {
      secretId: this.secret.ref,
      rotationLambdaArn: engine.rotationFunction.functionArn,
      rotateImmediatelyOnUpdate: false,
      rotationRules: { scheduleExpression: rules.ScheduleExpression, duration: rules.Duration },
    });
    // Secrets Manager tests the rotation function when the schedule is created: the invoke permission must exist first.
    if (Stack.of(this) === Stack.of(engine)) {
      this.rotationSchedule.addResourceDependency(engine.rotationInvokePermission, 'Secrets Manager tests the rotation function when the schedule is created');
    } else {
      Stack.of(this).addStackDependency(Stack.of(engine), 'rotation invoke permission before rotation schedules');
    }
  }

  /**
   * Lets `grantee` read this key: `DescribeSecret`, `GetSecretValue` of the current version, and `kms:Decrypt`
   * through Secrets Manager. Principals of this app's account get an identity policy; others (another account, an
   * imported ARN) get statements in the secret's resource policy and in the key policy.
   *
   * `GetSecretValue` is allowed only when the request names no stage (a read by `VersionId`, as the client's check
   * after `DescribeSecret` does, or the default `AWSCURRENT`) or names `AWSCURRENT`: a reader cannot ask for the
   * unverified `AWSPENDING` key or `AWSPREVIOUS` by stage. AWS sets `secretsmanager:VersionStage` only when the
   * request carries a stage, and `secretsmanager:VersionId` only with the request's own id, which changes every
   * rotation: a read by the id of a pending or old version stays possible (docs/cdk.md, "Readers").
   */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    const resourceArns = [this.secretArn, ...this.replicaRegions.map((r) => replicaSecretArn(this, this.secretArn, r.region))];
    const grant = grantCurrentVersionRead(grantee, resourceArns, this);
    this.engine.grantDecryptViaSecretsManager(grantee);
    for (const replica of this.replicaRegions) replica.grantDecryptViaSecretsManager(grantee);
    return grant;
  }

  /** Adds a statement to the secret's resource policy (created on first use). */
  addToResourcePolicy(statement: iam.PolicyStatement): iam.AddToResourcePolicyResult {
    if (!this.policy) {
      this.policy = new secretsmanager.CfnResourcePolicy(this, 'Policy', {
        secretId: this.secret.ref,
        resourcePolicy: this.policyDocument,
        blockPublicPolicy: true,
      });
    }
    this.policyDocument.addStatements(statement);
    return { statementAdded: true, policyDependable: this.policy };
  }
}

/** A key deployed elsewhere, found by {@link KeyRelayKey.fromKeyAttributes}. */
class ImportedKeyRelayKey extends Resource implements IKeyRelayKey {
  readonly secretArn: string;
  readonly secretName: string;
  private readonly engine: KeyRelayEngine;

  constructor(scope: Construct, id: string, attrs: { secretArn: string; secretName: string; engine: KeyRelayEngine }) {
    super(scope, id);
    this.secretArn = attrs.secretArn;
    this.secretName = attrs.secretName;
    this.engine = attrs.engine;
  }

  grantRead(grantee: iam.IGrantable): iam.Grant {
    const grant = grantCurrentVersionRead(grantee, [this.secretArn]);
    this.engine.grantDecryptViaSecretsManager(grantee);
    return grant;
  }
}

/**
 * `DescribeSecret`, and `GetSecretValue` of the current version only (see `KeyRelayKey.grantRead`), on `resourceArns`.
 * With `resource`, principals of other accounts get statements in its resource policy (`"*"` there: Secrets Manager
 * copies it to the replicas, where it must match too); without, identity policies only.
 */
function grantCurrentVersionRead(grantee: iam.IGrantable, resourceArns: string[], resource?: iam.IResourceWithPolicy): iam.Grant {
  const add = (actions: string[], conditions?: Record<string, Record<string, unknown>>): iam.Grant => {
    const common = { grantee, resourceArns, actions, ...(conditions ? { conditions } : {}) };
    return resource ? iam.Grant.addToPrincipalOrResource({ ...common, resourceSelfArns: ['*'], resource }) : iam.Grant.addToPrincipal(common);
  };
  const grant = add([DESCRIBE_ACTION]);
  for (const conditions of CURRENT_VERSION_READS) grant.combine(add([GET_VALUE_ACTION], conditions));
  return grant;
}

/**
 * Lets `grantee` read every key of a group in one call (e.g. all keys of one application).
 * @returns one grant per key.
 */
export function grantReadKeys(grantee: iam.IGrantable, keys: readonly IKeyRelayKey[]): iam.Grant[] {
  return keys.map((k) => k.grantRead(grantee));
}
