import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretTrust } from '../../core/manifest';
import type { SecretValue } from '../../core/secret-value';
import {
  labelledTokenFor,
  readManagedSecret,
  stageHolders,
  type KeyRecord,
  type ManagedSecret,
} from '../../core/state';
import { readVersionValue, type VersionValue } from '../../core/versions';
import type { ProviderKey } from '../providers/types';

/**
 * A key younger than this is never called an orphan. A key keyrelay issues is labelled with its rotation's token, and
 * Secrets Manager creates that token's `AWSPENDING` placeholder before createSecret runs, so an in-flight rotation is
 * normally recognised by its token; the age guard covers the remaining race (a sweep that reads the versions just
 * before a rotation starts and lists the provider just after it issued). One hour is Secrets Manager's shortest
 * rotation window and four times Lambda's 15-minute maximum timeout, so no createSecret is still running after it.
 */
export const ORPHAN_MIN_AGE_MS = 3_600_000;

/** A secret as the revoker sees it before acting: state plus the keys that `AWSCURRENT`/`AWSPENDING` reference. */
export interface KeyState {
  secret: ManagedSecret;
  holders: { current?: string; pending?: string; previous?: string };
  current?: SecretValue;
  pending?: SecretValue;
  /** keyId -> the labels (`AWSCURRENT`, `AWSPENDING`) whose values reference it. Never revoked (bar revokeWithoutReplacement). */
  referenced: Map<string, string[]>;
  records: Map<string, KeyRecord>;
}

/**
 * The value of one version (`readVersionValue`). Undefined for a value-less placeholder; `strict` decides whether an
 * invalid value throws (current) or counts as "no key" (pending, previous: createSecret treats garbage as not yet
 * created).
 */
export async function readVersionKey(
  sm: SecretsManagerClient,
  secret: ManagedSecret,
  versionId: string | undefined,
  strict: boolean,
): Promise<SecretValue | undefined> {
  if (versionId === undefined) return undefined;
  return keyOfVersion(await readVersionValue(sm, secret, versionId), strict ? 'strict' : 'lenient');
}

/**
 * How an invalid value counts: `strict` throws; `lenient` is "no key"; `keyless` is "no key" only when the value names
 * no key id (a new secret's placeholder such as `{}`), and throws when it does (that key may be in use).
 */
type ValueCheck = 'strict' | 'lenient' | 'keyless';

function keyOfVersion(version: VersionValue, check: ValueCheck): SecretValue | undefined {
  if (version.state === 'valid') return version.value;
  if (version.state === 'absent' || check === 'lenient' || (check === 'keyless' && !version.namesKey)) return undefined;
  throw version.error;
}

/** Options of {@link loadKeyState}. */
export interface LoadOptions {
  /**
   * A current value that names no key (a new secret's placeholder) counts as holding no key instead of throwing:
   * createSecret's quota relief on a secret's first rotation. A value that names a key id still throws.
   * @default false
   */
  newSecretOk?: boolean;
  /** The deploy's manifest: settings from it, never from tags (see `RevokerDeps.trust`). @default - tags */
  trust?: SecretTrust;
  /**
   * Values read earlier in the same action: a version's value never changes once it holds one, so a label still on
   * the same version is not read again (the ownership re-read costs one DescribeSecret). @default - read both
   */
  known?: Pick<KeyState, 'holders' | 'current' | 'pending'>;
}

/**
 * Re-reads a secret (settings from `options.trust` when given) and the values of its `AWSCURRENT` and `AWSPENDING` versions (every action starts here).
 * @throws StateError when the current value is not a valid secret value (see {@link LoadOptions.newSecretOk}): then
 * which key is in use is unknown, so nothing may be revoked until it is fixed.
 */
export async function loadKeyState(sm: SecretsManagerClient, secretId: string, options: LoadOptions = {}): Promise<KeyState> {
  const secret = await readManagedSecret(sm, secretId, options.trust);
  const holders = stageHolders(secret.versions);
  const { known } = options;
  const [current, pending] = await Promise.all([
    holders.current === undefined
      ? Promise.resolve(undefined)
      : known?.current && known.holders.current === holders.current
        ? Promise.resolve(known.current)
        : readVersionValue(sm, secret, holders.current).then((version) => keyOfVersion(version, options.newSecretOk ? 'keyless' : 'strict')),
    holders.pending === holders.current
      ? Promise.resolve(undefined)
      : known?.pending && known.holders.pending === holders.pending
        ? Promise.resolve(known.pending)
        : readVersionKey(sm, secret, holders.pending, false),
  ]);
  const referenced = new Map<string, string[]>();
  if (current) referenced.set(current.keyId, ['AWSCURRENT', ...(holders.pending === holders.current ? ['AWSPENDING'] : [])]);
  if (pending) referenced.set(pending.keyId, [...(referenced.get(pending.keyId) ?? []), 'AWSPENDING']);
  return { secret, holders, current, pending, referenced, records: new Map(secret.records.map((r) => [r.keyId, r])) };
}

/** A provider key labelled for the secret that nothing references and no live record covers. */
export interface Orphan {
  keyId: string;
  /** When it may be revoked, ms. */
  deadline: number;
  /** The version its label's token names, when that version still holds a label. */
  versionId?: string;
}

/**
 * Finds orphans among the provider's keys: labelled for this secret, referenced by neither `AWSCURRENT` nor
 * `AWSPENDING`, not labelled with the pending version's token, no live record, older than {@link ORPHAN_MIN_AGE_MS}.
 * Deadline: a full grace period from now (the first sighting). Whether an application may still hold such a key
 * cannot be told from the labels (a rollback makes the key that was current the previous one without a record;
 * versions that lost their labels are not listed), so the sweep never revokes one sooner than a rotation would.
 * A key with a `revoked` record that is still alive is due at once.
 */
export function findOrphans(state: KeyState, providerKeys: ProviderKey[], now: number): Orphan[] {
  const { secret } = state;
  const orphans: Orphan[] = [];
  for (const key of providerKeys) {
    const token = labelledTokenFor(secret, key.label);
    if (token === undefined) continue;
    if (state.referenced.has(key.keyId) || token === state.holders.pending) continue;
    const record = state.records.get(key.keyId);
    if (record && record.phase !== 'revoked') continue;
    if (key.createdAt !== undefined && now - key.createdAt < ORPHAN_MIN_AGE_MS) continue;
    const deadline = record ? now : now + Math.max(secret.settings.gracePeriod * 1000, key.createdAt === undefined ? ORPHAN_MIN_AGE_MS : 0);
    const stored = secret.versions[token] !== undefined;
    orphans.push({ keyId: key.keyId, deadline, versionId: stored ? token : undefined });
  }
  return orphans;
}
