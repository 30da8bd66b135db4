import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetResourcePolicyCommand,
  ListSecretsCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { replicaArn } from '../core/replicas';
import { AwsServiceError } from './rotation-service';

/**
 * Secrets Manager replicas in the local AWS. moto replicates at once (a replica is a view of its primary), so nothing
 * would ever lag; the endpoint injects lag instead: {@link LocalReplicas.lag} freezes a region's replicas as they are
 * now, and until {@link LocalReplicas.catchUp} the endpoint answers in that region from the frozen labels
 * (`DescribeSecret`, `ListSecrets`, `GetSecretValue` by stage or by a version the replica does not have yet), and the
 * primary reports the region `InProgress` (or `Failed`) in `ReplicationStatus`. It also answers what moto refuses on a
 * replica and AWS does not: `GetResourcePolicy` (the replica's policy is the primary's copy).
 */

/** How a lagging region's replicas look from the primary. */
export type LagStatus = 'InProgress' | 'Failed';

interface Lag {
  status: LagStatus;
  /** Labels by secret name and by the replica's ARN, as they were when the lag began. */
  frozen: Map<string, Record<string, string[]>>;
}

/** Replica lag injection and replica answers of the local endpoint. See the module comment. */
export class LocalReplicas {
  private readonly lagging = new Map<string, Lag>();

  /** @param moto a client straight to moto for `region` (no principal of the account makes these reads). */
  constructor(private readonly moto: (region: string) => SecretsManagerClient) {}

  /** Regions whose replicas lag now, with their status. */
  state(): Array<{ region: string; status: LagStatus; secrets: number }> {
    return [...this.lagging].map(([region, lag]) => ({ region, status: lag.status, secrets: lag.frozen.size / 2 }));
  }

  /** Freezes every replica in `region` as it is now: later versions and label moves do not reach it until {@link catchUp}. */
  async lag(region: string, status: LagStatus = 'InProgress'): Promise<void> {
    const frozen = new Map<string, Record<string, string[]>>();
    let NextToken: string | undefined;
    do {
      const page = await this.moto(region).send(new ListSecretsCommand({ NextToken, MaxResults: 100 }));
      for (const entry of page.SecretList ?? []) {
        if (!entry.Name || !entry.ARN || !entry.PrimaryRegion || entry.PrimaryRegion === region) continue;
        const labels = entry.SecretVersionsToStages ?? {};
        frozen.set(entry.Name, labels);
        frozen.set(entry.ARN, labels);
      }
      NextToken = page.NextToken;
    } while (NextToken);
    this.lagging.set(region, { status, frozen });
  }

  /** Lets `region`'s replicas catch up: they serve the primary's state again. */
  catchUp(region: string): void {
    this.lagging.delete(region);
  }

  /** The frozen labels of `secretId` (name or ARN) in `region`, when that replica lags. */
  private frozen(region: string, secretId: unknown): Record<string, string[]> | undefined {
    return typeof secretId === 'string' ? this.lagging.get(region)?.frozen.get(secretId) : undefined;
  }

  /** Patches a `DescribeSecret` answer (or a `ListSecrets` entry) given in `region`. */
  patchDescription(region: string, answer: Record<string, unknown>, labelsField: 'VersionIdsToStages' | 'SecretVersionsToStages'): void {
    const labels = this.frozen(region, answer.ARN);
    if (labels) answer[labelsField] = labels;
    const statuses = answer.ReplicationStatus as Array<Record<string, unknown>> | undefined;
    for (const status of statuses ?? []) {
      const lag = this.lagging.get(String(status.Region));
      if (!lag) continue;
      status.Status = lag.status;
      status.StatusMessage = lag.status === 'Failed' ? 'Replication failed: injected by the local stack' : 'Replication in progress';
    }
  }

  /**
   * A `GetSecretValue` input in `region`, as a lagging replica answers it: a stage names the frozen version holding it.
   * @throws AwsServiceError ResourceNotFoundException for a version the replica does not have yet.
   */
  getSecretValueInput(region: string, input: Record<string, unknown>): Record<string, unknown> {
    const labels = this.frozen(region, input.SecretId);
    if (!labels) return input;
    if (typeof input.VersionId === 'string') {
      if (labels[input.VersionId] === undefined) {
        throw new AwsServiceError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${input.VersionId}`);
      }
      return input;
    }
    const stage = typeof input.VersionStage === 'string' ? input.VersionStage : 'AWSCURRENT';
    const version = Object.entries(labels).find(([, stages]) => stages.includes(stage))?.[0];
    if (version === undefined) {
      throw new AwsServiceError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${stage}`);
    }
    // By id alone: moto checks the stage against the primary's labels, which have moved on.
    const { VersionStage: _moved, ...rest } = input;
    return { ...rest, VersionId: version };
  }

  /**
   * `GetResourcePolicy` in `region`: moto refuses it on a replica ("Operation not permitted on a replica secret"), AWS
   * answers the replica's policy, which Secrets Manager copies from the primary.
   * @returns the answer, or undefined when the secret is not a replica here (moto answers it).
   */
  async resourcePolicyOfReplica(region: string, secretId: string): Promise<Record<string, unknown> | undefined> {
    let described: DescribeSecretCommandOutput;
    try {
      described = await this.moto(region).send(new DescribeSecretCommand({ SecretId: secretId }));
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return undefined;
      throw err;
    }
    if (!described.PrimaryRegion || described.PrimaryRegion === region || !described.ARN) return undefined;
    const primary = await this.moto(described.PrimaryRegion).send(
      new GetResourcePolicyCommand({ SecretId: replicaArn(described.ARN, described.PrimaryRegion) }),
    );
    return { ARN: described.ARN, Name: described.Name, ...(primary.ResourcePolicy ? { ResourcePolicy: primary.ResourcePolicy } : {}) };
  }
}
