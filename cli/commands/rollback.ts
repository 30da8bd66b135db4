import { UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { isoTime } from '../../lambda/core/clock';
import { deleteKeyRecords, putKeyRecord, stageHolders } from '../../lambda/core/state';
import { withThrottleRetry } from '../aws';
import { confirm } from '../confirm';
import type { Context } from '../context';
import { CliError, EXIT, type ExitCode } from '../errors';
import { formatAction } from '../format/outcomes';
import { assertNoRotationInProgress } from '../rotation';
import { loadSecret, readVersion } from '../secrets';

/**
 * `keyrelay rollback NAME`: moves AWSCURRENT back to the AWSPREVIOUS version while its key is still valid per its
 * lifecycle record (phase `grace` or `held`). Like finishSecret, the record for the key being demoted is written
 * before the label moves (so it is revoked after a grace period), and the promoted key's record is removed after.
 */
export async function runRollback(ctx: Context, options: { name: string; json: boolean; yes: boolean }): Promise<ExitCode> {
  const secret = await loadSecret(ctx, options.name);
  assertNoRotationInProgress(secret);
  const { current, previous } = stageHolders(secret.versions);
  if (!previous || !current) {
    throw new CliError('NoPreviousKey', `key '${secret.name}' has no AWSPREVIOUS version to roll back to`, `\`keyrelay history ${secret.name}\` shows its versions`);
  }
  const record = secret.records.find((r) => r.versionId === previous);
  if (!record || record.phase === 'revoked' || record.phase === 'disabled') {
    const state = !record ? 'has no lifecycle record, so its validity is unknown' : record.phase === 'revoked' ? 'was revoked' : 'is disabled';
    throw new CliError(
      'PreviousKeyNotValid',
      `key '${secret.name}': the previous version ${previous} ${state}; rolling back would make a dead key current`,
      record?.phase === 'disabled' ? `\`keyrelay restore ${secret.name}\` first, then roll back` : `rotate instead: \`keyrelay rotate ${secret.name}\``,
    );
  }
  const operator = await ctx.operator();
  await confirm(ctx.io, {
    expected: secret.name,
    yes: options.yes,
    consequence: `Roll back '${secret.name}': key ${record.keyId} (valid until ${isoTime(record.due)}) becomes current again; the current key gets a grace period of ${secret.settings.gracePeriod} s.`,
  });
  const demoted = await readVersion(ctx, secret, current);
  const done: string[] = [];
  if (demoted.keyId) {
    const due = ctx.clock.now() + secret.settings.gracePeriod * 1000;
    await withThrottleRetry(ctx.clock, () => putKeyRecord(ctx.clients.sm, secret.arn, { keyId: demoted.keyId as string, phase: 'grace', due, versionId: current, reason: 'rollback' }));
    done.push(`key ${demoted.keyId} (${demoted.fingerprint}) will be revoked after ${isoTime(due)}`);
  } else {
    ctx.progress(`warning: cannot read the current version's key id (${demoted.error}); the reconcile sweep will treat it as an orphan`);
  }
  await withThrottleRetry(ctx.clock, () =>
    ctx.clients.sm.send(new UpdateSecretVersionStageCommand({ SecretId: secret.arn, VersionStage: 'AWSCURRENT', MoveToVersionId: previous, RemoveFromVersionId: current })),
  );
  await withThrottleRetry(ctx.clock, () => deleteKeyRecords(ctx.clients.sm, secret.arn, [record.keyId]));
  done.unshift(`AWSCURRENT moved back to version ${previous} (key ${record.keyId})`);
  ctx.io.stdout.write(formatAction({ action: 'rollback', name: secret.name, operator, done }, options));
  return EXIT.ok;
}
