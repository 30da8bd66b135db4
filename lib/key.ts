import { RemovalPolicy, Resource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ConfigError } from '../core/errors';
import { settingsToTags } from '../core/state';
import { keySettings, rotationRules, type ResolvedKey } from './config';
import { READ_ACTIONS, type KeyRelayEngine } from './engine';
import { replicaSecretArn, type KeyRelayReplicaRegion } from './replicas';

const [GET_VALUE_ACTION, DESCRIBE_ACTION] = READ_ACTIONS;
/** The conditions under which a reader may call `GetSecretValue` (either suffices). See `KeyRelayKey.grantRead`. */
const CURRENT_VERSION_READS: Array<Record<string, Record<string, unknown>>> = [
  { Null: { 'secretsmanager:VersionStage': 'true' } },
  { StringEquals: { 'secretsmanager:VersionStage': 'AWSCURRENT' } },
];
import type { RotationRulesSpec } from './schedule';

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
 * const key = new KeyRelayKey(stack, 'Stripe', { engine, key: resolveConfig(json).keys[0] });
 * key.grantRead(appRole);
 */

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

/** A rotated key. See the module comment. */
export class KeyRelayKey extends Resource implements iam.IResourceWithPolicy {
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
    // Resource "*" in the secret's own policy: Secrets Manager copies it to the replicas, where it must match too.
    const resourceArns = [this.secretArn, ...this.replicaRegions.map((r) => replicaSecretArn(this, this.secretArn, r.region))];
    const common = { grantee, resourceArns, resourceSelfArns: ['*'], resource: this };
    const grant = iam.Grant.addToPrincipalOrResource({ ...common, actions: [DESCRIBE_ACTION] });
    for (const conditions of CURRENT_VERSION_READS) {
      grant.combine(iam.Grant.addToPrincipalOrResource({ ...common, actions: [GET_VALUE_ACTION], conditions }));
    }
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

/**
 * Lets `grantee` read every key of a group in one call (e.g. all keys of one application).
 * @returns one grant per key.
 */
export function grantReadKeys(grantee: iam.IGrantable, keys: readonly KeyRelayKey[]): iam.Grant[] {
  return keys.map((k) => k.grantRead(grantee));
}
