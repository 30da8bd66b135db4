import { ArnFormat, Fn, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { ConfigError } from '../core/errors';
import { EVENTS } from '../core/ports';
import type { ResolvedKey } from './config';
import { acknowledgeWildcard } from './engine/acknowledgements';
import { viaService } from './engine/kms';
import { engineNames, type EngineNames } from './engine/names';
import { managedSecretCondition, secretArnPattern } from './engine/scopes';

/**
 * Secrets Manager replicas of keyrelay's secrets (`replicaRegions`). Rotation, the functions and the alarms stay in
 * the primary region; Secrets Manager copies each new version, the tags and the resource policy to every replica. Per
 * replica region keyrelay adds:
 * - a stack in that region (`<prefix>-Replica-<region>`) holding the deployment's KMS key there, aliased
 *   `alias/<prefix>-replicas` (`engineNames().replicaAlias`): the secrets' replicas are encrypted with it (a key is
 *   regional; the alias lets the key stacks name it without a cross-region reference);
 * - the readers' grants there: `GetSecretValue`/`DescribeSecret` on the replica's ARN, and `kms:Decrypt` through
 *   `secretsmanager.<replica region>.amazonaws.com` (each region's `kms:ViaService` its own);
 * - for the functions: `DescribeSecret` (and for the revoker `GetResourcePolicy`) of the replicas, to confirm each
 *   serves the new key before a revocation (`core/replicas.ts`), and KMS through Secrets Manager there for writes
 *   Secrets Manager replicates;
 * - an EventBridge rule sending `KeyRotated` to each replica region's default bus, so apps there refresh too.
 * Replicas need stacks with an explicit account and region ({@link checkReplicaRegions}).
 */

/** Every replica region of the keys, sorted. */
export function replicaRegionsOf(keys: readonly ResolvedKey[]): string[] {
  return [...new Set(keys.flatMap((k) => k.replicaRegions ?? []))].sort();
}

/**
 * Refuses replicas in a stack without an explicit account and region (an environment-agnostic synth cannot name the
 * primary region, nor tell a replica region from it), and a replica in the primary region.
 * @throws ConfigError naming the key and what to do.
 */
export function checkReplicaRegions(stack: Stack, keys: readonly ResolvedKey[]): void {
  for (const key of keys) {
    if (!key.replicaRegions?.length) continue;
    if (Token.isUnresolved(stack.region) || Token.isUnresolved(stack.account)) {
      throw new ConfigError(
        `key '${key.name}': replicaRegions need stacks with an explicit account and region (a replica region must differ ` +
          'from the primary, and each region gets its own KMS key stack): synth with CDK_DEFAULT_ACCOUNT and ' +
          'CDK_DEFAULT_REGION set (cdk deploy does when it has credentials), or pass env to buildKeyRelay',
      );
    }
    if (key.replicaRegions.includes(stack.region)) {
      throw new ConfigError(`key '${key.name}': replicaRegions names '${stack.region}', the primary region itself; list only other regions`);
    }
  }
}

/** Props of {@link KeyRelayReplicaRegion}. */
export interface KeyRelayReplicaRegionProps {
  /** Prefix of the deployment (its engine's `namePrefix`). */
  readonly namePrefix: string;
}

/**
 * The deployment's footprint in one replica region: its KMS key there (`alias/<prefix>-replicas`), in a stack of that
 * region. Readers of replicated keys are granted decrypt through {@link KeyRelayReplicaRegion.grantDecryptViaSecretsManager}.
 * @example
 * const stack = new Stack(app, 'KeyRelay-Replica-eu-west-1', { env: { account, region: 'eu-west-1' } });
 * const replica = new KeyRelayReplicaRegion(stack, 'Replica', { namePrefix: 'KeyRelay' });
 */
export class KeyRelayReplicaRegion extends Construct {
  readonly region: string;
  /** Encrypts every replica of the deployment's secrets in this region. */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: KeyRelayReplicaRegionProps) {
    super(scope, id);
    this.region = Stack.of(this).region;
    this.key = new kms.Key(this, 'Key', {
      description: `keyrelay (${props.namePrefix}): replicas of its secrets in ${this.region}`,
      enableKeyRotation: true,
      alias: engineNames(props.namePrefix).replicaAlias,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /**
   * Lets `grantee` decrypt with this region's key, only through this region's Secrets Manager. Principals of this
   * account that the app builds get an identity statement on the region's keys (the key's ARN lives in another
   * region's stack: no reference), narrowed by `kms:ViaService`; others (ARNs from the config, other accounts) a key
   * policy statement.
   */
  grantDecryptViaSecretsManager(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['kms:Decrypt'],
      resourceArns: [keyArnPattern(this, this.region)],
      resourceSelfArns: ['*'],
      resource: this.key,
      conditions: viaService(this, 'secretsmanager', this.region),
    });
  }
}

/** Every KMS key of the account in `region`: the replica keys live in other regions' stacks, so no reference names them. */
function keyArnPattern(scope: Construct, region: string): string {
  return Stack.of(scope).formatArn({ service: 'kms', region, resource: 'key', resourceName: '*' });
}

/**
 * The replica's ARN in `region` from the primary secret's ARN (a token until deploy): the same name and suffix, the
 * region replaced.
 */
export function replicaSecretArn(scope: Construct, secretArn: string, region: string): string {
  const resourceName = Token.isUnresolved(secretArn) ? Fn.select(6, Fn.split(':', secretArn)) : (secretArn.split(':')[6] ?? '');
  return Stack.of(scope).formatArn({ service: 'secretsmanager', region, resource: 'secret', resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

/** Who gets what in the replica regions ({@link grantReplicaAccess}). */
export interface ReplicaAccessProps {
  readonly names: EngineNames;
  readonly regions: readonly string[];
  readonly rotationRole: iam.IRole;
  readonly revokerRole: iam.IRole;
  readonly onCallPolicy: iam.ManagedPolicy;
}

const REPLICA_REASON =
  "Replicas of this engine's secrets: secrets narrowed by the aws:ResourceTag/keyrelay:revoker condition, keys by kms:ViaService to that region's Secrets Manager (the replica keys live in other regions' stacks: no reference names them).";

/**
 * The engine's grants in the replica regions (none without replicas), each tag-scoped like every secret statement:
 * - both functions: `DescribeSecret` of the replicas (the revoker's sync check before revoking), and the replica
 *   regions' keys through their Secrets Manager only, for the writes Secrets Manager replicates;
 * - the revoker: `GetResourcePolicy` of the primaries and the replicas (the sweep compares them);
 * - on-call: `DescribeSecret` of the replicas (`status` and `plan` show each region).
 */
export function grantReplicaAccess(scope: Construct, props: ReplicaAccessProps): void {
  const { names, regions } = props;
  if (regions.length === 0) return;
  const managed = managedSecretCondition(names);
  const replicas = regions.map((r) => secretArnPattern(scope, r));
  const keys = regions.map((r) => keyArnPattern(scope, r));
  const secrets = (sid: string, actions: string[], resources: string[]) => new iam.PolicyStatement({ sid, actions, resources, conditions: managed });
  for (const role of [props.rotationRole, props.revokerRole]) {
    role.addToPrincipalPolicy(secrets('ReplicaSecrets', ['secretsmanager:DescribeSecret'], replicas));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReplicaKeysViaSecretsManager',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: keys,
        conditions: { StringEquals: { 'kms:ViaService': regions.map((r) => viaService(scope, 'secretsmanager', r).StringEquals!['kms:ViaService']!) } },
      }),
    );
    for (const resource of [...replicas, ...keys]) acknowledgeWildcard(role, resource, REPLICA_REASON);
  }
  props.revokerRole.addToPrincipalPolicy(
    secrets('ResourcePoliciesOfReplicatedSecrets', ['secretsmanager:GetResourcePolicy'], [secretArnPattern(scope), ...replicas]),
  );
  props.onCallPolicy.addStatements(secrets('InspectReplicas', ['secretsmanager:DescribeSecret'], replicas));
  for (const resource of replicas) acknowledgeWildcard(props.onCallPolicy, resource, REPLICA_REASON);
}

/**
 * Sends `KeyRotated` to the default event bus of each replica region (EventBridge cross-region targets, same account),
 * so apps there can invalidate on it as apps in the primary region do.
 */
export function forwardKeyRotated(scope: Construct, names: EngineNames, regions: readonly string[]): events.Rule | undefined {
  if (regions.length === 0) return undefined;
  const stack = Stack.of(scope);
  return new events.Rule(scope, 'KeyRotatedToReplicaRegions', {
    ruleName: names.keyRotatedToReplicas,
    description: `keyrelay: KeyRotated to the replica regions (${regions.join(', ')})`,
    eventPattern: { source: [EVENTS.source], detailType: [EVENTS.keyRotated] },
    targets: regions.map(
      (region) =>
        new targets.EventBus(
          events.EventBus.fromEventBusArn(scope, `Bus-${region}`, stack.formatArn({ service: 'events', region, resource: 'event-bus', resourceName: 'default' })),
        ),
    ),
  });
}
