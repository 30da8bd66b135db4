import { randomUUID } from 'node:crypto';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { isoTime } from '../../lambda/core/clock';
import { fingerprint, formatSecretValue, SecretValueSchema } from '../../lambda/core/secret-value';
import type { RevokerResponse } from '../../lambda/revoker/protocol';
import { withThrottleRetry } from '../aws';
import { readSecretInput } from '../confirm';
import type { Context } from '../context';
import { CliError, EXIT, toCliError, type ExitCode } from '../errors';
import { formatAction } from '../format/outcomes';
import { invokeRevoker } from '../revoker';
import { assertNoRotationInProgress } from '../rotation';
import { loadSecret } from '../secrets';

/**
 * `keyrelay import NAME --key-id ID`: adopts a key an application already uses. The value comes from stdin or a
 * hidden prompt, never an argument, and is stored as the new AWSCURRENT version in the SecretValue shape. No stored
 * value is read: the revoker's `inspect` (best effort) says which key is current now and whether the provider knows
 * the imported key id.
 */
export async function runImport(ctx: Context, options: { name: string; keyId: string; json: boolean }): Promise<ExitCode> {
  const secret = await loadSecret(ctx, options.name);
  assertNoRotationInProgress(secret);
  const apiKey = await readSecretInput(ctx.io, `API key for '${secret.name}' (input hidden): `);
  const value = SecretValueSchema.safeParse({ apiKey, keyId: options.keyId, provider: secret.settings.provider, issuedAt: isoTime(ctx.clock.now()) });
  if (!value.success) {
    throw new CliError('ImportInvalid', `key '${secret.name}': --key-id must be the provider's id for the key, got '${options.keyId}'`, 'pass the id shown in the provider console');
  }
  const operator = await ctx.operator();
  let inspected: RevokerResponse['inspect'];
  try {
    inspected = (await invokeRevoker(ctx, secret, { action: 'inspect', secretId: secret.arn })).inspect;
  } catch (err) {
    ctx.progress(`warning: could not check the key with the provider (${toCliError(err).message})`);
  }
  const replaced = inspected?.keys.find((k) => k.stages.includes('AWSCURRENT'));
  if (replaced?.keyId === options.keyId) {
    ctx.io.stdout.write(formatAction({ action: 'import', name: secret.name, operator, done: [`key ${options.keyId} is already current; nothing changed`] }, options));
    return EXIT.ok;
  }
  if (inspected && !inspected.keys.some((k) => k.keyId === options.keyId)) {
    ctx.progress(`warning: the provider does not list key ${options.keyId} for this admin credential; check the key id`);
  }
  const versionId = randomUUID();
  await withThrottleRetry(ctx.clock, () =>
    ctx.clients.sm.send(new PutSecretValueCommand({ SecretId: secret.arn, ClientRequestToken: versionId, SecretString: formatSecretValue(value.data), VersionStages: ['AWSCURRENT'] })),
  );
  const done = [`key ${options.keyId} (${fingerprint(apiKey)}) is now AWSCURRENT, version ${versionId}`];
  if (replaced) done.push(`key ${replaced.keyId}, current before, stays valid: revoke it once apps moved with \`keyrelay revoke ${secret.name} --key-id ${replaced.keyId}\``);
  ctx.io.stdout.write(formatAction({ action: 'import', name: secret.name, operator, done }, options));
  return EXIT.ok;
}
