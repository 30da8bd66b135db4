import { stageHolders } from '../../core/state';
import { confirm } from '../confirm';
import type { Context } from '../context';
import { CliError, EXIT, type ExitCode } from '../errors';
import { describeOutcomes, formatAction } from '../format/outcomes';
import { invokeRevoker } from '../revoker';
import { assertNoRotationInProgress } from '../rotation';
import { loadSecret } from '../secrets';

/**
 * `keyrelay rollback NAME`: moves AWSCURRENT back to the AWSPREVIOUS version through the revoker's `rollback` action,
 * which decides whether the previous key is still valid (its record, on the revoker's clock; the provider's answer)
 * and gives the key it demotes a full grace period. No key value is read here; the on-call policy has no
 * `UpdateSecretVersionStage` and writes no key record.
 */
export async function runRollback(ctx: Context, options: { name: string; json: boolean; yes: boolean }): Promise<ExitCode> {
  const secret = await loadSecret(ctx, options.name);
  assertNoRotationInProgress(secret);
  const { current, previous } = stageHolders(secret.versions);
  if (!previous || !current) {
    throw new CliError('NoPreviousKey', `key '${secret.name}' has no AWSPREVIOUS version to roll back to`, `\`keyrelay history ${secret.name}\` shows its versions`);
  }
  const operator = await ctx.operator();
  await confirm(ctx.io, {
    expected: secret.name,
    yes: options.yes,
    consequence: `Roll back '${secret.name}': the key of version ${previous} becomes current again (if the revoker finds it still valid); the current key (version ${current}) stops being current.`,
  });
  const answer = await invokeRevoker(ctx, secret, { action: 'rollback', secretId: secret.arn, operator });
  ctx.io.stdout.write(formatAction({ action: 'rollback', name: secret.name, operator, done: describeOutcomes(answer.keys), keys: answer.keys }, options));
  return EXIT.ok;
}
