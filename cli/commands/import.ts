import { randomUUID } from 'node:crypto';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { isoTime } from '../../lambda/core/clock';
import { fingerprint, formatSecretValue, SecretValueSchema } from '../../lambda/core/secret-value';
import { putKeyRecord, stageHolders } from '../../lambda/core/state';
import { withThrottleRetry } from '../aws';
import { readSecretInput } from '../confirm';
import type { Context } from '../context';
import { CliError, EXIT, type ExitCode } from '../errors';
import { formatAction } from '../format/outcomes';
import { invokeRevoker } from '../revoker';
import { assertNoRotationInProgress } from '../rotation';
import { loadSecret, readVersion } from '../secrets';

/**
 * `keyrelay import NAME --key-id ID`: adopts a key an application already uses. The value comes from stdin or a
 * hidden prompt, never an argument. It is stored as the new AWSCURRENT version in the SecretValue shape; a valid
 * key it replaces gets a grace record (revoked after the grace period). Asks the revoker whether the provider knows
 * the key id (a warning when it cannot tell).
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
  const done: string[] = [];
  const { current } = stageHolders(secret.versions);
  if (current) {
    const replaced = await readVersion(ctx, secret, current);
    if (replaced.keyId === options.keyId) {
      ctx.io.stdout.write(formatAction({ action: 'import', name: secret.name, operator, done: [`key ${options.keyId} is already current; nothing changed`] }, options));
      return EXIT.ok;
    }
    if (replaced.keyId) {
      const due = ctx.clock.now() + secret.settings.gracePeriod * 1000;
      await withThrottleRetry(ctx.clock, () => putKeyRecord(ctx.clients.sm, secret.arn, { keyId: replaced.keyId as string, phase: 'grace', due, versionId: current, reason: 'import' }));
      done.push(`replaced key ${replaced.keyId} (${replaced.fingerprint}) will be revoked after ${isoTime(due)}`);
    }
  }
  const versionId = randomUUID();
  await withThrottleRetry(ctx.clock, () =>
    ctx.clients.sm.send(new PutSecretValueCommand({ SecretId: secret.arn, ClientRequestToken: versionId, SecretString: formatSecretValue(value.data), VersionStages: ['AWSCURRENT'] })),
  );
  done.unshift(`key ${options.keyId} (${fingerprint(apiKey)}) is now AWSCURRENT, version ${versionId}`);
  try {
    const answer = await invokeRevoker(ctx, secret, { action: 'inspect', secretId: secret.arn });
    if (answer.inspect && !answer.inspect.keys.some((k) => k.keyId === options.keyId)) {
      ctx.progress(`warning: the provider does not list key ${options.keyId} for this admin credential; check the key id`);
    }
  } catch (err) {
    ctx.progress(`warning: could not check the key with the provider (${err instanceof Error ? err.message : String(err)})`);
  }
  ctx.io.stdout.write(formatAction({ action: 'import', name: secret.name, operator, done }, options));
  return EXIT.ok;
}
