import {
  DescribeSecretCommand,
  ListSecretsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type DescribeSecretCommandOutput,
  type SecretListEntry,
  type SecretsManagerClient,
  type Tag,
} from '@aws-sdk/client-secrets-manager';
import { StateError } from './errors';
import { formatDuration, MAX_DURATION_SECONDS } from './duration';

/**
 * The state contract (docs/state.md): everything that must survive a crash lives on the secret itself, in tags.
 * This module is the only place that knows the tag names and formats; everything else goes through it.
 */

/** Tag names. Every tag keyrelay owns starts with `keyrelay:`. */
export const TAGS = {
  /** Managed marker; `ListSecrets` filters on it. Value: contract version. */
  managed: 'keyrelay:managed',
  provider: 'keyrelay:provider',
  /** Prefix of one tag per provider setting: `keyrelay:provider:<setting>`. */
  providerSetting: 'keyrelay:provider:',
  adminSecret: 'keyrelay:admin-secret',
  gracePeriod: 'keyrelay:grace-period',
  rotateEvery: 'keyrelay:rotate-every',
  usageQuiet: 'keyrelay:usage-quiet',
  usageMaxHold: 'keyrelay:usage-max-hold',
  observation: 'keyrelay:observation',
  /** Regions the secret is replicated to (Secrets Manager replicas), space-separated, sorted. */
  replicaRegions: 'keyrelay:replica-regions',
  /** Name of the revoker function serving this secret (the CLI invokes it). */
  revoker: 'keyrelay:revoker',
  /** Present while rotation is paused; value: `<iso time> <operator>: <reason>`. */
  frozen: 'keyrelay:frozen',
  /** Prefix of one lifecycle record per provider key: `keyrelay:key:<keyId>`. */
  keyRecord: 'keyrelay:key:',
  /** The key finishSecret last promoted: `v=<versionId> key=<keyId> fp=<fingerprint>` (see {@link CurrentKeyNote}). */
  current: 'keyrelay:current',
  /** Seconds between canary checks of the current key (setting); absent: no canary. */
  canaryEvery: 'keyrelay:canary-every',
  /** `off` when the canary and AWS Health may only alarm, never rotate on their own (setting); absent: on. */
  autoEmergency: 'keyrelay:auto-emergency',
  /** The canary's last verdict: `at=<epoch s> verdict=<verdict>[ action=<action>]` (see {@link CanaryNote}). */
  canary: 'keyrelay:canary',
  /**
   * The last automatic emergency: `at=<epoch s> trigger=<canary|aws-health> key=<keyId>` (see {@link AutoEmergencyNote}).
   * Written before the rotation starts, so a retry or crash never starts a second one within the hour.
   */
  lastAutoEmergency: 'keyrelay:last-auto-emergency',
} as const;

/** Tags the functions write besides key records: the current-key note and the automatic-response notes. */
export const STATE_NOTE_TAGS = [TAGS.current, TAGS.canary, TAGS.lastAutoEmergency] as const;

/** Current contract version, the value of the managed marker. */
export const CONTRACT_VERSION = 'v1';

/** Per-key settings, written to tags from `keyrelay.config.json` by the CDK app and the local stack. */
export interface KeySettings {
  /** Provider type, e.g. `reference`. */
  provider: string;
  /** Provider settings (the adapter validates them). */
  providerSettings: Record<string, string>;
  /** Name or ARN of the secret holding the provider admin credential. */
  adminSecret?: string;
  /** Seconds the previous key stays valid after a rotation. */
  gracePeriod: number;
  /** Seconds between rotations, for rate schedules (overdue detection, config checks). */
  rotateEvery?: number;
  /** Hold revocation until the old key has been unused this many seconds (providers that report last use). */
  usageQuiet?: number;
  /** Revoke anyway this many seconds after the deadline, used or not. */
  usageMaxHold?: number;
  /** Two-phase revocation: delete this many seconds after disabling. Absent: delete at once. */
  observation?: number;
  /** Revoker function name. */
  revoker?: string;
  /**
   * Regions holding a replica of the secret (Secrets Manager replication, from the primary): a revocation waits until
   * each serves the new key. Absent: not replicated.
   */
  replicaRegions?: string[];
  /** Seconds between canary checks of the current key; absent: no canary (docs/revocation.md, "Leak response"). */
  canaryEvery?: number;
  /** `false`: the canary and AWS Health only alarm, never rotate on their own. Absent: they may. */
  autoEmergency?: false;
}

/**
 * What the canary found when it verified the current key: `ok`; `rejected` (the key was refused while the admin
 * credential still worked: the key is dead); `provider-unavailable` (outage, throttling: nothing can be told);
 * `admin-rejected` (the admin credential was refused too: the provider or the credential, not the key); `no-key`.
 */
export type CanaryVerdict = 'ok' | 'rejected' | 'provider-unavailable' | 'admin-rejected' | 'no-key';
const CANARY_VERDICTS: ReadonlySet<string> = new Set<CanaryVerdict>(['ok', 'rejected', 'provider-unavailable', 'admin-rejected', 'no-key']);

/** What was done about a verdict: an emergency rotation, or why none was started. */
export type AutoAction = 'rotated' | 'revoked' | 'failed' | 'held-off' | 'held-frozen' | 'held-limit' | 'held-breaker' | 'held-busy';
const AUTO_ACTIONS: ReadonlySet<string> = new Set<AutoAction>(['rotated', 'revoked', 'failed', 'held-off', 'held-frozen', 'held-limit', 'held-breaker', 'held-busy']);

/** The `keyrelay:canary` tag: the canary's last check of the current key. Steers nothing but the next check's time. */
export interface CanaryNote {
  /** When it checked, ms (whole seconds). */
  at: number;
  verdict: CanaryVerdict;
  /** What followed a `rejected` verdict. */
  action?: AutoAction;
}

/** What started an automatic emergency: the canary's own verdict, or an AWS Health event delivered by the rule. */
export type AutoTrigger = 'canary' | 'aws-health';

/** The `keyrelay:last-auto-emergency` tag: when the last automatic emergency of the secret started, and why. */
export interface AutoEmergencyNote {
  at: number;
  trigger: AutoTrigger;
  keyId: string;
}

function noteFields(value: string | undefined): Map<string, string> | undefined {
  if (value === undefined) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.split(' ')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return fields;
}

/** The canary note tag. */
export function canaryTag(note: CanaryNote): Tag {
  return { Key: TAGS.canary, Value: `at=${Math.floor(note.at / 1000)} verdict=${note.verdict}${note.action ? ` action=${note.action}` : ''}` };
}

/** Parses the canary note; undefined when absent or unreadable (it only decides when to check next). */
export function parseCanaryNote(value: string | undefined): CanaryNote | undefined {
  const f = noteFields(value);
  const at = wholeNumber(f?.get('at'));
  const verdict = f?.get('verdict');
  const action = f?.get('action');
  if (!f || !Number.isFinite(at) || !verdict || !CANARY_VERDICTS.has(verdict) || (action !== undefined && !AUTO_ACTIONS.has(action))) return undefined;
  return { at: at * 1000, verdict: verdict as CanaryVerdict, ...(action ? { action: action as AutoAction } : {}) };
}

/** The last-automatic-emergency note tag. @throws StateError when the key id breaks AWS's tag limits. */
export function autoEmergencyTag(note: AutoEmergencyNote): Tag {
  const Value = `at=${Math.floor(note.at / 1000)} trigger=${note.trigger} key=${note.keyId}`;
  const problem = tagValueProblem(Value);
  if (problem) throw new StateError(`tag '${TAGS.lastAutoEmergency}': ${problem}`);
  return { Key: TAGS.lastAutoEmergency, Value };
}

/**
 * Parses the last-automatic-emergency note. Unreadable counts as an emergency at an unknown time (`at` infinite): a
 * damaged note may only hold automatic action back (alarmed as held by the limit), never let a second one through.
 */
export function parseAutoEmergencyNote(value: string | undefined): AutoEmergencyNote | undefined {
  const f = noteFields(value);
  if (!f) return undefined;
  const at = wholeNumber(f.get('at'));
  const trigger = f.get('trigger');
  const keyId = f.get('key');
  if (!Number.isFinite(at) || (trigger !== 'canary' && trigger !== 'aws-health') || !keyId) return { at: Number.POSITIVE_INFINITY, trigger: 'canary', keyId: keyId ?? '?' };
  return { at: at * 1000, trigger, keyId };
}

/** Where a provider key is in its life after it stopped being current. */
export type KeyPhase = 'grace' | 'held' | 'disabled' | 'revoked';

/** One `keyrelay:key:<keyId>` tag: the lifecycle of a provider key that is no longer (or never became) current. */
export interface KeyRecord {
  keyId: string;
  phase: KeyPhase;
  /** When the next action is due, ms since the epoch (revoke/disable at `grace`/`held`, delete at `disabled`). */
  due: number;
  /** Version id the key was stored in, when known. */
  versionId?: string;
  /** When the usage hold started (phase `held`), ms. */
  heldSince?: number;
  /** Why, for emergencies and manual actions (`emergency`, `manual`, `cancel`, `orphan`). */
  reason?: string;
  /**
   * Who asked, for operator actions (revoke, cancel, restore): the operator as {@link recordOperator} stores it
   * (spaces and characters tags refuse become `-`, shortened to fit the tag).
   */
  by?: string;
}

/**
 * What finishSecret notes about the key it promotes, so `status` can show its fingerprint without reading the value
 * (the on-call policy has no GetSecretValue). Trust it only while `versionId` still holds AWSCURRENT: a rollback or an
 * import moves the label without rewriting the note.
 */
export interface CurrentKeyNote {
  versionId: string;
  keyId: string;
  fingerprint: string;
}

/** A managed secret as the state contract sees it. */
export interface ManagedSecret {
  arn: string;
  name: string;
  settings: KeySettings;
  records: KeyRecord[];
  /** VersionIdsToStages. */
  versions: Record<string, string[]>;
  rotationEnabled: boolean;
  lastRotatedDate?: Date;
  nextRotationDate?: Date;
  /** When the secret was created (the age of a key never rotated yet). */
  createdDate?: Date;
  /** Present while rotation is paused. */
  frozen?: string;
  /** The last promoted key, as finishSecret noted it (may be stale: compare its version with AWSCURRENT). */
  currentKey?: CurrentKeyNote;
  /** The canary's last check, when it ran. */
  canary?: CanaryNote;
  /** The last automatic emergency (the one-per-hour limit), when there was one. */
  lastAutoEmergency?: AutoEmergencyNote;
  tags: Record<string, string>;
  /**
   * The replicas as the primary's `DescribeSecret` reports them (`ReplicationStatus`); `ListSecrets` does not carry
   * them, so a listed secret has none until it is described. Absent or empty: not replicated (or not described).
   */
  replication?: ReplicaStatus[];
}

/** One replica as the primary reports it (`ReplicationStatus`). */
export interface ReplicaStatus {
  region: string;
  /** `InSync`, `InProgress` or `Failed`. */
  status: string;
  /** AWS's words, e.g. why replication failed. */
  message?: string;
}

// AWS: tag keys 1-128 and values 0-256 characters of letters, digits, spaces and _ . : / = + - @
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/**
 * Checks a tag value against AWS's limits (moto accepts anything, AWS does not).
 * @returns a problem description, or undefined when the value is valid.
 */
export function tagValueProblem(value: string): string | undefined {
  if (value.length > 256) return `must be at most 256 characters, got ${value.length}`;
  if (!TAG_CHARS.test(value)) return `may hold only letters, digits, spaces and _ . : / = + - @, got '${value}'`;
  return undefined;
}

function tagKeyProblem(key: string): string | undefined {
  if (key.length < 1 || key.length > 128) return `tag key must be 1 to 128 characters, got ${key.length}`;
  if (key.toLowerCase().startsWith('aws:')) return `tag key must not start with 'aws:'`;
  if (!TAG_CHARS.test(key)) return `tag key may hold only letters, digits, spaces and _ . : / = + - @, got '${key}'`;
  return undefined;
}

/**
 * Which adapter serves a secret: provider type, provider settings (in any order) and admin secret. Secrets with the
 * same identity see the same provider keys, so the reconcile sweep lists once per identity, and share one cached
 * adapter.
 */
export function providerIdentity(settings: Pick<KeySettings, 'provider' | 'providerSettings' | 'adminSecret'>): string {
  const providerSettings = Object.entries(settings.providerSettings).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([settings.provider, providerSettings, settings.adminSecret ?? null]);
}

/** Encodes settings as tags. @throws StateError when a value breaks AWS's tag limits. */
export function settingsToTags(settings: KeySettings): Tag[] {
  const tags: Array<[string, string | number | undefined]> = [
    [TAGS.managed, CONTRACT_VERSION],
    [TAGS.provider, settings.provider],
    ...Object.entries(settings.providerSettings).map(([k, v]): [string, string] => [TAGS.providerSetting + k, v]),
    [TAGS.adminSecret, settings.adminSecret],
    [TAGS.gracePeriod, settings.gracePeriod],
    [TAGS.rotateEvery, settings.rotateEvery],
    [TAGS.usageQuiet, settings.usageQuiet],
    [TAGS.usageMaxHold, settings.usageMaxHold],
    [TAGS.observation, settings.observation],
    [TAGS.revoker, settings.revoker],
    [TAGS.replicaRegions, settings.replicaRegions?.length ? [...settings.replicaRegions].sort().join(' ') : undefined],
    [TAGS.canaryEvery, settings.canaryEvery],
    [TAGS.autoEmergency, settings.autoEmergency === false ? 'off' : undefined],
  ];
  return tags
    .filter((t): t is [string, string | number] => t[1] !== undefined)
    .map(([Key, v]) => {
      const Value = String(v);
      const problem = tagKeyProblem(Key) ?? tagValueProblem(Value);
      if (problem) throw new StateError(`tag '${Key}': ${problem}`);
      return { Key, Value };
    });
}

// Number('') and Number(' ') are 0: a cleared tag or field would otherwise read as "no grace" or "due at the epoch".
function wholeNumber(text: string | undefined): number {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : NaN;
}

function seconds(tags: Record<string, string>, key: string, secret: string): number | undefined {
  const raw = tags[key];
  if (raw === undefined) return undefined;
  const n = wholeNumber(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new StateError(`secret '${secret}': tag '${key}' must be a whole number of seconds, got '${raw}'`);
  }
  if (n > MAX_DURATION_SECONDS) {
    throw new StateError(`secret '${secret}': tag '${key}' must not be larger than ${MAX_DURATION_SECONDS} seconds (${formatDuration(MAX_DURATION_SECONDS)}, the config's limit), got '${raw}'; fix the key in keyrelay.config.json and deploy`);
  }
  return n;
}

/**
 * The grace period a secret's tags declare, in seconds; undefined when it has no `keyrelay:grace-period` tag (a
 * secret keyrelay does not rotate). The application client reads it alone, to keep its cache inside the grace period;
 * {@link settingsFromTags} reads it with the rest, so both refuse the same values.
 * @throws StateError naming the secret and the tag when the value is not a whole number of seconds within the config's limit.
 */
export function gracePeriodFromTags(secret: string, tags: Record<string, string>): number | undefined {
  return seconds(tags, TAGS.gracePeriod, secret);
}

/**
 * Decodes settings from a secret's tags.
 * @throws StateError naming the secret and the tag when the secret is not managed or a tag is malformed.
 */
export function settingsFromTags(secret: string, tags: Record<string, string>): KeySettings {
  if (tags[TAGS.managed] === undefined) {
    throw new StateError(
      `secret '${secret}' is not managed by keyrelay (no '${TAGS.managed}' tag); add it to keyrelay.config.json and deploy`,
    );
  }
  const provider = tags[TAGS.provider];
  if (!provider) throw new StateError(`secret '${secret}': tag '${TAGS.provider}' is missing`);
  const gracePeriod = gracePeriodFromTags(secret, tags);
  if (gracePeriod === undefined) throw new StateError(`secret '${secret}': tag '${TAGS.gracePeriod}' is missing`);
  const providerSettings: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) {
    if (k.startsWith(TAGS.providerSetting)) providerSettings[k.slice(TAGS.providerSetting.length)] = v;
  }
  return {
    provider,
    providerSettings,
    adminSecret: tags[TAGS.adminSecret],
    gracePeriod,
    rotateEvery: seconds(tags, TAGS.rotateEvery, secret),
    usageQuiet: seconds(tags, TAGS.usageQuiet, secret),
    usageMaxHold: seconds(tags, TAGS.usageMaxHold, secret),
    observation: seconds(tags, TAGS.observation, secret),
    revoker: tags[TAGS.revoker],
    ...(tags[TAGS.replicaRegions] ? { replicaRegions: tags[TAGS.replicaRegions]!.split(' ').filter((r) => r !== '') } : {}),
    canaryEvery: seconds(tags, TAGS.canaryEvery, secret),
    ...(tags[TAGS.autoEmergency] === 'off' ? { autoEmergency: false as const } : {}),
  };
}

const PHASES: ReadonlySet<string> = new Set<KeyPhase>(['grace', 'held', 'disabled', 'revoked']);

/** Longest operator a record keeps: room for an assumed-role ARN with its session name. */
const MAX_OPERATOR = 128;

/**
 * An operator name as a key record stores it (`by=`): every character a tag value refuses, and spaces (fields are
 * space-separated), become `-`; at most `max` characters (the head is kept: ARNs and e-mails read from the left).
 * @default max 128
 */
export function recordOperator(operator: string, max = MAX_OPERATOR): string {
  let out = '';
  for (const ch of operator.trim()) {
    const safe = /^[\p{L}\p{N}_.:/=+\-@]$/u.test(ch) ? ch : '-';
    // Whole code points only: a cut surrogate pair would break the tag.
    if (out.length + safe.length > max) break;
    out += safe;
  }
  return out;
}

/** The tag for one key record; `by` is stored via {@link recordOperator}, shortened further to keep the tag valid. */
export function keyRecordTag(record: KeyRecord): Tag {
  const Key = TAGS.keyRecord + record.keyId;
  const parts = [`phase=${record.phase}`, `due=${Math.floor(record.due / 1000)}`];
  if (record.versionId) parts.push(`v=${record.versionId}`);
  if (record.heldSince !== undefined) parts.push(`held=${Math.floor(record.heldSince / 1000)}`);
  if (record.reason) parts.push(`reason=${record.reason}`);
  const rest = parts.join(' ');
  const by = record.by === undefined ? '' : recordOperator(record.by, Math.min(MAX_OPERATOR, 256 - rest.length - ' by='.length));
  const Value = by ? `${rest} by=${by}` : rest;
  const problem = tagKeyProblem(Key) ?? tagValueProblem(Value);
  if (problem) throw new StateError(`key record for '${record.keyId}': ${problem}`);
  return { Key, Value };
}

/** Parses one key record tag; undefined when `key` is not a record tag. @throws StateError when malformed. */
export function parseKeyRecord(key: string, value: string): KeyRecord | undefined {
  if (!key.startsWith(TAGS.keyRecord)) return undefined;
  const keyId = key.slice(TAGS.keyRecord.length);
  const fields = new Map<string, string>();
  for (const part of value.split(' ')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const phase = fields.get('phase');
  const due = wholeNumber(fields.get('due'));
  const held = fields.get('held');
  if (!phase || !PHASES.has(phase) || !Number.isFinite(due) || (held !== undefined && !Number.isFinite(wholeNumber(held)))) {
    throw new StateError(`tag '${key}' is not a key record (expected 'phase=<grace|held|disabled|revoked> due=<epoch seconds>', got '${value}')`);
  }
  return {
    keyId,
    phase: phase as KeyPhase,
    due: due * 1000,
    versionId: fields.get('v'),
    heldSince: held === undefined ? undefined : Number(held) * 1000,
    reason: fields.get('reason'),
    by: fields.get('by'),
  };
}

/** The tag noting the promoted key. @throws StateError when a value breaks AWS's tag limits. */
export function currentKeyTag(note: CurrentKeyNote): Tag {
  const Value = `v=${note.versionId} key=${note.keyId} fp=${note.fingerprint}`;
  const problem = tagValueProblem(Value);
  if (problem) throw new StateError(`tag '${TAGS.current}': ${problem}`);
  return { Key: TAGS.current, Value };
}

function parseCurrentKey(value: string | undefined): CurrentKeyNote | undefined {
  const m = value === undefined ? null : /^v=(\S+) key=(\S+) fp=(\S+)$/.exec(value);
  return m ? { versionId: m[1]!, keyId: m[2]!, fingerprint: m[3]! } : undefined;
}

/**
 * The record for a key as it stops being current (finishSecret, `keyrelay rollback`): a full grace period from `now`.
 * A record left from an earlier demotion (the key was rolled back to since) can therefore never shorten the grace
 * applications get, and a later deadline already recorded is kept: deadlines only move out. Undefined when the key is
 * already revoked: nothing to wait for, and its record keeps who revoked it and why.
 */
export function demotionRecord(
  secret: Pick<ManagedSecret, 'records' | 'settings'>,
  keyId: string,
  versionId: string,
  now: number,
): KeyRecord | undefined {
  const earlier = secret.records.find((r) => r.keyId === keyId);
  if (earlier?.phase === 'revoked') return undefined;
  const due = Math.max(now + secret.settings.gracePeriod * 1000, earlier?.phase === 'grace' ? earlier.due : 0);
  return { keyId, phase: 'grace', due, versionId };
}

/** Tags as a plain object. */
export function tagMap(tags: Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

/** Builds the state view from a `DescribeSecret` answer. */
export function managedSecretFrom(described: DescribeSecretCommandOutput): ManagedSecret {
  const name = described.Name ?? described.ARN ?? '(unnamed)';
  const tags = tagMap(described.Tags);
  const records: KeyRecord[] = [];
  for (const [k, v] of Object.entries(tags)) {
    const record = parseKeyRecord(k, v);
    if (record) records.push(record);
  }
  return {
    arn: described.ARN ?? name,
    name,
    settings: settingsFromTags(name, tags),
    records,
    versions: described.VersionIdsToStages ?? {},
    rotationEnabled: described.RotationEnabled === true,
    lastRotatedDate: described.LastRotatedDate,
    nextRotationDate: described.NextRotationDate,
    createdDate: described.CreatedDate,
    frozen: tags[TAGS.frozen],
    currentKey: parseCurrentKey(tags[TAGS.current]),
    canary: parseCanaryNote(tags[TAGS.canary]),
    lastAutoEmergency: parseAutoEmergencyNote(tags[TAGS.lastAutoEmergency]),
    tags,
    replication: (described.ReplicationStatus ?? []).flatMap((r) =>
      r.Region ? [{ region: r.Region, status: r.Status ?? 'Unknown', ...(r.StatusMessage ? { message: r.StatusMessage } : {}) }] : [],
    ),
  };
}

/**
 * Builds the state view from a `ListSecrets` entry, which carries what `DescribeSecret` does (tags, stages, rotation
 * dates): one call per 100 secrets. `ListSecrets` is eventually consistent, so act on a secret only after
 * {@link readManagedSecret}.
 */
export function managedSecretFromListEntry(entry: SecretListEntry): ManagedSecret {
  return managedSecretFrom({
    $metadata: {},
    ARN: entry.ARN,
    Name: entry.Name,
    Tags: entry.Tags,
    VersionIdsToStages: entry.SecretVersionsToStages,
    RotationEnabled: entry.RotationEnabled,
    LastRotatedDate: entry.LastRotatedDate,
    NextRotationDate: entry.NextRotationDate,
    CreatedDate: entry.CreatedDate,
  });
}

/**
 * Reads a managed secret's state (one `DescribeSecret`). With `trust` (the functions' deployed manifest), its settings
 * are the deploy's, never its tags'.
 */
export async function readManagedSecret(
  sm: SecretsManagerClient,
  secretId: string,
  trust?: { settle(secret: ManagedSecret): ManagedSecret },
): Promise<ManagedSecret> {
  const secret = managedSecretFrom(await sm.send(new DescribeSecretCommand({ SecretId: secretId })));
  return trust ? trust.settle(secret) : secret;
}

/** Writes (or replaces) one key record. */
export async function putKeyRecord(sm: SecretsManagerClient, secretId: string, record: KeyRecord): Promise<void> {
  await sm.send(new TagResourceCommand({ SecretId: secretId, Tags: [keyRecordTag(record)] }));
}

/** Writes several state tags in one `TagResource` (e.g. a key record and the current-key note). */
export async function putStateTags(sm: SecretsManagerClient, secretId: string, tags: Tag[]): Promise<void> {
  await sm.send(new TagResourceCommand({ SecretId: secretId, Tags: tags }));
}

/** Removes key records. */
export async function deleteKeyRecords(sm: SecretsManagerClient, secretId: string, keyIds: string[]): Promise<void> {
  if (keyIds.length === 0) return;
  await sm.send(new UntagResourceCommand({ SecretId: secretId, TagKeys: keyIds.map((id) => TAGS.keyRecord + id) }));
}

/** Pauses rotation (the rotation handler refuses to start while frozen). */
export async function setFrozen(sm: SecretsManagerClient, secretId: string, note: string | undefined): Promise<void> {
  if (note === undefined) {
    await sm.send(new UntagResourceCommand({ SecretId: secretId, TagKeys: [TAGS.frozen] }));
    return;
  }
  const problem = tagValueProblem(note);
  if (problem) throw new StateError(`freeze note ${problem}`);
  await sm.send(new TagResourceCommand({ SecretId: secretId, Tags: [{ Key: TAGS.frozen, Value: note }] }));
}

/** One managed secret as `ListSecrets` shows it: its state, or why its tags could not be read. */
export type ListedSecret = { arn: string; name: string } & ({ secret: ManagedSecret; error?: never } | { secret?: never; error: unknown });

/**
 * Every managed secret with its state (see {@link managedSecretFromListEntry}), all pages of 100 filtered on the
 * managed marker: `ceil(n / 100)` calls for `n` secrets.
 */
export async function listManagedSecrets(sm: SecretsManagerClient): Promise<ListedSecret[]> {
  const out: ListedSecret[] = [];
  let NextToken: string | undefined;
  do {
    const page = await sm.send(
      new ListSecretsCommand({ Filters: [{ Key: 'tag-key', Values: [TAGS.managed] }], NextToken, MaxResults: 100 }),
    );
    for (const entry of page.SecretList ?? []) {
      if (!entry.ARN || !entry.Name) continue;
      try {
        out.push({ arn: entry.ARN, name: entry.Name, secret: managedSecretFromListEntry(entry) });
      } catch (error) {
        out.push({ arn: entry.ARN, name: entry.Name, error });
      }
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/** Version ids holding each AWS staging label. */
export function stageHolders(versions: Record<string, string[]>): { current?: string; pending?: string; previous?: string } {
  const out: { current?: string; pending?: string; previous?: string } = {};
  for (const [id, stages] of Object.entries(versions)) {
    if (stages.includes('AWSCURRENT')) out.current = id;
    if (stages.includes('AWSPENDING')) out.pending = id;
    if (stages.includes('AWSPREVIOUS')) out.previous = id;
  }
  return out;
}

const LABEL_PREFIX = 'keyrelay/';

/**
 * How provider key labels name a secret: its ARN's resource id, the name plus the random suffix AWS gives every
 * secret (`payments/api-AbCdEf`). Two deployments that share a provider admin credential and a secret name (staging
 * and production, two regions) therefore never take each other's keys for their own orphans; a name alone would let
 * one deployment's sweep revoke the other's current key. Falls back to the name when `arn` is not an ARN.
 */
export function secretLabelId(secret: { arn: string; name: string }): string {
  const at = secret.arn.indexOf(':secret:');
  return at >= 0 ? secret.arn.slice(at + ':secret:'.length) : secret.name;
}

/**
 * The label every provider key keyrelay issues carries: `keyrelay/<secret label id>/<token>` (see
 * {@link secretLabelId}), so a retried createSecret finds the key it already issued, and the reconcile sweep knows
 * which secret a key belongs to.
 */
export function providerKeyLabel(secret: { arn: string; name: string }, token: string): string {
  return `${LABEL_PREFIX}${secretLabelId(secret)}/${token}`;
}

/**
 * Whether `id`, the resource id of a secret's ARN, is that of the secret named `name`: the name plus the `-` and
 * 6-character suffix AWS adds to every secret.
 */
export function isArnIdOfSecret(id: string, name: string): boolean {
  return id.length === name.length + 7 && id.startsWith(`${name}-`);
}

/**
 * Whether a provider key's label ({@link providerKeyLabel}) names the secret called `name`: by its ARN resource id,
 * or by the name itself where {@link secretLabelId} fell back to it.
 */
export function labelNamesSecret(label: string | undefined, name: string): boolean {
  const id = parseProviderKeyLabel(label)?.secret;
  return id !== undefined && (id === name || isArnIdOfSecret(id, name));
}

/** Inverse of {@link providerKeyLabel}: the secret's label id and the token; undefined for keys keyrelay did not label. */
export function parseProviderKeyLabel(label: string | undefined): { secret: string; token: string } | undefined {
  if (!label?.startsWith(LABEL_PREFIX)) return undefined;
  const rest = label.slice(LABEL_PREFIX.length);
  const slash = rest.lastIndexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { secret: rest.slice(0, slash), token: rest.slice(slash + 1) };
}

/** The token of `label` when it labels a key of `secret`, else undefined. */
export function labelledTokenFor(secret: { arn: string; name: string }, label: string | undefined): string | undefined {
  const parsed = parseProviderKeyLabel(label);
  return parsed?.secret === secretLabelId(secret) ? parsed.token : undefined;
}
