import { CancelRotateSecretCommand, UntagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { isoTime } from '../../core/clock';
import { setFrozen } from '../../core/state';
import { withThrottleRetry } from '../aws';
import { confirm } from '../confirm';
import type { Context } from '../context';
import { EXIT, toCliError, type ExitCode } from '../errors';
import { describeOutcomes, formatAction } from '../format/outcomes';
import { invokeRevoker } from '../revoker';
import { loadSecret } from '../secrets';
import { tagSafe } from './freeze';

/**
 * `keyrelay retire NAME [--hand-over]`: stops managing a key. After a typed confirmation: freezes it (no rotation
 * starts meanwhile), then the revoker's `retire` action abandons a pending rotation, revokes every recorded old key
 * and, unless `--hand-over`, the current key too; then turns rotation off (`CancelRotateSecret`, which is exactly that) and removes keyrelay's tags.
 * The on-call policy allows the first part only: without the last two permissions it says to remove the key from
 * keyrelay.config.json and deploy, which does the same.
 */
export async function runRetire(ctx: Context, options: { name: string; json: boolean; yes: boolean; handOver: boolean; reason?: string }): Promise<ExitCode> {
  const secret = await loadSecret(ctx, options.name);
  const operator = await ctx.operator();
  const reason = options.reason ?? 'retired';
  await confirm(ctx.io, {
    expected: secret.name,
    yes: options.yes,
    consequence: options.handOver
      ? `Retire '${secret.name}': stop rotating it and revoke its old keys now; the current key stays in the secret, no longer managed.`
      : `Retire '${secret.name}': stop rotating it and revoke ALL its keys, the current one included. Applications using '${secret.name}' stop working.`,
  });
  await withThrottleRetry(ctx.clock, () => setFrozen(ctx.clients.sm, secret.arn, tagSafe(`${isoTime(ctx.clock.now())} ${operator}: retiring: ${reason}`)));
  const done = ['frozen: no rotation starts while it is retired'];
  // The revoker abandons a pending rotation, revokes every recorded key (through its ownership check) and, unless
  // handed over, the current key.
  const answer = await invokeRevoker(ctx, secret, { action: 'retire', secretId: secret.arn, handOver: options.handOver, reason, operator });
  done.push(...describeOutcomes(answer.keys));
  try {
    await withThrottleRetry(ctx.clock, () => ctx.clients.sm.send(new CancelRotateSecretCommand({ SecretId: secret.arn })));
    const keys = [...Object.keys(secret.tags).filter((k) => k.startsWith('keyrelay:')), 'keyrelay:frozen'];
    for (let i = 0; i < keys.length; i += 50) {
      const TagKeys = [...new Set(keys.slice(i, i + 50))];
      await withThrottleRetry(ctx.clock, () => ctx.clients.sm.send(new UntagResourceCommand({ SecretId: secret.arn, TagKeys })));
    }
    done.push('automatic rotation turned off and keyrelay tags removed', `remove '${secret.name}' from keyrelay.config.json before the next deploy`);
  } catch (err) {
    const e = toCliError(err, `key '${secret.name}'`);
    if (e.code !== 'AccessDenied') throw e;
    done.push(`not allowed to turn rotation off here (${e.code}): remove '${secret.name}' from keyrelay.config.json and deploy to finish`);
  }
  if (options.handOver) done.push('the current key is handed over');
  ctx.io.stdout.write(formatAction({ action: 'retire', name: secret.name, operator, done }, options));
  return EXIT.ok;
}
