import { describe, expect, it } from 'vitest';
import { managedSecretFrom } from '../../../core/state';
import type { ReplicaState } from '../../../core/replicas';
import { assessKey, withReplicas } from '../../../cli/assess';
import { formatPlan, planKey } from '../../../cli/format/plan';
import { formatStatus, needsAttention } from '../../../cli/format/status';

const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);
const secret = managedSecretFrom({
  $metadata: {},
  ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:payments/api-AbCdEf',
  Name: 'payments/api',
  VersionIdsToStages: { v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] },
  RotationEnabled: true,
  Tags: [
    { Key: 'keyrelay:managed', Value: 'v1' },
    { Key: 'keyrelay:provider', Value: 'reference' },
    { Key: 'keyrelay:grace-period', Value: '3600' },
    { Key: 'keyrelay:replica-regions', Value: 'eu-west-1 us-west-2' },
  ],
});
const inSync: ReplicaState = { region: 'eu-west-1', status: 'InSync', currentVersionId: 'v2', inSync: true };
const lagging: ReplicaState = { region: 'us-west-2', status: 'InProgress', currentVersionId: 'v1', inSync: false, problem: "its AWSCURRENT is version v1, the primary's v2" };

describe('CLI: replicas in status and plan', () => {
  it('status shows each region and asks for attention for a replica out of sync', () => {
    // Act
    const status = withReplicas(assessKey(secret, undefined, NOW), [inSync, lagging]);
    const text = formatStatus({ generatedAt: 'now', keys: [status], alarms: { firing: [] }, broken: [] }, { json: false });
    // Assess
    expect(status.attention.map((a) => a.code)).toEqual(['replica-out-of-sync']);
    expect(needsAttention({ generatedAt: 'now', keys: [status], alarms: { firing: [] }, broken: [] })).toBe(true);
    expect(text).toMatch(/replicas \(rotation runs in the primary region\):/);
    expect(text).toMatch(/payments\/api\s+eu-west-1\s+InSync\s+the primary's key \(version v2\)/);
    expect(text).toMatch(/payments\/api\s+us-west-2\s+InProgress\s+its AWSCURRENT is version v1/);
  });

  it('status of a key without replicas is unchanged', () => {
    const status = assessKey(secret, undefined, NOW);
    expect(withReplicas(status, undefined)).toBe(status);
  });

  it('plan names the regions, the wait for replicas, and a lagging replica as a problem', () => {
    // Act
    const entry = planKey(secret, undefined, [inSync, lagging]);
    const text = formatPlan([entry], { json: false });
    // Assess
    expect(entry.regions).toEqual([
      { region: 'eu-west-1', status: 'InSync', inSync: true },
      { region: 'us-west-2', status: 'InProgress', inSync: false },
    ]);
    expect(text).toMatch(/regions: primary \(rotates\), eu-west-1 \(replica, in sync\), us-west-2 \(replica, InProgress\)/);
    expect(text).toMatch(/copies the new key to eu-west-1, us-west-2; at the deadline, wait until every replica serves it/);
    expect(text).toMatch(/! replica us-west-2 \(InProgress\)/);
  });
});
