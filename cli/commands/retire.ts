import { CancelRotateSecretCommand, UntagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { stageHolders } from '../../lambda/core/state';
import { withThrottleRetry } from '../aws';
import { confirm } from '../confirm';
import type { Context } from '../context';
import { EXIT, type ExitCode } from '../errors';
import { describeOutcomes, formatAction } from '../format/outcomes';
import { invokeRevoker } from '../revoker';
import { loadSecret } from '../secrets';

/**
 * `keyrelay retire NAME [--hand-over]`: stops managing a key. After a typed confirmation: turns rotation off
 * (`CancelRotateSecret`, which is exactly that), abandons a pending rotation, revokes every recorded old key, revokes
 * the current key too unless `--hand-over` (then the secret keeps it, unmanaged), and removes keyrelay's tags.
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
  const done: string[] = [];
  await withThrottleRetry(ctx.clock, () => ctx.clients.sm.send(new CancelRotateSecretCommand({ SecretId: secret.arn })));
  done.push('automatic rotation turned off');
  const holders = stageHolders(secret.versions);
  if (holders.pending && holders.pending !== holders.current) {
    const answer = await invokeRevoker(ctx, secret, { action: 'cancel', secretId: secret.arn, reason, operator });
    done.push(`pending rotation abandoned`, ...describeOutcomes(answer.keys));
  }
  for (const record of secret.records.filter((r) => r.phase !== 'revoked')) {
    const answer = await invokeRevoker(ctx, secret, { action: 'revokeNow', secretId: secret.arn, keyId: record.keyId, reason, operator });
    done.push(...describeOutcomes(answer.keys));
  }
  if (!options.handOver && holders.current) {
    const answer = await invokeRevoker(ctx, secret, { action: 'revokeWithoutReplacement', secretId: secret.arn, reason, operator, acceptDowntime: true });
    done.push(...describeOutcomes(answer.keys));
  }
  const keys = Object.keys(secret.tags).filter((k) => k.startsWith('keyrelay:'));
  for (let i = 0; i < keys.length; i += 50) {
    const TagKeys = keys.slice(i, i + 50);
    await withThrottleRetry(ctx.clock, () => ctx.clients.sm.send(new UntagResourceCommand({ SecretId: secret.arn, TagKeys })));
  }
  done.push(options.handOver ? 'keyrelay tags removed; the current key is handed over' : 'keyrelay tags removed');
  ctx.io.stdout.write(formatAction({ action: 'retire', name: secret.name, operator, done }, options));
  return EXIT.ok;
}
