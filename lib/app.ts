import { Annotations, CfnResource, Duration, Stack, Tags, type Environment } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ConfigError } from '../core/errors';
import type { ResolvedConfig, ResolvedKey } from './config';
import { KeyRelayEngine } from './engine';
import { KeyRelayKey } from './key';
import { KeyRelayReplicaRegion, replicaRegionsOf } from './replicas';
import { staggeredRotationRules } from './schedule';

/**
 * `keyrelay.config.json` to stacks: one engine stack (`<prefix>`) and `stacks.shards` key stacks
 * (`<prefix>-Keys<n>`), each key in the stack chosen by a hash of its name (or its `shard` pin), so adding or removing
 * keys never moves another key between stacks. Each stack must stay under CloudFormation's 500 resources: synth
 * fails before that, naming the stack and the `stacks.shards` value that would fit.
 */

/** CloudFormation's limit is 500 resources per stack; keep headroom for CDK metadata and later additions. */
export const MAX_RESOURCES_PER_STACK = 450;

/** Options of {@link buildKeyRelay}. */
export interface BuildKeyRelayOptions {
  /** Account and region of every stack. @default - environment-agnostic */
  readonly env?: Environment;
  /** Directory holding `lambda/` and `package-lock.json`. @default - this package's root */
  readonly codeRoot?: string;
}

/** What {@link buildKeyRelay} made. */
export interface KeyRelayStacks {
  engineStack: Stack;
  engine: KeyRelayEngine;
  /** Key stacks that hold at least one key, by shard number. */
  keyStacks: Map<number, Stack>;
  /** The deployment in each replica region (`replicaRegions`), by region: a stack of that region with its KMS key. */
  replicas: Map<string, KeyRelayReplicaRegion>;
  keys: Map<string, KeyRelayKey>;
}

/** FNV-1a, 32 bits: a stable hash so a key's shard depends on its name only. */
export function shardOf(name: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

/** Seconds without a successful rotation after which a key is overdue: its interval, a whole-day window, and slack. */
function overdueAfter(keys: readonly ResolvedKey[], slack: number): Duration {
  const longest = Math.max(86_400, ...keys.map((k) => k.schedule.every));
  return Duration.seconds(longest + 86_400 + slack);
}

function principalOf(text: string): iam.IPrincipal {
  return /^\d{12}$/.test(text) ? new iam.AccountPrincipal(text) : new iam.ArnPrincipal(text);
}

/**
 * Builds keyrelay's stacks into `scope` (an App or Stage), as `bin/keyrelay.ts` does.
 * @throws ConfigError when a stack would exceed its budget.
 *
 * @example
 * const { keys } = buildKeyRelay(new App(), loadConfig('keyrelay.config.json'), { env: { account, region } });
 * keys.get('payments/stripe')?.grantRead(paymentsRole);
 */
export function buildKeyRelay(scope: Construct, config: ResolvedConfig, options: BuildKeyRelayOptions = {}): KeyRelayStacks {
  const { deploy } = config;
  const engineStack = new Stack(scope, deploy.prefix, {
    env: options.env,
    description: 'keyrelay engine: KMS key, rotation and revoker functions, alarms, dashboard',
  });
  const engine = new KeyRelayEngine(engineStack, 'Engine', {
    namePrefix: deploy.prefix,
    codeRoot: options.codeRoot,
    keys: config.keys,
    adminSecrets: config.keys.flatMap((k) => (k.adminSecret ? [k.adminSecret] : [])),
    alarmEmails: deploy.alarmEmails,
    alarmSubscriptions: deploy.alarmSubscriptions,
    reconcileEvery: Duration.seconds(deploy.reconcileEvery),
    overdueAfter: overdueAfter(config.keys, deploy.overdueSlack),
    reservedConcurrency: deploy.reservedConcurrency,
  });

  const replicas = new Map<string, KeyRelayReplicaRegion>();
  for (const region of replicaRegionsOf(config.keys)) {
    const stack = new Stack(scope, `${deploy.prefix}-Replica-${region}`, {
      env: { account: engineStack.account, region },
      description: `keyrelay replicas in ${region}: the KMS key encrypting them`,
    });
    replicas.set(region, new KeyRelayReplicaRegion(stack, 'Replica', { namePrefix: deploy.prefix }));
  }

  const rules = staggeredRotationRules(config.keys, deploy.stagger);
  const keyStacks = new Map<number, Stack>();
  const keys = new Map<string, KeyRelayKey>();
  for (const key of config.keys) {
    const shard = key.shard ?? shardOf(key.name, deploy.shards);
    let stack = keyStacks.get(shard);
    if (!stack) {
      stack = new Stack(scope, `${deploy.prefix}-Keys${shard}`, {
        env: options.env,
        description: `keyrelay keys, shard ${shard} of ${deploy.shards}`,
      });
      keyStacks.set(shard, stack);
    }
    // A replica is encrypted with its region's key: that stack deploys first.
    for (const region of key.replicaRegions ?? []) stack.addStackDependency(Stack.of(replicas.get(region) as KeyRelayReplicaRegion), 'replica keys before replicas');
    keys.set(key.name, new KeyRelayKey(stack, key.name, { engine, key, rotationRules: rules.get(key.name), replicas }));
  }

  for (const reader of deploy.readers) {
    warnWholeAccountReadsAll(engineStack, reader, config.keys.length);
    const principal = principalOf(reader.principal);
    for (const name of reader.keys) keys.get(name)?.grantRead(principal);
  }

  const replicaStacks = [...replicas.values()].map((r) => Stack.of(r));
  for (const stack of [engineStack, ...keyStacks.values(), ...replicaStacks]) {
    // CloudFormation's published schema (and cfn-lint) has no Tags on dashboards, though the CDK L1 accepts them.
    for (const [k, v] of Object.entries(deploy.tags)) Tags.of(stack).add(k, v, { excludeResourceTypes: ['AWS::CloudWatch::Dashboard'] });
  }
  checkBudgets([engineStack, ...keyStacks.values()], config);
  return { engineStack, engine, keyStacks, keys, replicas };
}

/**
 * A whole account reading every key is allowed (a dedicated application account is a fair design) but worth a word:
 * every role and user that account's administrators allow then reads every API key. A warning, not an error, so
 * `cdk synth --strict` can turn it into one.
 */
function warnWholeAccountReadsAll(scope: Stack, reader: { principal: string; keys: string[] }, keyCount: number): void {
  const account = /^(\d{12})$|^arn:aws[a-z-]*:iam::(\d{12}):root$/.exec(reader.principal);
  if (!account || reader.keys.length < keyCount) return;
  Annotations.of(scope).addWarningV2(
    'keyrelay:wholeAccountReadsEveryKey',
    `readers: the whole account ${account[1] ?? account[2]} may read every key (${keyCount}); ` +
      'name a role instead, or list the keys that account needs',
  );
}

function checkBudgets(stacks: Stack[], config: ResolvedConfig): void {
  for (const stack of stacks) {
    const count = stack.node.findAll().filter((c) => c instanceof CfnResource).length;
    if (count > MAX_RESOURCES_PER_STACK) {
      const keysHere = stack.node.children.filter((c) => c instanceof KeyRelayKey).length;
      // A quarter of headroom: hashing spreads keys unevenly.
      const needed = Math.ceil((config.keys.length * (count / Math.max(1, keysHere)) * 1.25) / MAX_RESOURCES_PER_STACK);
      throw new ConfigError(
        `keyrelay.config.json stacks.shards: stack '${stack.stackName}' would hold ${count} resources (CloudFormation allows 500; ` +
          `keyrelay stops at ${MAX_RESOURCES_PER_STACK}); set stacks.shards to at least ${needed} before the first deploy, ` +
          `or pin keys to other shards with "shard"`,
      );
    }
  }
}
