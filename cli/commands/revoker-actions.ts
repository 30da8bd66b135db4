import { stageHolders } from '../../core/state';
import { confirm } from '../confirm';
import type { Context } from '../context';
import { CliError, EXIT, type ExitCode } from '../errors';
import { describeOutcomes, formatAction } from '../format/outcomes';
import { invokeRevoker } from '../revoker';
import { loadSecret } from '../secrets';

/** Options shared by the revoker-backed commands. */
interface Common {
  name: string;
  json: boolean;
  reason?: string;
}

/**
 * `keyrelay revoke NAME --key-id ID --reason ...`: a leaked key that is not current (previous, orphan) is deleted
 * at once, no rotation. The revoker refuses a key AWSCURRENT or AWSPENDING references. Confirmed by typing the name.
 */
export async function runRevoke(ctx: Context, options: Common & { keyId: string; reason: string; yes: boolean }): Promise<ExitCode> {
  const secret = await loadSecret(ctx, options.name);
  const operator = await ctx.operator();
  await confirm(ctx.io, {
    expected: secret.name,
    yes: options.yes,
    consequence: `Revoke key ${options.keyId} of '${secret.name}' now (deleted at the provider, no grace). Anything still using it fails.`,
  });
  const answer = await invokeRevoker(ctx, secret, { action: 'revokeNow', secretId: secret.arn, keyId: options.keyId, reason: options.reason, operator });
  ctx.io.stdout.write(formatAction({ action: 'revoke', name: secret.name, operator, done: describeOutcomes(answer.keys), keys: answer.keys }, options));
  return EXIT.ok;
}

/**
 * `keyrelay cancel NAME`: abandons a stuck rotation through the revoker (AWSPENDING removed, its provider key
 * revoked). Not `CancelRotateSecret`, which would turn rotation off. Nothing pending: says so and exits 0.
 */
export async function runCancel(ctx: Context, options: Common): Promise<ExitCode> {
  const secret = await loadSecret(ctx, options.name);
  const holders = stageHolders(secret.versions);
  if (!holders.pending || holders.pending === holders.current) {
    ctx.progress(`'${secret.name}' has no rotation in progress (no AWSPENDING apart from AWSCURRENT); nothing to cancel`);
    ctx.io.stdout.write(formatAction({ action: 'cancel', name: secret.name, done: [] }, options));
    return EXIT.ok;
  }
  const operator = await ctx.operator();
  const answer = await invokeRevoker(ctx, secret, { action: 'cancel', secretId: secret.arn, reason: options.reason, operator });
  const done = [`AWSPENDING removed from version ${holders.pending}`, ...describeOutcomes(answer.keys)];
  ctx.io.stdout.write(formatAction({ action: 'cancel', name: secret.name, operator, done, keys: answer.keys }, options));
  return EXIT.ok;
}

/**
 * `keyrelay restore NAME [--key-id ID]`: re-enables a disabled key during its observation window (the revocation
 * that broke an app) and pushes its deadline out.
 */
export async function runRestore(ctx: Context, options: Common & { keyId?: string }): Promise<ExitCode> {
  const secret = await loadSecret(ctx, options.name);
  const disabled = secret.records.filter((r) => r.phase === 'disabled');
  if (!options.keyId && disabled.length === 0) {
    throw new CliError('NothingToRestore', `key '${secret.name}' has no disabled key to restore`, `\`keyrelay history ${secret.name}\`: a deleted key cannot come back; \`keyrelay rollback ${secret.name}\` if the previous key is still valid`);
  }
  const operator = await ctx.operator();
  const answer = await invokeRevoker(ctx, secret, { action: 'restore', secretId: secret.arn, keyId: options.keyId, reason: options.reason, operator });
  ctx.io.stdout.write(formatAction({ action: 'restore', name: secret.name, operator, done: describeOutcomes(answer.keys), keys: answer.keys }, options));
  return EXIT.ok;
}
