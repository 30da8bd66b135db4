import { fingerprint } from '../../core/secret-value';
import { readSecretInput } from '../confirm';
import type { Context } from '../context';
import { EXIT, type ExitCode } from '../errors';
import { describeOutcomes, formatAction } from '../format/outcomes';
import { invokeRevoker } from '../revoker';
import { assertNoRotationInProgress } from '../rotation';
import { loadSecret } from '../secrets';

/**
 * `keyrelay import NAME --key-id ID`: adopts a key an application already uses. The value comes from stdin or a
 * hidden prompt, never an argument, and goes to the revoker's `import` action, which checks it with the provider
 * (it must authenticate, be listed as `ID` for this admin credential, not be another secret's key, act as the same
 * principal) before storing it as the new AWSCURRENT. The on-call policy has no `PutSecretValue`.
 */
export async function runImport(ctx: Context, options: { name: string; keyId: string; json: boolean }): Promise<ExitCode> {
  const secret = await loadSecret(ctx, options.name);
  assertNoRotationInProgress(secret);
  const apiKey = await readSecretInput(ctx.io, `API key for '${secret.name}' (input hidden): `);
  const operator = await ctx.operator();
  const answer = await invokeRevoker(ctx, secret, { action: 'import', secretId: secret.arn, keyId: options.keyId, apiKey, operator });
  const done = [`key ${options.keyId} (${fingerprint(apiKey)}) is now AWSCURRENT`, ...describeOutcomes(answer.keys.slice(1))];
  const replaced = answer.keys[1]?.keyId;
  if (replaced) done.push(`revoke the replaced key once apps moved: \`keyrelay revoke ${secret.name} --key-id ${replaced}\``);
  ctx.io.stdout.write(formatAction({ action: 'import', name: secret.name, operator, done }, options));
  return EXIT.ok;
}
