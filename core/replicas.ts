import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describeError } from './errors';
import { stageHolders, type ManagedSecret } from './state';

/**
 * Secrets Manager replicas of a managed secret: whether each serves the key the primary serves. Rotation runs in the
 * primary region only; Secrets Manager copies each new version to the replicas, usually within seconds but with no
 * bound. A replica that still serves the old key when that key is revoked breaks every app reading there, so the
 * revoker holds a revocation until {@link readReplicas} says every replica is in sync (docs/revocation.md, "Replicas").
 */

/** A replica that has not served its primary's key for this long raises the `ReplicaOutOfSync` alarm, seconds. */
export const REPLICA_LAG_ALARM_SECONDS = 1800;

/** A Secrets Manager client for a region (the revoker's and the CLI's own credentials and endpoint). */
export type RegionalSecretsManager = (region: string) => SecretsManagerClient;

/** One replica as the primary's side and the replica's own `DescribeSecret` see it. */
export interface ReplicaState {
  region: string;
  /**
   * `ReplicationStatus` as the primary reports it (`InSync`, `InProgress`, `Failed`), or `Missing` when the deploy
   * declares the region but the primary does not replicate there.
   */
  status: string;
  /** AWS's words for the status (why replication failed). */
  message?: string;
  /** The version `AWSCURRENT` labels in the replica, when it could be read. */
  currentVersionId?: string;
  /** Serves the primary's `AWSCURRENT`: status `InSync` and the same `AWSCURRENT` version id. */
  inSync: boolean;
  /** Why not in sync, for logs and `keyrelay status`. */
  problem?: string;
}

/** The replica's ARN: the primary's with the region replaced (a replica keeps the name and its random suffix). */
export function replicaArn(primaryArn: string, region: string): string {
  const parts = primaryArn.split(':');
  if (parts.length < 7 || parts[2] !== 'secretsmanager') return primaryArn;
  parts[3] = region;
  return parts.join(':');
}

/** The regions to check: those the deploy declares and those the primary reports, sorted. */
export function replicaRegionsOf(secret: Pick<ManagedSecret, 'settings' | 'replication'>): string[] {
  return [...new Set([...(secret.settings.replicaRegions ?? []), ...(secret.replication ?? []).map((r) => r.region)])].sort();
}

/**
 * Reads each replica of `secret` (one `DescribeSecret` per region, in parallel) and compares its `AWSCURRENT` with
 * the primary's. `secret` must come from the primary's `DescribeSecret` (its `replication`), not from `ListSecrets`.
 * A replica that cannot be read counts as not in sync (its `problem` says why): a revocation is held rather than
 * risked.
 */
export async function readReplicas(secret: ManagedSecret, clientIn: RegionalSecretsManager): Promise<ReplicaState[]> {
  const primaryCurrent = stageHolders(secret.versions).current;
  return Promise.all(
    replicaRegionsOf(secret).map(async (region): Promise<ReplicaState> => {
      const reported = (secret.replication ?? []).find((r) => r.region === region);
      const base = { region, status: reported?.status ?? 'Missing', ...(reported?.message ? { message: reported.message } : {}) };
      if (!reported) return { ...base, inSync: false, problem: 'the primary does not replicate to this region (add the replica: deploy)' };
      if (reported.status === 'Failed') return { ...base, inSync: false, problem: `replication failed: ${reported.message ?? 'no reason given'}` };
      let currentVersionId: string | undefined;
      try {
        const described = await clientIn(region).send(new DescribeSecretCommand({ SecretId: replicaArn(secret.arn, region) }));
        currentVersionId = stageHolders(described.VersionIdsToStages ?? {}).current;
      } catch (err) {
        return { ...base, inSync: false, problem: `the replica could not be read: ${describeError(err)}` };
      }
      const sameVersion = currentVersionId !== undefined && currentVersionId === primaryCurrent;
      const inSync = reported.status === 'InSync' && sameVersion;
      const problem = inSync
        ? undefined
        : !sameVersion
          ? `its AWSCURRENT is version ${currentVersionId ?? 'none'}, the primary's ${primaryCurrent ?? 'none'}`
          : `replication status ${reported.status}`;
      return { ...base, currentVersionId, inSync, ...(problem ? { problem } : {}) };
    }),
  );
}
