import { GetResourcePolicyCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { isoTime } from '../../core/clock';
import { describeError } from '../../core/errors';
import { METRICS } from '../../core/metrics';
import { readReplicas, replicaArn, replicaRegionsOf, type ReplicaState } from '../../core/replicas';
import { readManagedSecret, type KeyRecord, type ManagedSecret } from '../../core/state';
import type { RevokerDeps } from './deps';
import { writeRecord, type SecretWork } from './lifecycle';

/**
 * The revoker's side of replicas (docs/revocation.md, "Replicas"): a revocation at its deadline waits until every
 * replica serves the new key ({@link holdForReplicas}); the sweep reports replication failures, replica lag and
 * replica resource policies ({@link sweepReplicas}). Emergencies (`revokeNow`, the immediate reasons) never wait.
 */

/** How soon a revocation held for a lagging replica is checked again. */
export const REPLICA_RECHECK_MS = 5 * 60_000;

/** The replicas' state per piece of work: read once, whatever the number of due records. */
const checked = new WeakMap<SecretWork, Promise<ReplicaState[]>>();

function replicasOf(work: SecretWork): Promise<ReplicaState[]> {
  let found = checked.get(work);
  if (!found) {
    const { deps } = work;
    found = readReplicas(work.state.secret, (region) => regionalClient(deps, region));
    checked.set(work, found);
  }
  return found;
}

/** The deps' client for `region` (the primary's own client for the home region). */
function regionalClient(deps: RevokerDeps, region: string): SecretsManagerClient {
  if (!deps.smIn) throw new Error(`no Secrets Manager client for replica region ${region} (RevokerDeps.smIn)`);
  return deps.smIn(region);
}

/** Seconds a secret's replicas have lagged at most: since the primary last rotated (its `AWSCURRENT` moved). */
function lagSeconds(secret: ManagedSecret, now: number, fallback: number): number {
  return Math.max(0, Math.floor((now - (secret.lastRotatedDate?.getTime() ?? fallback)) / 1000));
}

/**
 * Holds `record`'s revocation while a replica of its secret does not serve the primary's `AWSCURRENT`: the old key
 * would break every app reading that replica. Pushes the record {@link REPLICA_RECHECK_MS} out (phase `held`, its
 * deadline kept as `heldSince`, so a usage hold still counts from it), and emits `ReplicaOutOfSync` and
 * `ReplicaLagSeconds`. No cap: the `ReplicaOutOfSync` alarm calls on-call, who decides (docs/runbook).
 * @returns true when held (nothing more to do now).
 */
export async function holdForReplicas(work: SecretWork, record: KeyRecord): Promise<boolean> {
  const { deps, state } = work;
  if (replicaRegionsOf(state.secret).length === 0) return false;
  const lagging = (await replicasOf(work)).filter((r) => !r.inSync);
  if (lagging.length === 0) return false;
  const now = deps.clock.now();
  const deadline = record.phase === 'held' ? (record.heldSince ?? record.due) : record.due;
  const due = now + REPLICA_RECHECK_MS;
  await writeRecord(work, { ...record, phase: 'held', due, heldSince: deadline });
  deps.metrics.addMetric(METRICS.replicaOutOfSync, 'Count', 1);
  deps.metrics.addMetric(METRICS.replicaLagSeconds, 'Seconds', lagSeconds(state.secret, now, deadline));
  deps.logger.warn('revocation held: a replica does not serve the new key yet; revoking now would break apps reading it', {
    secret: state.secret.name,
    keyId: record.keyId,
    replicas: lagging.map((r) => ({ region: r.region, status: r.status, problem: r.problem })),
    nextCheck: isoTime(due),
  });
  work.outcomes.push({
    secretName: state.secret.name, keyId: record.keyId, outcome: 'held', nextDue: isoTime(due),
    detail: `replica ${lagging.map((r) => r.region).join(', ')} not in sync`,
  });
  return true;
}

/**
 * Why the replica's resource policy does not give what the primary's gives: Secrets Manager copies the policy, but a
 * statement naming the primary's ARN does not apply to the replica (write `"Resource": "*"`).
 * @returns the problem, or undefined when the replica's policy is the primary's and covers the replica.
 */
export function replicaPolicyProblem(primary: string | undefined, replica: string | undefined, arnOfReplica: string): string | undefined {
  const parse = (text: string | undefined): unknown => (text === undefined || text === '' ? undefined : JSON.parse(text));
  const p = parse(primary);
  if (JSON.stringify(p) !== JSON.stringify(parse(replica))) return "the replica's resource policy differs from the primary's";
  const statements = (p as { Statement?: unknown } | undefined)?.Statement;
  for (const s of Array.isArray(statements) ? statements : statements ? [statements] : []) {
    const raw = (s as { Resource?: string | string[] }).Resource;
    const resources = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
    // A statement applies to the replica when one of its resources matches it.
    if (resources.length > 0 && !resources.some((r) => arnPatternMatches(r, arnOfReplica))) {
      return `a statement of its resource policy names ${resources.join(', ')}, not the replica (${arnOfReplica}): write "Resource": "*"`;
    }
  }
  return undefined;
}

function arnPatternMatches(pattern: string, arn: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.split('?').map((c) => c.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('.')).join('.*')}$`);
  return regex.test(arn);
}

async function resourcePolicy(sm: SecretsManagerClient, secretId: string): Promise<string | undefined> {
  return (await sm.send(new GetResourcePolicyCommand({ SecretId: secretId }))).ResourcePolicy;
}

/** What {@link sweepReplicas} found. */
export interface ReplicaSweep {
  /** Replicas whose replication failed, that are missing, or whose resource policy does not match. */
  failed: number;
  /** The longest a replicated secret's replica has not served its `AWSCURRENT`, seconds (0 when all are in sync). */
  lagSeconds: number;
}

/**
 * The sweep's replica check, for each secret the deploy replicates: `DescribeSecret` of the primary (replication is not
 * in `ListSecrets`), of each replica, and `GetResourcePolicy` of both. Emits `ReplicationFailed` and
 * `ReplicaLagSeconds`; logs each problem naming the secret and the region. A secret that cannot be read is a
 * failure of its own (`failed` callback), not of the others.
 */
export async function sweepReplicas(
  deps: RevokerDeps,
  secrets: readonly ManagedSecret[],
  failed: (secret: string, err: unknown) => void,
): Promise<ReplicaSweep> {
  const out: ReplicaSweep = { failed: 0, lagSeconds: 0 };
  const replicated = secrets.filter((s) => s.settings.replicaRegions?.length);
  if (replicated.length === 0) return out;
  for (const listed of replicated) {
    try {
      const secret = await readManagedSecret(deps.sm, listed.arn, deps.trust);
      const replicas = await readReplicas(secret, (region) => regionalClient(deps, region));
      const primaryPolicy = await resourcePolicy(deps.sm, secret.arn);
      for (const replica of replicas) {
        const at = { secret: secret.name, region: replica.region, status: replica.status };
        if (replica.status === 'Failed' || replica.status === 'Missing') {
          out.failed++;
          deps.logger.error('replica not replicated: apps in its region read a key nobody rotates', { ...at, problem: replica.problem });
          continue;
        }
        if (!replica.inSync) {
          out.lagSeconds = Math.max(out.lagSeconds, lagSeconds(secret, deps.clock.now(), deps.clock.now()));
          deps.logger.warn('replica not in sync with the primary', { ...at, problem: replica.problem });
        }
        const arn = replicaArn(secret.arn, replica.region);
        let problem: string | undefined;
        try {
          problem = replicaPolicyProblem(primaryPolicy, await resourcePolicy(regionalClient(deps, replica.region), arn), arn);
        } catch (err) {
          problem = `its resource policy could not be read: ${describeError(err)}`;
        }
        if (problem) {
          out.failed++;
          deps.logger.error('replica resource policy does not match the primary: readers there may be refused', { ...at, problem });
        }
      }
    } catch (err) {
      failed(listed.arn, err);
    }
  }
  deps.metrics.addMetric(METRICS.replicationFailed, 'Count', out.failed);
  deps.metrics.addMetric(METRICS.replicaLagSeconds, 'Seconds', out.lagSeconds);
  return out;
}
