import { ListSecretVersionIdsCommand, type SecretVersionsListEntry } from '@aws-sdk/client-secrets-manager';
import { isoTime } from '../../core/clock';
import type { InspectedKey } from '../../lambda/revoker/protocol';
import { mapLimit, withThrottleRetry } from '../aws';
import type { Context } from '../context';
import { EXIT, toCliError, type ExitCode } from '../errors';
import { buildHistory, formatHistory, type VersionInfo } from '../format/history';
import { invokeRevoker } from '../revoker';
import { loadSecret, readVersion } from '../secrets';

const LABELS = ['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS'];

/**
 * `keyrelay history NAME`: the secret's versions (newest `limit`) joined with the lifecycle records and the freeze
 * note. Key ids come from the records (by version) and the revoker's `inspect` (by label), so no value is read;
 * `fingerprints` reads each version's value for its fingerprint (needs `GetSecretValue`; the value is dropped).
 */
export async function runHistory(ctx: Context, options: { name: string; json: boolean; limit: number; fingerprints: boolean }): Promise<ExitCode> {
  const secret = await loadSecret(ctx, options.name);
  const entries: SecretVersionsListEntry[] = [];
  let NextToken: string | undefined;
  do {
    const page = await withThrottleRetry(ctx.clock, () =>
      ctx.clients.sm.send(new ListSecretVersionIdsCommand({ SecretId: secret.arn, IncludeDeprecated: true, MaxResults: 100, NextToken })),
    );
    entries.push(...(page.Versions ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  entries.sort((a, b) => (b.CreatedDate?.getTime() ?? 0) - (a.CreatedDate?.getTime() ?? 0));
  let inspected: InspectedKey[] = [];
  try {
    inspected = (await invokeRevoker(ctx, secret, { action: 'inspect', secretId: secret.arn })).inspect?.keys ?? [];
  } catch (err) {
    ctx.progress(`warning: key ids of labelled versions unknown, the revoker could not inspect (${toCliError(err).message})`);
  }
  const versions = await mapLimit(entries.slice(0, options.limit), 4, async (e): Promise<VersionInfo> => {
    const versionId = e.VersionId ?? '?';
    const stages = e.VersionStages ?? [];
    const keyId =
      secret.records.find((r) => r.versionId === versionId)?.keyId ??
      inspected.find((k) => k.stages.some((s) => LABELS.includes(s) && stages.includes(s)))?.keyId;
    return {
      versionId,
      stages,
      created: e.CreatedDate ? isoTime(e.CreatedDate.getTime()) : undefined,
      lastAccessed: e.LastAccessedDate ? isoTime(e.LastAccessedDate.getTime()) : undefined,
      key: options.fingerprints ? await readVersion(ctx, secret, versionId) : { versionId, keyId },
    };
  });
  ctx.io.stdout.write(formatHistory(buildHistory(secret, versions), options));
  return EXIT.ok;
}
