import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseCron, shortestCronInterval } from '../core/cron';
import { formatDuration } from '../core/duration';
import { ConfigError } from '../core/errors';
import { settingsToTags, tagValueProblem, type KeySettings } from '../core/state';
import { providerDefinition, type ProviderDefinition } from '../lambda/providers';
import { awsIamAdminSecretProblem, claimAwsIamUser } from './aws-iam-keys';
import { DEPLOY, duration, fail, keyPlace } from './config-place';
import { CANARY_BY_DEFAULT, CANARY_DEFAULT_EVERY } from '../lambda/providers/canary';

/**
 * `keyrelay.config.json`: the one description of the keys to rotate, shared by the CDK app, the local stack and the
 * CLI. Structure is checked by zod; meaning (AWS's schedule and tag limits, grace vs interval) by {@link resolveConfig}.
 * Every error names the key and the field.
 */

const MIN_INTERVAL = 4 * 3600;

/** A deployment's name prefix (`stacks.prefix`, the engine's `namePrefix`): the start of its stack and function names. */
export const NAME_PREFIX = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;

/** The reconcile sweep's interval limits, seconds (`engine.reconcileEvery`, the engine's `reconcileEvery`). */
export const RECONCILE_EVERY_SECONDS = { min: 300, max: 86_400 } as const;

/** An AWS region name: `eu-west-1`, `us-gov-west-1`, `ap-southeast-2`. */
const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

const Duration = z.string().describe('A duration: 90s, 15m, 4h or 30d');

/** One key's settings as written in the config (durations as text). */
export const KeyConfigSchema = z
  .object({
    provider: z
      .object({ type: z.string().describe('Provider type, e.g. reference, aws-iam, cloudflare') })
      .catchall(z.string())
      .describe('The provider that issues this key, and its settings'),
    adminSecret: z
      .string()
      .optional()
      .describe('Name or ARN of the secret holding the provider admin credential (JSON). @default - none'),
    rotateEvery: Duration.optional().describe('Rotate this often (whole hours, 4h to 1000d). @default 30d'),
    schedule: z
      .string()
      .optional()
      .describe('Instead of rotateEvery: cron(0 hours day-of-month month day-of-week year), UTC'),
    window: Duration.optional().describe('Rotation window length (1h to 24h). @default - AWS: 1h for hourly schedules, else the rest of the day'),
    gracePeriod: Duration.optional().describe('How long the previous key stays valid after a rotation. @default 24h'),
    usageHold: z
      .object({
        quietPeriod: Duration.describe('Revoke only once the old key has been unused this long'),
        maxHold: Duration.describe('Revoke anyway this long after the deadline'),
      })
      .strict()
      .optional()
      .describe('Hold revocation while the old key is still used (providers that report last use). @default - no hold'),
    observationWindow: Duration.optional().describe(
      'Two-phase revocation: disable first, delete this long after (providers that can disable). @default - delete at once',
    ),
    replicaRegions: z
      .array(z.string().regex(AWS_REGION, 'must be an AWS region name such as eu-west-1'))
      .optional()
      .describe(
        'Regions where Secrets Manager keeps a read-only replica of the secret (apps there read it locally); rotation runs in the primary region only, and an old key is revoked only once every replica serves the new one. Needs stacks with an explicit account and region. @default - not replicated',
      ),
    canary: z
      .union([z.literal('off'), Duration])
      .optional()
      .describe("Verify the current key at the provider this often (whole minutes, 1m to 1d), or 'off'. @default 5m; off for generic-http"),
    autoEmergency: z
      .boolean()
      .optional()
      .describe('Let the canary and AWS Health rotate this key on their own when it is found dead or exposed (false: alarm only). @default true'),
  })
  .strict();

/** One key's entry under `keys`: its settings plus deploy-only placement. */
export const KeyEntrySchema = KeyConfigSchema.partial()
  .extend({
    shard: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Pin this key to key stack number N (0-based, below stacks.shards). @default - by a hash of the key name'),
  })
  .strict();

const SNS_PROTOCOLS = ['email', 'email-json', 'http', 'https', 'sqs', 'lambda', 'sms', 'firehose', 'application'] as const;

/** Deploy-only: who hears about alarms and failed rotations. */
export const AlarmsSchema = z
  .object({
    email: z.array(z.email()).optional().describe('Email addresses subscribed to the alarm topic (each confirms once). @default - none'),
    subscriptions: z
      .array(
        z
          .object({
            protocol: z.enum(SNS_PROTOCOLS).describe('SNS protocol'),
            endpoint: z.string().min(1).describe('Endpoint for the protocol: URL, queue/function ARN, phone number...'),
          })
          .strict(),
      )
      .optional()
      .describe('Any other SNS subscriptions of the alarm topic (PagerDuty/Opsgenie https endpoints, chat bots). @default - none'),
    overdueSlack: Duration.optional().describe(
      'Rotation-overdue alarm fires when no rotation succeeded for the longest interval plus window plus this. @default 1d',
    ),
  })
  .strict();

/** Deploy-only: an application (IAM principal or whole account, possibly another account) that reads keys. */
export const ReaderSchema = z
  .object({
    principal: z
      .string()
      .regex(
        /^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+))$/,
        'must be a 12-digit account id or an IAM role/user/root ARN',
      )
      .describe('12-digit account id, or ARN of an IAM role, user or account root; other accounts allowed'),
    keys: z
      .array(z.string().min(1))
      .min(1)
      .describe('Key names, or name prefixes ending in * (e.g. "payments/*"), this principal may read'),
  })
  .strict();

/** Deploy-only: how keys are spread over CloudFormation stacks. */
export const StacksSchema = z
  .object({
    prefix: z
      .string()
      .regex(NAME_PREFIX, 'must be 1-40 letters, digits or -, starting with a letter')
      .optional()
      .describe('Prefix of stack names and of the functions\' names; distinct per deployment in one account. @default KeyRelay'),
    shards: z
      .number()
      .int()
      .min(1)
      .max(100)
      .optional()
      .describe('Number of key stacks. Fix it before the first deploy: changing it moves keys between stacks. @default 1'),
  })
  .strict();

/** Deploy-only: engine tunables. */
export const EngineSchema = z
  .object({
    reconcileEvery: Duration.optional().describe('How often the reconcile sweep runs (5m to 1d). @default 1h'),
    reservedConcurrency: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Reserved concurrency for each function (fails the deploy on accounts with a low limit). @default - none'),
    stagger: z
      .boolean()
      .optional()
      .describe('Spread keys of one provider across hours and days by turning rotateEvery into an equivalent cron. @default true'),
    autoEmergency: z
      .boolean()
      .optional()
      .describe('false: no key is ever rotated on its own by the canary or AWS Health (they only alarm), whatever the keys say. @default true'),
  })
  .strict();

/** The whole config file. */
export const ConfigSchema = z
  .object({
    $schema: z.string().optional(),
    defaults: KeyConfigSchema.partial().optional().describe('Settings every key inherits unless it sets its own'),
    keys: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9/_+=.@-]{1,256}$/, 'key names are secret names: 1-256 of A-Z a-z 0-9 / _ + = . @ -')
          // Maps by name would read `constructor` or `toString` from Object.prototype for a key that is not there.
          .refine((name) => !(name in Object.prototype), 'is a name every JavaScript object has (constructor, toString, …); choose another secret name'),
        KeyEntrySchema,
      )
      .describe('The keys to rotate, by secret name'),
    alarms: AlarmsSchema.optional().describe('Alarm recipients. @default - topic without subscriptions'),
    tags: z
      .record(z.string(), z.string())
      .optional()
      .describe('Tags on every resource (at most 10; keys must not start with keyrelay: or aws:). @default - none'),
    readers: z.array(ReaderSchema).optional().describe('Applications allowed to read keys. @default - none'),
    stacks: StacksSchema.optional().describe('Stack naming and sharding. @default - one key stack named KeyRelay-Keys0'),
    engine: EngineSchema.optional().describe('Engine tunables. @default - see each field'),
  })
  .strict();

/** The config as written. */
export type KeyRelayConfig = z.infer<typeof ConfigSchema>;

/** When a key rotates. */
export type RotationSchedule =
  | { kind: 'rate'; /** seconds */ every: number }
  | { kind: 'cron'; expression: string; /** shortest gap, seconds */ every: number };

/** One key with every default applied and every duration in seconds. */
export interface ResolvedKey {
  name: string;
  provider: string;
  providerSettings: Record<string, string>;
  adminSecret?: string;
  schedule: RotationSchedule;
  /** Window length in seconds, when set. */
  window?: number;
  gracePeriod: number;
  usageHold?: { quietPeriod: number; maxHold: number };
  observationWindow?: number;
  /** Seconds between canary checks of the current key; absent: no canary. */
  canaryEvery?: number;
  /** `false`: the canary and AWS Health only alarm for this key. Absent: they may rotate it on their own. */
  autoEmergency?: false;
  /** Key stack this key is pinned to (deploy-only); absent: chosen by a hash of the name. */
  shard?: number;
  /** Regions holding a replica of the secret, sorted; absent: not replicated. */
  replicaRegions?: string[];
}

/** Deploy-only settings with defaults applied. */
export interface ResolvedDeploy {
  /** Stack and function name prefix. */
  prefix: string;
  /** Number of key stacks. */
  shards: number;
  alarmEmails: string[];
  alarmSubscriptions: Array<{ protocol: (typeof SNS_PROTOCOLS)[number]; endpoint: string }>;
  /** Seconds added to the longest interval before the overdue alarm fires. */
  overdueSlack: number;
  tags: Record<string, string>;
  /** Readers with their patterns expanded to key names. */
  readers: Array<{ principal: string; keys: string[] }>;
  /** Seconds between reconcile sweeps. */
  reconcileEvery: number;
  reservedConcurrency?: number;
  stagger: boolean;
  /** `false`: no automatic emergency for any key (`engine.autoEmergency`). */
  autoEmergency: boolean;
}

/** The config with defaults applied and meaning checked. */
export interface ResolvedConfig {
  keys: ResolvedKey[];
  deploy: ResolvedDeploy;
}

/** Defaults for fields a key may leave out. */
export const DEFAULTS = { rotateEvery: '30d', gracePeriod: '24h' } as const;

/** Defaults of the deploy-only fields. */
export const DEPLOY_DEFAULTS = {
  prefix: 'KeyRelay',
  shards: 1,
  overdueSlack: '1d',
  reconcileEvery: '1h',
  stagger: true,
  /** Most user tags: a secret holds at most 50, and keyrelay needs the rest for settings and key records. */
  maxTags: 10,
} as const;

function resolveKey(name: string, raw: Partial<z.infer<typeof KeyConfigSchema>>): ResolvedKey {
  const at = keyPlace(name);
  if (!raw.provider) fail(at, 'provider', 'is required (e.g. { "type": "reference" })');
  const { type, ...providerSettings } = raw.provider;
  let def: ProviderDefinition;
  try {
    def = providerDefinition(type);
  } catch (err) {
    fail(at, 'provider.type', (err as Error).message);
  }
  const settings = def.settings.safeParse(providerSettings);
  if (!settings.success) {
    const issue = settings.error.issues[0];
    fail(at, `provider.${issue?.path.join('.') ?? ''}`, issue?.message ?? 'is invalid');
  }
  const refused = def.deployProblem?.(settings.data);
  if (refused) fail(at, 'provider', `'${type}': ${refused}`);
  if (def.needsAdminSecret && !raw.adminSecret) {
    fail(at, 'adminSecret', `is required for provider '${type}' (the secret holding its admin credential)`);
  }
  const iamProblem = awsIamAdminSecretProblem(type, settings.data, raw.adminSecret);
  if (iamProblem) fail(at, 'adminSecret', iamProblem);

  let schedule: RotationSchedule;
  if (raw.schedule !== undefined && raw.rotateEvery !== undefined) {
    fail(at, 'schedule', 'and rotateEvery are exclusive: set one');
  }
  if (raw.schedule !== undefined) {
    let every: number | undefined;
    try {
      every = shortestCronInterval(parseCron(raw.schedule));
    } catch (err) {
      fail(at, 'schedule', (err as Error).message);
    }
    if (every === undefined) fail(at, 'schedule', `never fires twice in 5 years, got '${raw.schedule}'`);
    if (every < MIN_INTERVAL) {
      fail(at, 'schedule', `must not fire more often than every 4 hours, got every ${formatDuration(every)}`);
    }
    schedule = { kind: 'cron', expression: raw.schedule, every };
  } else {
    const every = duration(at, 'rotateEvery', raw.rotateEvery ?? DEFAULTS.rotateEvery);
    if (every % 3600 !== 0) fail(at, 'rotateEvery', `must be whole hours, got ${formatDuration(every)}`);
    if (every < MIN_INTERVAL) fail(at, 'rotateEvery', `must not be smaller than 4 hours, got ${formatDuration(every)}`);
    schedule = { kind: 'rate', every };
  }

  let window: number | undefined;
  if (raw.window !== undefined) {
    window = duration(at, 'window', raw.window);
    if (window % 3600 !== 0 || window < 3600 || window > 24 * 3600) {
      fail(at, 'window', `must be whole hours from 1h to 24h, got ${formatDuration(window)}`);
    }
    if (window >= schedule.every) {
      fail(at, 'window', `must be shorter than the interval between rotations (got ${formatDuration(window)} vs ${formatDuration(schedule.every)})`);
    }
  }

  const gracePeriod = duration(at, 'gracePeriod', raw.gracePeriod ?? DEFAULTS.gracePeriod);
  if (gracePeriod < 60) fail(at, 'gracePeriod', `must be at least 1 minute, got ${formatDuration(gracePeriod)}`);
  if (gracePeriod >= schedule.every) {
    fail(at, 'gracePeriod', `must be shorter than ${schedule.kind === 'rate' ? 'rotateEvery' : 'the schedule interval'} (got ${formatDuration(gracePeriod)} vs ${formatDuration(schedule.every)})`);
  }

  let usageHold: ResolvedKey['usageHold'];
  if (raw.usageHold) {
    if (!def.capabilities.lastUsed) fail(at, 'usageHold', `needs a provider that reports last use; '${type}' does not`);
    usageHold = {
      quietPeriod: duration(at, 'usageHold.quietPeriod', raw.usageHold.quietPeriod),
      maxHold: duration(at, 'usageHold.maxHold', raw.usageHold.maxHold),
    };
    if (def.lastUsedDelay !== undefined && usageHold.quietPeriod < def.lastUsedDelay) {
      fail(at,
        'usageHold.quietPeriod',
        `must be at least ${formatDuration(def.lastUsedDelay)} for '${type}', which may record a key's use that late (got ${formatDuration(usageHold.quietPeriod)})`,
      );
    }
  }
  let observationWindow: number | undefined;
  if (raw.observationWindow !== undefined) {
    if (!def.capabilities.disable) fail(at, 'observationWindow', `needs a provider that can disable keys; '${type}' cannot`);
    observationWindow = duration(at, 'observationWindow', raw.observationWindow);
  }
  // With a quota of two keys the old key must be gone before the next rotation issues a third.
  if (def.quota !== undefined && def.quota <= 2) {
    const lifetime = gracePeriod + (usageHold?.maxHold ?? 0) + (observationWindow ?? 0);
    if (lifetime >= schedule.every) {
      fail(at, 'gracePeriod', `plus usageHold.maxHold plus observationWindow must be shorter than the rotation interval for '${type}' (a quota of ${def.quota} keys), got ${formatDuration(lifetime)} vs ${formatDuration(schedule.every)}`);
    }
  }

  let replicaRegions: string[] | undefined;
  if (raw.replicaRegions !== undefined && raw.replicaRegions.length > 0) {
    const twice = raw.replicaRegions.find((r, i) => raw.replicaRegions?.indexOf(r) !== i);
    if (twice !== undefined) fail(at, 'replicaRegions', `names '${twice}' twice`);
    replicaRegions = [...raw.replicaRegions].sort();
  }

  let canaryEvery: number | undefined = CANARY_BY_DEFAULT[type]?.on ? CANARY_DEFAULT_EVERY : undefined;
  if (raw.canary !== undefined) {
    canaryEvery = raw.canary === 'off' ? undefined : duration(at, 'canary', raw.canary);
    if (canaryEvery !== undefined && (canaryEvery % 60 !== 0 || canaryEvery < 60 || canaryEvery > 86_400)) {
      fail(at, 'canary', `must be whole minutes from 1m to 1d, or 'off', got ${formatDuration(canaryEvery)}`);
    }
  }

  const resolved: ResolvedKey = {
    name,
    provider: type,
    providerSettings: settings.data,
    adminSecret: raw.adminSecret,
    schedule,
    window,
    gracePeriod,
    usageHold,
    observationWindow,
    ...(replicaRegions ? { replicaRegions } : {}),
    ...(canaryEvery === undefined ? {} : { canaryEvery }),
    ...(raw.autoEmergency === false ? { autoEmergency: false as const } : {}),
  };
  checkTags(resolved);
  return resolved;
}

/**
 * Validates a parsed config file and applies defaults.
 * @throws ConfigError naming the key and the field.
 *
 * @example
 * const { keys, deploy } = resolveConfig(JSON.parse(readFileSync('keyrelay.config.json', 'utf8')));
 */
export function resolveConfig(input: unknown): ResolvedConfig {
  refuseProtoKeys(input, 'keyrelay.config.json');
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    const where = path[0] === 'keys' && path.length > 1 ? `key '${String(path[1])}': ${path.slice(2).join('.') || '(key)'}` : path.join('.') || '(root)';
    throw new ConfigError(`keyrelay.config.json ${where}: ${issue?.message ?? 'is invalid'}`);
  }
  const { defaults = {}, keys } = parsed.data;
  const deploy = resolveDeploy(parsed.data);
  const iamUsers = new Map<string, string>();
  const resolved = Object.entries(keys).map(([name, { shard, ...key }]) => {
    if (shard !== undefined && shard >= deploy.shards) {
      fail(keyPlace(name), 'shard', `must be below stacks.shards (${deploy.shards}), got ${shard}`);
    }
    const one = resolveKey(name, { ...defaults, ...key });
    claimAwsIamUser(iamUsers, one);
    return { ...one, ...(deploy.autoEmergency ? {} : { autoEmergency: false as const }), ...(shard === undefined ? {} : { shard }) };
  });
  return { keys: resolved, deploy };
}

/**
 * Refuses a `__proto__` name anywhere in the config. `JSON.parse` keeps it as an own property, but zod and every
 * object spread skip or misread it: a key named `__proto__` would be dropped without a word.
 * @throws ConfigError naming the path
 */
function refuseProtoKeys(value: unknown, path: string): void {
  if (typeof value !== 'object' || value === null) return;
  if (Object.hasOwn(value, '__proto__')) {
    throw new ConfigError(`${path}.__proto__: '__proto__' cannot be a name in the config (JavaScript objects drop it); rename it`);
  }
  for (const [k, v] of Object.entries(value)) refuseProtoKeys(v, `${path}.${k}`);
}

/** Key names a reader pattern selects: an exact name, or a prefix ending in `*`. */
export function matchKeys(pattern: string, names: readonly string[]): string[] {
  if (!pattern.endsWith('*')) return names.filter((n) => n === pattern);
  const prefix = pattern.slice(0, -1);
  return names.filter((n) => n.startsWith(prefix));
}

function resolveDeploy(config: KeyRelayConfig): ResolvedDeploy {
  const names = Object.keys(config.keys);
  const tags = config.tags ?? {};
  const tagKeys = Object.keys(tags);
  if (tagKeys.length > DEPLOY_DEFAULTS.maxTags) {
    fail(DEPLOY, 'tags', `may hold at most ${DEPLOY_DEFAULTS.maxTags} tags (secrets keep the rest of AWS's 50 for keyrelay's state), got ${tagKeys.length}`);
  }
  for (const [key, value] of Object.entries(tags)) {
    if (/^(keyrelay|aws):/i.test(key)) fail(DEPLOY, `tags.${key}`, `tag keys starting with 'keyrelay:' or 'aws:' are reserved`);
    const problem = (key.length > 128 || key.length === 0 ? 'key must be 1 to 128 characters' : undefined) ?? tagValueProblem(key) ?? tagValueProblem(value);
    if (problem) fail(DEPLOY, `tags.${key}`, problem);
  }
  const readers = (config.readers ?? []).map((reader, i) => {
    const keys = new Set<string>();
    reader.keys.forEach((pattern, j) => {
      const matched = matchKeys(pattern, names);
      if (matched.length === 0) fail(DEPLOY, `readers.${i}.keys.${j}`, `'${pattern}' matches no key in keys`);
      for (const m of matched) keys.add(m);
    });
    return { principal: reader.principal, keys: [...keys].sort() };
  });
  const reconcileEvery = duration(DEPLOY, 'engine.reconcileEvery', config.engine?.reconcileEvery ?? DEPLOY_DEFAULTS.reconcileEvery);
  if (reconcileEvery < RECONCILE_EVERY_SECONDS.min || reconcileEvery > RECONCILE_EVERY_SECONDS.max || reconcileEvery % 60 !== 0) {
    fail(DEPLOY, 'engine.reconcileEvery', `must be whole minutes from 5m to 1d, got ${formatDuration(reconcileEvery)}`);
  }
  return {
    prefix: config.stacks?.prefix ?? DEPLOY_DEFAULTS.prefix,
    shards: config.stacks?.shards ?? DEPLOY_DEFAULTS.shards,
    alarmEmails: config.alarms?.email ?? [],
    alarmSubscriptions: config.alarms?.subscriptions ?? [],
    overdueSlack: duration(DEPLOY, 'alarms.overdueSlack', config.alarms?.overdueSlack ?? DEPLOY_DEFAULTS.overdueSlack),
    tags,
    readers,
    reconcileEvery,
    reservedConcurrency: config.engine?.reservedConcurrency,
    stagger: config.engine?.stagger ?? DEPLOY_DEFAULTS.stagger,
    autoEmergency: config.engine?.autoEmergency ?? true,
  };
}

/**
 * Reads and resolves a config file. @throws ConfigError
 *
 * @example
 * const config = loadConfig('keyrelay.config.json');
 */
export function loadConfig(path: string): ResolvedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config '${path}': ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config '${path}' is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return resolveConfig(json);
}

/** The settings a key's secret carries in its tags (state contract). */
export function keySettings(key: ResolvedKey, extra: { revoker?: string } = {}): KeySettings {
  return {
    provider: key.provider,
    providerSettings: key.providerSettings,
    adminSecret: key.adminSecret,
    gracePeriod: key.gracePeriod,
    rotateEvery: key.schedule.kind === 'rate' ? key.schedule.every : undefined,
    usageQuiet: key.usageHold?.quietPeriod,
    usageMaxHold: key.usageHold?.maxHold,
    observation: key.observationWindow,
    revoker: extra.revoker,
    ...(key.replicaRegions ? { replicaRegions: key.replicaRegions } : {}),
    canaryEvery: key.canaryEvery,
    ...(key.autoEmergency === false ? { autoEmergency: false as const } : {}),
  };
}

/**
 * How often the canary rule fires: the shortest canary interval of the keys (each key is then checked when its own
 * interval has passed), seconds; undefined when no key has a canary.
 */
export function canaryRuleEvery(keys: readonly Pick<ResolvedKey, 'canaryEvery'>[]): number | undefined {
  const every = keys.flatMap((k) => (k.canaryEvery === undefined ? [] : [k.canaryEvery]));
  return every.length === 0 ? undefined : Math.min(...every);
}

/** Secrets Manager `RotationRules` for a key. */
export function rotationRules(key: ResolvedKey): { ScheduleExpression: string; Duration?: string } {
  const expr =
    key.schedule.kind === 'cron'
      ? key.schedule.expression
      : key.schedule.every % 86_400 === 0
        ? `rate(${key.schedule.every / 86_400} days)`
        : `rate(${key.schedule.every / 3600} hours)`;
  return { ScheduleExpression: expr, ...(key.window ? { Duration: `${key.window / 3600}h` } : {}) };
}

/** Checks that a key's settings fit in tags (AWS's limits). @throws ConfigError naming the key. */
function checkTags(key: ResolvedKey): void {
  try {
    settingsToTags(keySettings(key));
  } catch (err) {
    throw new ConfigError(`key '${key.name}': ${(err as Error).message}`, { cause: err });
  }
}
