import { BatchGetSecretValueCommand, GetSecretValueCommand, ListSecretsCommand, type BatchGetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { fingerprint, parseSecretValue } from '../core/secret-value';
import { managedSecretFromListEntry, readManagedSecret, stageHolders, TAGS, type ManagedSecret } from '../core/state';
import { mapLimit, withThrottleRetry } from './aws';
import type { Context } from './context';
import { CliError, toCliError } from './errors';

/** The current key as the CLI shows it: never the value, only its fingerprint. */
export interface CurrentKey {
  versionId: string;
  keyId?: string;
  fingerprint?: string;
  issuedAt?: string;
  /** Why the value could not be read or parsed. */
  error?: string;
}

/** A listed secret: its state, or why its tags could not be read. */
export type Listed = { name: string; secret: ManagedSecret } | { name: string; error: string };

/**
 * Reads one managed secret (one `DescribeSecret`).
 * @throws CliError `UnknownKey` when it does not exist, `NotManaged` when it lacks the marker tag.
 */
export async function loadSecret(ctx: Context, name: string): Promise<ManagedSecret> {
  try {
    return await withThrottleRetry(ctx.clock, () => readManagedSecret(ctx.clients.sm, name));
  } catch (err) {
    const e = toCliError(err, `key '${name}'`);
    if (e.code === 'StateInvalid' && /not managed by keyrelay/.test(e.message)) {
      throw new CliError('NotManaged', e.message, '`keyrelay status` lists the managed keys; add the key to keyrelay.config.json and deploy', { cause: err });
    }
    throw e;
  }
}

/** Every managed secret's state from `ListSecrets` pages alone (filtered on the marker tag), sorted by name. */
export async function listSecrets(ctx: Context): Promise<Listed[]> {
  const out: Listed[] = [];
  let NextToken: string | undefined;
  do {
    const page = await withThrottleRetry(ctx.clock, () =>
      ctx.clients.sm.send(new ListSecretsCommand({ Filters: [{ Key: 'tag-key', Values: [TAGS.managed] }], NextToken, MaxResults: 100 })),
    );
    for (const entry of page.SecretList ?? []) {
      const name = entry.Name ?? entry.ARN ?? '(unnamed)';
      try {
        out.push({ name, secret: managedSecretFromListEntry(entry) });
      } catch (err) {
        out.push({ name, error: toCliError(err).message });
      }
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** How a command picks its keys: names, `--all`, or `--provider`. */
export interface Selection {
  names: string[];
  all?: boolean;
  provider?: string;
}

/**
 * Resolves a selection to managed secrets. Names are read one by one (unknown names fail loudly); `--all` and
 * `--provider` list.
 * @throws CliError `NoKeysSelected` when nothing is selected or the filter matches nothing.
 */
export async function selectSecrets(ctx: Context, selection: Selection): Promise<ManagedSecret[]> {
  const chosen = [selection.names.length > 0, selection.all === true, selection.provider !== undefined].filter(Boolean).length;
  if (chosen !== 1) {
    throw new CliError('NoKeysSelected', 'name the keys, or pass --all or --provider P (exactly one of them)', 'e.g. `keyrelay rotate payments/api` or `keyrelay rotate --provider reference`', {
      exitCode: 2,
    });
  }
  if (selection.names.length > 0) return mapLimit(selection.names, 8, (name) => loadSecret(ctx, name));
  const listed = await listSecrets(ctx);
  const secrets: ManagedSecret[] = [];
  for (const item of listed) {
    if ('error' in item) {
      ctx.progress(`skipping '${item.name}': ${item.error}`);
      continue;
    }
    if (selection.provider === undefined || item.secret.settings.provider === selection.provider) secrets.push(item.secret);
  }
  if (secrets.length === 0) {
    throw new CliError('NoKeysSelected', selection.provider ? `no managed key uses provider '${selection.provider}'` : 'no managed keys found', '`keyrelay status` lists the managed keys');
  }
  return secrets;
}

/** Parses a version's value into what may be shown (fingerprint, key id), dropping the key at once. */
export function describeValue(versionId: string, text: string | undefined, secretName: string): CurrentKey {
  try {
    const value = parseSecretValue(text, secretName);
    return { versionId, keyId: value.keyId, fingerprint: fingerprint(value.apiKey), issuedAt: value.issuedAt };
  } catch (err) {
    return { versionId, error: toCliError(err).message };
  }
}

/** Reads one version by id or stage and describes it (never returns the key). */
export async function readVersion(ctx: Context, secret: ManagedSecret, versionId: string): Promise<CurrentKey> {
  try {
    const got = await withThrottleRetry(ctx.clock, () => ctx.clients.sm.send(new GetSecretValueCommand({ SecretId: secret.arn, VersionId: versionId })));
    return describeValue(versionId, got.SecretString, secret.name);
  } catch (err) {
    return { versionId, error: toCliError(err).message };
  }
}

/**
 * The current key of each secret, as fingerprints: `BatchGetSecretValue` 20 secrets a call, falling back to a
 * `GetSecretValue` by version id when the batch answers another version (moto can answer a stale one). Values are
 * parsed and dropped at once; only fingerprints and key ids leave this function.
 */
export async function currentKeys(ctx: Context, secrets: readonly ManagedSecret[]): Promise<Map<string, CurrentKey>> {
  const out = new Map<string, CurrentKey>();
  const wanted = new Map<string, { secret: ManagedSecret; versionId: string }>();
  for (const secret of secrets) {
    const versionId = stageHolders(secret.versions).current;
    if (versionId) wanted.set(secret.arn, { secret, versionId });
  }
  const arns = [...wanted.keys()];
  const batches: string[][] = [];
  for (let i = 0; i < arns.length; i += 20) batches.push(arns.slice(i, i + 20));
  await mapLimit(batches, 4, async (batch) => {
    let answer: Pick<BatchGetSecretValueCommandOutput, 'SecretValues' | 'Errors'>;
    try {
      answer = await withThrottleRetry(ctx.clock, () => ctx.clients.sm.send(new BatchGetSecretValueCommand({ SecretIdList: batch })));
    } catch {
      answer = { SecretValues: [], Errors: [] };
    }
    for (const value of answer.SecretValues ?? []) {
      const want = value.ARN ? wanted.get(value.ARN) : undefined;
      if (want && value.VersionId === want.versionId) out.set(want.secret.arn, describeValue(want.versionId, value.SecretString, want.secret.name));
    }
  });
  const missing = [...wanted.values()].filter((w) => !out.has(w.secret.arn));
  await mapLimit(missing, 8, async (w) => {
    out.set(w.secret.arn, await readVersion(ctx, w.secret, w.versionId));
  });
  return out;
}
