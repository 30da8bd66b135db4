import { isoTime } from '../../core/clock';
import { formatDuration } from '../../core/duration';
import type { ManagedSecret } from '../../core/state';
import type { ReplicaState } from '../../core/replicas';
import type { RevokerResponse } from '../../lambda/revoker/protocol';
import { json } from './text';

/** What the next rotation of one key will do. */
export interface PlanEntry {
  name: string;
  provider: string;
  /** ISO-8601, when Secrets Manager says. */
  nextRotation?: string;
  /** The provider calls, in order. */
  steps: string[];
  quota?: { used: number; limit: number; headroom: number };
  /** Why the next rotation would fail or not run. */
  problems: string[];
  /** Replicated keys: each replica region, its replication status, and whether it serves the primary's key. */
  regions?: Array<{ region: string; status: string; inSync: boolean }>;
}

/**
 * Builds one key's plan from its state and the revoker's `inspect` answer, or the error inspecting it, and, for a
 * replicated key, its replicas' states (`cli/replicas.ts`). Pure.
 */
export function planKey(
  secret: ManagedSecret,
  inspected: RevokerResponse['inspect'] | { error: string },
  replicas: readonly ReplicaState[] = [],
): PlanEntry {
  const s = secret.settings;
  const problems: string[] = [];
  if (secret.frozen) problems.push(`frozen: ${secret.frozen}`);
  if (!secret.rotationEnabled) problems.push('rotation is not enabled on the secret');
  let quota: PlanEntry['quota'];
  let currentKey = 'the current key';
  if (inspected && 'error' in inspected) {
    problems.push(`cannot inspect the provider: ${inspected.error}`);
  } else if (inspected) {
    problems.push(...inspected.problems);
    if (inspected.quota) quota = { ...inspected.quota, headroom: inspected.quota.limit - inspected.quota.used };
    const current = inspected.keys.find((k) => k.stages.includes('AWSCURRENT'));
    if (current) currentKey = `key ${current.keyId}`;
    const orphans = inspected.keys.filter((k) => k.orphan).length;
    if (orphans > 0) problems.push(`${orphans} orphan key(s) hold quota until the next reconcile sweep revokes them`);
  }
  const grace = formatDuration(s.gracePeriod);
  const steps = [
    `issue a new ${s.provider} key labelled keyrelay/${secret.name}/<token>${quota ? ` (quota ${quota.used}/${quota.limit}, headroom ${quota.headroom})` : ''}`,
    'verify the new key authenticates, then make it AWSCURRENT',
    `keep ${currentKey} valid for ${grace}`,
  ];
  if (replicas.length > 0) {
    steps.push(
      `Secrets Manager copies the new key to ${replicas.map((r) => r.region).join(', ')}; at the deadline, wait until every replica serves it`,
    );
    for (const r of replicas) if (!r.inSync) problems.push(`replica ${r.region} (${r.status}): ${r.problem ?? 'not in sync'}`);
  }
  if (s.usageQuiet !== undefined) {
    steps.push(`hold its revocation while it was used in the last ${formatDuration(s.usageQuiet)} (at most ${formatDuration(s.usageMaxHold ?? 0)} past the deadline)`);
  }
  steps.push(s.observation !== undefined ? `disable it, then delete it ${formatDuration(s.observation)} later` : 'delete it');
  return {
    name: secret.name,
    provider: s.provider,
    nextRotation: secret.nextRotationDate ? isoTime(secret.nextRotationDate.getTime()) : undefined,
    steps,
    quota,
    problems,
    ...(replicas.length > 0 ? { regions: replicas.map((r) => ({ region: r.region, status: r.status, inSync: r.inSync })) } : {}),
  };
}

/** Renders the plan (stdout). Pure. */
export function formatPlan(entries: readonly PlanEntry[], options: { json: boolean }): string {
  if (options.json) return json({ plan: entries });
  const blocks = entries.map((e) => {
    const lines = [`${e.name} (${e.provider}): next rotation ${e.nextRotation ?? 'not scheduled'}`];
    if (e.regions) lines.push(`  regions: primary (rotates), ${e.regions.map((r) => `${r.region} (replica, ${r.inSync ? 'in sync' : r.status})`).join(', ')}`);
    for (const [i, step] of e.steps.entries()) lines.push(`  ${i + 1}. ${step}`);
    for (const p of e.problems) lines.push(`  ! ${p}`);
    return lines.join('\n');
  });
  return `${blocks.join('\n\n') || 'no managed keys found'}\n`;
}
