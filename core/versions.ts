import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { StateError } from './errors';
import { parseSecretValue, type SecretValue } from './secret-value';

/**
 * What one version of a secret holds: a valid value, nothing yet (a rotation's placeholder, or a version Secrets
 * Manager no longer has), or something invalid. An invalid value keeps the parse error and whether it names a key id
 * (a value that names a key may be in use; a new secret's `{}` placeholder does not), never the text itself.
 */
export type VersionValue =
  | { state: 'valid'; value: SecretValue }
  | { state: 'absent' }
  | { state: 'invalid'; problem: string; error: StateError; namesKey: boolean };

/**
 * Reads one version's value, always by `VersionId` (moto answers a stale version when neither VersionId nor
 * VersionStage is given). `ResourceNotFoundException` and an empty value are `absent`. The rotation steps and the
 * revoker both read versions through it, each deciding what an invalid value means to it.
 *
 * @param send runs the AWS call (the rotation steps pass their retry policy). @default - calls it once
 * @example
 * const version = await readVersionValue(sm, secret, holders.current);
 * if (version.state === 'valid') use(version.value.keyId);
 */
export async function readVersionValue(
  sm: SecretsManagerClient,
  secret: { arn: string; name: string },
  versionId: string,
  send: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
): Promise<VersionValue> {
  let text: string | undefined;
  try {
    text = (await send(() => sm.send(new GetSecretValueCommand({ SecretId: secret.arn, VersionId: versionId })))).SecretString;
  } catch (err) {
    if (errorName(err) === 'ResourceNotFoundException') return { state: 'absent' };
    throw err;
  }
  if (text === undefined || text === '') return { state: 'absent' };
  try {
    return { state: 'valid', value: parseSecretValue(text, secret.name) };
  } catch (err) {
    if (err instanceof StateError) return { state: 'invalid', problem: err.message, error: err, namesKey: namesKey(text) };
    throw err;
  }
}

function namesKey(text: string): boolean {
  try {
    const json: unknown = JSON.parse(text);
    return typeof json === 'object' && json !== null && typeof (json as { keyId?: unknown }).keyId === 'string';
  } catch {
    return false;
  }
}

/** The `name` of an SDK (or any) error. */
export function errorName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'name' in err && typeof err.name === 'string' ? err.name : undefined;
}
