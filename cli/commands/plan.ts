import type { ManagedSecret } from '../../core/state';
import { mapLimit } from '../aws';
import type { Context } from '../context';
import { EXIT, toCliError, type ExitCode } from '../errors';
import { formatPlan, planKey } from '../format/plan';
import { invokeRevoker } from '../revoker';
import { replicaStates } from '../replicas';
import { listSecrets, selectSecrets } from '../secrets';

/**
 * `keyrelay plan [NAME...]`: what the next rotation of each key will do (when, which provider calls, quota
 * headroom from the revoker's `inspect`) and any reason it would fail. Exits {@link EXIT.attention} when one would.
 */
export async function runPlan(ctx: Context, options: { names: string[]; json: boolean }): Promise<ExitCode> {
  let secrets: ManagedSecret[];
  if (options.names.length > 0) {
    secrets = await selectSecrets(ctx, { names: options.names });
  } else {
    secrets = [];
    for (const item of await listSecrets(ctx)) {
      if ('secret' in item) secrets.push(item.secret);
      else ctx.progress(`skipping '${item.name}': ${item.error}`);
    }
  }
  const replicas = await replicaStates(ctx, secrets);
  const entries = await mapLimit(secrets, 4, async (secret) => {
    try {
      const answer = await invokeRevoker(ctx, secret, { action: 'inspect', secretId: secret.arn });
      return planKey(secret, answer.inspect, replicas.get(secret.arn));
    } catch (err) {
      const e = toCliError(err);
      return planKey(secret, { error: `[${e.code}] ${e.message}` }, replicas.get(secret.arn));
    }
  });
  ctx.io.stdout.write(formatPlan(entries, options));
  return entries.some((e) => e.problems.length > 0) ? EXIT.attention : EXIT.ok;
}
