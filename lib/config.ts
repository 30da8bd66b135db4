import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseCron, shortestCronInterval } from '../lambda/core/cron';
import { formatDuration, parseDuration } from '../lambda/core/duration';
import { ConfigError, KeyRelayError } from '../lambda/core/errors';
import { settingsToTags, type KeySettings } from '../lambda/core/state';
import { providerDefinition } from '../lambda/providers';

/**
 * `keyrelay.config.json`: the one description of the keys to rotate, shared by the CDK app, the local stack and the
 * CLI. Structure is checked by zod; meaning (AWS's schedule and tag limits, grace vs interval) by {@link resolveConfig}.
 * Every error names the key and the field.
 */

const MIN_INTERVAL = 4 * 3600;
const MAX_INTERVAL = 1000 * 86_400;

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
  })
  .strict();

/** The whole config file. */
export const ConfigSchema = z
  .object({
    $schema: z.string().optional(),
    defaults: KeyConfigSchema.partial().optional().describe('Settings every key inherits unless it sets its own'),
    keys: z
      .record(
        z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,256}$/, 'key names are secret names: 1-256 of A-Z a-z 0-9 / _ + = . @ -'),
        KeyConfigSchema.partial(),
      )
      .describe('The keys to rotate, by secret name'),
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
}

/** The config with defaults applied and meaning checked. */
export interface ResolvedConfig {
  keys: ResolvedKey[];
}

/** Defaults for fields a key may leave out. */
export const DEFAULTS = { rotateEvery: '30d', gracePeriod: '24h' } as const;

function fail(key: string, field: string, message: string): never {
  throw new ConfigError(`key '${key}': ${field} ${message}`);
}

function duration(key: string, field: string, text: string): number {
  try {
    return parseDuration(text, field);
  } catch (err) {
    if (err instanceof KeyRelayError) throw new ConfigError(`key '${key}': ${err.message}`);
    throw err;
  }
}

function resolveKey(name: string, raw: Partial<z.infer<typeof KeyConfigSchema>>): ResolvedKey {
  if (!raw.provider) fail(name, 'provider', 'is required (e.g. { "type": "reference" })');
  const { type, ...providerSettings } = raw.provider;
  let def;
  try {
    def = providerDefinition(type);
  } catch (err) {
    fail(name, 'provider.type', (err as Error).message);
  }
  const settings = def.settings.safeParse(providerSettings);
  if (!settings.success) {
    const issue = settings.error.issues[0];
    fail(name, `provider.${issue?.path.join('.') ?? ''}`, issue?.message ?? 'is invalid');
  }
  if (def.needsAdminSecret && !raw.adminSecret) {
    fail(name, 'adminSecret', `is required for provider '${type}' (the secret holding its admin credential)`);
  }

  let schedule: RotationSchedule;
  if (raw.schedule !== undefined && raw.rotateEvery !== undefined) {
    fail(name, 'schedule', 'and rotateEvery are exclusive: set one');
  }
  if (raw.schedule !== undefined) {
    let every: number | undefined;
    try {
      every = shortestCronInterval(parseCron(raw.schedule));
    } catch (err) {
      fail(name, 'schedule', (err as Error).message);
    }
    if (every === undefined) fail(name, 'schedule', `never fires twice in 5 years, got '${raw.schedule}'`);
    if (every < MIN_INTERVAL) {
      fail(name, 'schedule', `must not fire more often than every 4 hours, got every ${formatDuration(every)}`);
    }
    schedule = { kind: 'cron', expression: raw.schedule, every };
  } else {
    const every = duration(name, 'rotateEvery', raw.rotateEvery ?? DEFAULTS.rotateEvery);
    if (every % 3600 !== 0) fail(name, 'rotateEvery', `must be whole hours, got ${formatDuration(every)}`);
    if (every < MIN_INTERVAL) fail(name, 'rotateEvery', `must not be smaller than 4 hours, got ${formatDuration(every)}`);
    if (every > MAX_INTERVAL) fail(name, 'rotateEvery', `must not be larger than 1000 days, got ${formatDuration(every)}`);
    schedule = { kind: 'rate', every };
  }

  let window: number | undefined;
  if (raw.window !== undefined) {
    window = duration(name, 'window', raw.window);
    if (window % 3600 !== 0 || window < 3600 || window > 24 * 3600) {
      fail(name, 'window', `must be whole hours from 1h to 24h, got ${formatDuration(window)}`);
    }
    if (window >= schedule.every) {
      fail(name, 'window', `must be shorter than the interval between rotations (got ${formatDuration(window)} vs ${formatDuration(schedule.every)})`);
    }
  }

  const gracePeriod = duration(name, 'gracePeriod', raw.gracePeriod ?? DEFAULTS.gracePeriod);
  if (gracePeriod < 60) fail(name, 'gracePeriod', `must be at least 1 minute, got ${formatDuration(gracePeriod)}`);
  if (gracePeriod >= schedule.every) {
    fail(name, 'gracePeriod', `must be shorter than ${schedule.kind === 'rate' ? 'rotateEvery' : 'the schedule interval'} (got ${formatDuration(gracePeriod)} vs ${formatDuration(schedule.every)})`);
  }

  let usageHold: ResolvedKey['usageHold'];
  if (raw.usageHold) {
    if (!def.capabilities.lastUsed) fail(name, 'usageHold', `needs a provider that reports last use; '${type}' does not`);
    usageHold = {
      quietPeriod: duration(name, 'usageHold.quietPeriod', raw.usageHold.quietPeriod),
      maxHold: duration(name, 'usageHold.maxHold', raw.usageHold.maxHold),
    };
  }
  let observationWindow: number | undefined;
  if (raw.observationWindow !== undefined) {
    if (!def.capabilities.disable) fail(name, 'observationWindow', `needs a provider that can disable keys; '${type}' cannot`);
    observationWindow = duration(name, 'observationWindow', raw.observationWindow);
  }
  // With a quota of two keys the old key must be gone before the next rotation issues a third.
  if (def.quota !== undefined && def.quota <= 2) {
    const lifetime = gracePeriod + (usageHold?.maxHold ?? 0) + (observationWindow ?? 0);
    if (lifetime >= schedule.every) {
      fail(name, 'gracePeriod', `plus usageHold.maxHold plus observationWindow must be shorter than the rotation interval for '${type}' (a quota of ${def.quota} keys), got ${formatDuration(lifetime)} vs ${formatDuration(schedule.every)}`);
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
  };
  checkTags(resolved);
  return resolved;
}

/**
 * Validates a parsed config file and applies defaults.
 * @throws ConfigError naming the key and the field.
 */
export function resolveConfig(input: unknown): ResolvedConfig {
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    const where = path[0] === 'keys' && path.length > 1 ? `key '${String(path[1])}': ${path.slice(2).join('.') || '(key)'}` : path.join('.') || '(root)';
    throw new ConfigError(`keyrelay.config.json ${where}: ${issue?.message ?? 'is invalid'}`);
  }
  const { defaults = {}, keys } = parsed.data;
  return { keys: Object.entries(keys).map(([name, key]) => resolveKey(name, { ...defaults, ...key })) };
}

/** Reads and resolves a config file. @throws ConfigError */
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
  };
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
