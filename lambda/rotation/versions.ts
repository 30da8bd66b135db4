import {
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { formatSecretValue, type SecretValue } from '../../core/secret-value';
import type { ManagedSecret } from '../../core/state';
import { readVersionValue, type VersionValue } from '../../core/versions';

/**
 * A per-container cache of secret values by version. Versions are immutable on AWS, so a hit is always right and
 * the four steps of one rotation (run back to back by a warm container) read each version at most once.
 * Only valid values are kept: "no value yet" may change, and so may an invalid value on moto, which overwrites.
 *
 * Trade-off: holds key material in memory for the container's life (it is in memory during the step anyway);
 * bounded to `limit` entries, oldest dropped first.
 */
export class VersionCache {
  private readonly values = new Map<string, SecretValue>();

  /** @param limit most versions kept. @default 64 */
  constructor(private readonly limit = 64) {}

  /** The value of one version, when this container has read or written it. */
  get(secretArn: string, versionId: string): SecretValue | undefined {
    return this.values.get(`${secretArn}\n${versionId}`);
  }

  /** Remembers a valid value (most recent last, so the oldest goes first). */
  set(secretArn: string, versionId: string, value: SecretValue): void {
    const key = `${secretArn}\n${versionId}`;
    this.values.delete(key);
    this.values.set(key, value);
    if (this.values.size > this.limit) {
      const oldest = this.values.keys().next().value;
      if (oldest !== undefined) this.values.delete(oldest);
    }
  }
}

/** Runs one AWS call with the step's retry policy. */
export type Call = <T>(fn: () => Promise<T>) => Promise<T>;

/** Reads one version's value (cache first, then `readVersionValue`); only valid values are cached. */
export async function readVersion(
  sm: SecretsManagerClient,
  call: Call,
  cache: VersionCache,
  secret: ManagedSecret,
  versionId: string,
): Promise<VersionValue> {
  const cached = cache.get(secret.arn, versionId);
  if (cached) return { state: 'valid', value: cached };
  const version = await readVersionValue(sm, secret, versionId, call);
  if (version.state === 'valid') cache.set(secret.arn, versionId, version.value);
  return version;
}

/**
 * Stores `value` as the pending version `token` (ClientRequestToken=token, VersionStages=[AWSPENDING], RotationToken
 * when the event had one). Same token and same value is a no-op at AWS, so retrying a put whose answer was lost is safe.
 */
export async function putPendingVersion(
  sm: SecretsManagerClient,
  call: Call,
  cache: VersionCache,
  secret: ManagedSecret,
  token: string,
  value: SecretValue,
  rotationToken: string | undefined,
): Promise<void> {
  await call(() =>
    sm.send(
      new PutSecretValueCommand({
        SecretId: secret.arn,
        ClientRequestToken: token,
        SecretString: formatSecretValue(value),
        VersionStages: ['AWSPENDING'],
        ...(rotationToken === undefined ? {} : { RotationToken: rotationToken }),
      }),
    ),
  );
  cache.set(secret.arn, token, value);
}

/** Moves AWSCURRENT to `token`; `RemoveFromVersionId` is mandatory while another version holds the label. */
export async function promoteVersion(
  sm: SecretsManagerClient,
  call: Call,
  secret: ManagedSecret,
  token: string,
  currentVersionId: string | undefined,
): Promise<void> {
  await call(() =>
    sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secret.arn,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: token,
        ...(currentVersionId === undefined ? {} : { RemoveFromVersionId: currentVersionId }),
      }),
    ),
  );
}

/**
 * Removes `AWSPENDING` from `token` before it is promoted. Secrets Manager refuses to remove a label from a version
 * that does not hold it (`InvalidParameterException`), which makes this a compare-and-swap against `cancel`.
 */
export async function claimPending(sm: SecretsManagerClient, call: Call, secret: ManagedSecret, token: string): Promise<void> {
  await call(() =>
    sm.send(new UpdateSecretVersionStageCommand({ SecretId: secret.arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: token })),
  );
}
