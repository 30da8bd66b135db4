import { UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { isoTime } from '../../lambda/core/clock';
import { demotionRecord, putKeyRecord, recordOperator, stageHolders } from '../../lambda/core/state';
import { withThrottleRetry } from '../aws';
import { confirm } from '../confirm';
import type { Context } from '../context';
import { CliError, EXIT, toCliError, type ExitCode } from '../errors';
import { formatAction } from '../format/outcomes';
import { invokeRevoker } from '../revoker';
import { assertNoRotationInProgress } from '../rotation';
import { loadSecret } from '../secrets';

/**
 * A previous key whose record is due within this is not rolled back to: the revoker reads the labels before it acts,
 * so a rollback racing a due revocation would make a dead key current.
 */
const DUE_MARGIN_MS = 60_000;

/**
 * `keyrelay rollback NAME`: moves AWSCURRENT back to the AWSPREVIOUS version while its key is still valid per its
 * lifecycle record (phase `grace` or `held`). No key value is read. Before the move it gives the key it demotes a full
 * grace period from now (`demotionRecord`, the same rule as finishSecret): a record left from that key's earlier
 * demotion would otherwise let the revoker delete it early. The demoted key is known from finishSecret's
 * `keyrelay:current` note or a record of the current version; when neither names it, the reconcile sweep gives it a
 * full grace period when it first sees it unreferenced. The revoker leaves the record of the key made current alone.
 */
export async function runRollback(ctx: Context, options: { name: string; json: boolean; yes: boolean }): Promise<ExitCode> {
  const secret = await loadSecret(ctx, options.name);
  assertNoRotationInProgress(secret);
  const { current, previous } = stageHolders(secret.versions);
  if (!previous || !current) {
    throw new CliError('NoPreviousKey', `key '${secret.name}' has no AWSPREVIOUS version to roll back to`, `\`keyrelay history ${secret.name}\` shows its versions`);
  }
  const record = secret.records.find((r) => r.versionId === previous);
  const dueSoon = record !== undefined && record.due <= ctx.clock.now() + DUE_MARGIN_MS;
  if (!record || record.phase === 'revoked' || record.phase === 'disabled' || dueSoon) {
    const state = !record
      ? 'has no lifecycle record, so its validity is unknown'
      : record.phase === 'revoked'
        ? 'was revoked'
        : record.phase === 'disabled'
          ? 'is disabled'
          : `is due for revocation at ${isoTime(record.due)}: the revoker may be revoking it now, or have done so without recording it yet`;
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
    consequence: `Roll back '${secret.name}': key ${record.keyId} (valid until ${isoTime(record.due)}) becomes current again; the current key (version ${current}) stops being current.`,
  });
  const demotedKeyId = secret.currentKey?.versionId === current ? secret.currentKey.keyId : secret.records.find((r) => r.versionId === current)?.keyId;
  const deadline = demotedKeyId === undefined ? undefined : demotionRecord(secret, demotedKeyId, current, ctx.clock.now());
  if (deadline) {
    const written = { ...deadline, reason: 'rollback', by: recordOperator(operator) };
    await withThrottleRetry(ctx.clock, () => putKeyRecord(ctx.clients.sm, secret.arn, written));
  }
  await withThrottleRetry(ctx.clock, () =>
    ctx.clients.sm.send(new UpdateSecretVersionStageCommand({ SecretId: secret.arn, VersionStage: 'AWSCURRENT', MoveToVersionId: previous, RemoveFromVersionId: current })),
  );
  const done = [`AWSCURRENT moved back to version ${previous} (key ${record.keyId})`];
  let demoted = `the key of version ${current}`;
  try {
    const answer = await invokeRevoker(ctx, secret, { action: 'inspect', secretId: secret.arn });
    const key = answer.inspect?.keys.find((k) => k.stages.includes('AWSPREVIOUS'));
    if (key) demoted = `key ${key.keyId}`;
  } catch (err) {
    ctx.progress(`warning: could not ask the revoker which key was demoted (${toCliError(err).message})`);
  }
  done.push(`${demoted} (now AWSPREVIOUS) stays valid for a grace period, then the reconcile sweep revokes it as unreferenced; revoke it now with \`keyrelay revoke ${secret.name} --key-id ID\``);
  ctx.io.stdout.write(formatAction({ action: 'rollback', name: secret.name, operator, done }, options));
  return EXIT.ok;
}
