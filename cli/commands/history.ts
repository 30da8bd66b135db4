import { ListSecretVersionIdsCommand, type SecretVersionsListEntry } from '@aws-sdk/client-secrets-manager';
import { isoTime } from '../../lambda/core/clock';
import { mapLimit, withThrottleRetry } from '../aws';
import type { Context } from '../context';
import { EXIT, type ExitCode } from '../errors';
import { buildHistory, formatHistory, type VersionInfo } from '../format/history';
import { loadSecret, readVersion } from '../secrets';

/**
 * `keyrelay history NAME`: the secret's versions (newest `limit`), each with its key id and fingerprint (values are
 * read to fingerprint them, and dropped), joined with the lifecycle records and the freeze note.
 */
export async function runHistory(ctx: Context, options: { name: string; json: boolean; limit: number }): Promise<ExitCode> {
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
  const versions = await mapLimit(entries.slice(0, options.limit), 4, async (e): Promise<VersionInfo> => {
    const versionId = e.VersionId ?? '?';
    return {
      versionId,
      stages: e.VersionStages ?? [],
      created: e.CreatedDate ? isoTime(e.CreatedDate.getTime()) : undefined,
      lastAccessed: e.LastAccessedDate ? isoTime(e.LastAccessedDate.getTime()) : undefined,
      key: await readVersion(ctx, secret, versionId),
    };
  });
  ctx.io.stdout.write(formatHistory(buildHistory(secret, versions), options));
  return EXIT.ok;
}
