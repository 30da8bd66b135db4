import { readReplicas, type ReplicaState } from '../core/replicas';
import { readManagedSecret, type ManagedSecret } from '../core/state';
import { mapLimit, withThrottleRetry } from './aws';
import type { Context } from './context';
import { toCliError } from './errors';

/**
 * The replicas of replicated keys, for `status` and `plan`: per key, each region's replication status and whether it
 * serves the primary's `AWSCURRENT` (`core/replicas.ts`, the check the revoker makes before revoking). Costs, per
 * replicated key, one `DescribeSecret` of the primary (`ListSecrets` carries no replication status) and one per
 * replica; nothing for other keys.
 * @returns replica states by secret ARN; a key whose replicas could not be read has one entry per region saying why.
 */
export async function replicaStates(ctx: Context, secrets: readonly ManagedSecret[]): Promise<Map<string, ReplicaState[]>> {
  const replicated = secrets.filter((s) => s.settings.replicaRegions?.length);
  const out = new Map<string, ReplicaState[]>();
  await mapLimit(replicated, 4, async (listed) => {
    try {
      const secret = await withThrottleRetry(ctx.clock, () => readManagedSecret(ctx.clients.sm, listed.arn));
      out.set(listed.arn, await readReplicas(secret, (region) => {
        const client = ctx.clients.smIn?.(region);
        if (!client) throw new Error(`no client for region ${region}`);
        return client;
      }));
    } catch (err) {
      const problem = `not read: ${toCliError(err).message}`;
      out.set(listed.arn, (listed.settings.replicaRegions ?? []).map((region) => ({ region, status: 'Unknown', inSync: false, problem })));
    }
  });
  return out;
}

/** One replica as a line of text: `eu-west-1 InSync, serves version 1a2b3c4d` or why not in sync. */
export function describeReplica(r: ReplicaState): string {
  return r.inSync ? `${r.region} ${r.status}, serves version ${(r.currentVersionId ?? '').slice(0, 8)}` : `${r.region} ${r.status}: ${r.problem ?? 'not in sync'}`;
}
