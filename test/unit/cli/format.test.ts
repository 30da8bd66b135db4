import { describe, expect, it } from 'vitest';
import { assessKey } from '../../../cli/assess';
import { resolveClientConfig } from '../../../cli/aws';
import { tagSafe } from '../../../cli/commands/freeze';
import { CliError, toCliError } from '../../../cli/errors';
import { formatError } from '../../../cli/format/error';
import { buildHistory, formatHistory } from '../../../cli/format/history';
import { formatAction } from '../../../cli/format/outcomes';
import { formatPlan, planKey } from '../../../cli/format/plan';
import { formatRotateResults, formatRotationEvent, formatTimeline } from '../../../cli/format/rotate';
import { formatStatus, needsAttention, type StatusReport } from '../../../cli/format/status';
import { table } from '../../../cli/format/text';
import { managedSecretFrom, type KeyRecord } from '../../../core/state';
import { entry, type SecretFixture } from './harness';

const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);
const secret = (f: SecretFixture) => managedSecretFrom({ $metadata: {}, ...entry(f) });
const grace = (keyId: string, versionId: string, dueMs: number): KeyRecord => ({ keyId, phase: 'grace', due: dueMs, versionId });
const current = { versionId: 'v2', keyId: 'k-2', fingerprint: 'sha256:aaaaaaaaaaaa', issuedAt: '2026-11-20T00:00:00Z' };

function report(keys: ReturnType<typeof assessKey>[], alarms: StatusReport['alarms'] = { firing: [] }): StatusReport {
  return { generatedAt: '2026-11-22T10:00:00Z', keys, alarms, broken: [] };
}

describe('Function: assessKey', () => {
  it('reports a healthy key with no attention', () => {
    // Prepare
    const s = secret({ name: 'a/ok', versions: { v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] }, records: [grace('k-1', 'v1', NOW + 3600_000)] });

    // Act
    const status = assessKey(s, current, NOW);

    // Assess
    expect(status.attention).toEqual([]);
    expect(status.previous).toEqual({ versionId: 'v1', record: { keyId: 'k-1', phase: 'grace', due: '2026-11-22T11:00:00Z', versionId: 'v1', reason: undefined } });
  });

  it("shows the fingerprint finishSecret noted, without reading the value, while it still describes AWSCURRENT", () => {
    // Prepare
    const note = { Key: 'keyrelay:current', Value: 'v=v2 key=k-2 fp=sha256:bbbbbbbbbbbb' };
    const fresh = secret({ name: 'a/noted', versions: { v2: ['AWSCURRENT'] }, extraTags: [note] });
    const rolledBack = secret({ name: 'a/rolled', versions: { v1: ['AWSCURRENT'], v2: ['AWSPREVIOUS'] }, extraTags: [note] });

    // Act
    const statuses = [assessKey(fresh, undefined, NOW), assessKey(rolledBack, undefined, NOW)];

    // Assess
    expect(statuses.map((st) => st.current)).toEqual([
      { versionId: 'v2', keyId: 'k-2', fingerprint: 'sha256:bbbbbbbbbbbb' },
      { versionId: 'v1' },
    ]);
  });

  it('flags AWSPENDING on a version that is not AWSCURRENT as a rotation pending', () => {
    // Prepare
    const s = secret({ name: 'a/stuck', versions: { v2: ['AWSCURRENT'], v3: ['AWSPENDING'] } });

    // Act
    const status = assessKey(s, current, NOW);

    // Assess
    expect(status.pending).toEqual({ versionId: 'v3' });
    expect(status.attention.map((a) => a.code)).toEqual(['rotation-pending']);
  });

  it('does not flag AWSPENDING left on the AWSCURRENT version (a finished rotation)', () => {
    // Prepare
    const s = secret({ name: 'a/done', versions: { v2: ['AWSCURRENT', 'AWSPENDING'] } });

    // Act
    const status = assessKey(s, current, NOW);

    // Assess
    expect(status.pending).toBeUndefined();
    expect(status.attention).toEqual([]);
  });

  it('flags keys past their deadline, overdue rotations, frozen and disabled rotation', () => {
    // Prepare
    const s = secret({
      name: 'a/bad',
      versions: { v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] },
      records: [grace('k-1', 'v1', NOW - 3600_000), { keyId: 'k-0', phase: 'revoked', due: NOW - 86_400_000 }],
      nextRotation: new Date(NOW - 2 * 86_400_000),
      frozen: '2026-11-22T09:00:00Z alice: incident',
      rotationEnabled: false,
    });

    // Act
    const codes = assessKey(s, current, NOW).attention.map((a) => a.code);

    // Assess: frozen keys are not also reported overdue; revoked records are never past deadline
    expect(codes).toEqual(['past-deadline', 'frozen', 'rotation-disabled']);
  });

  it('flags an overdue rotation and a missing current version', () => {
    // Prepare
    const s = secret({ name: 'a/none', versions: {}, nextRotation: new Date(NOW - 3 * 86_400_000) });

    // Act
    const codes = assessKey(s, undefined, NOW).attention.map((a) => a.code);

    // Assess
    expect(codes).toEqual(['overdue', 'no-current-key']);
  });
});

describe('Function: formatStatus', () => {
  it('prints a table with fingerprints and an all-ok line', () => {
    // Prepare
    const s = secret({ name: 'payments/api', versions: { v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] }, records: [grace('k-1', 'v1', NOW + 3600_000)] });

    // Act
    const text = formatStatus(report([assessKey(s, current, NOW)]), { json: false });

    // Assess
    expect(text).toMatch(/^KEY\s+PROVIDER\s+CURRENT/);
    expect(text).toContain('payments/api  reference  sha256:aaaaaaaaaaaa (k-2)');
    expect(text).toContain('valid until 2026-11-22T11:00:00Z');
    expect(text).toContain('all 1 key(s) ok');
  });

  it('says who revoked or restored the previous key', () => {
    // Prepare
    const s = secret({
      name: 'payments/api',
      versions: { v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] },
      records: [{ keyId: 'k-1', phase: 'revoked', due: NOW, versionId: 'v1', reason: 'emergency', by: 'ana@example.com' }],
    });

    // Act
    const status = assessKey(s, current, NOW);

    // Assess
    expect(status.previous?.record?.by).toBe('ana@example.com');
    expect(formatStatus(report([status]), { json: false })).toContain('deleted by ana@example.com');
  });

  it('lists what needs attention, firing alarms included', () => {
    // Prepare
    const s = secret({ name: 'a/stuck', versions: { v2: ['AWSCURRENT'], v3: ['AWSPENDING'] } });
    const r = report([assessKey(s, current, NOW)], { firing: [{ name: 'keyrelay-RotationFailed', reason: 'threshold crossed' }] });

    // Act
    const text = formatStatus(r, { json: false });

    // Assess
    expect(needsAttention(r)).toBe(true);
    expect(text).toContain('needs attention:');
    expect(text).toContain('a/stuck: AWSPENDING on version v3');
    expect(text).toContain('alarm keyrelay-RotationFailed is in ALARM: threshold crossed');
  });

  it('prints parseable JSON with an attention flag', () => {
    // Prepare
    const s = secret({ name: 'a/ok' });

    // Act
    const parsed = JSON.parse(formatStatus(report([assessKey(s, current, NOW)], { unavailable: 'denied' }), { json: true }));

    // Assess
    expect(parsed.attention).toBe(false);
    expect(parsed.keys[0]).toMatchObject({ name: 'a/ok', provider: 'reference', current: { fingerprint: 'sha256:aaaaaaaaaaaa' } });
    expect(parsed.alarms).toEqual({ unavailable: 'denied' });
  });

  it('says alarms were not read when DescribeAlarms failed, without calling it attention', () => {
    // Prepare
    const r = report([assessKey(secret({ name: 'a/ok' }), current, NOW)], { unavailable: 'AccessDenied' });

    // Act
    const text = formatStatus(r, { json: false });

    // Assess
    expect(needsAttention(r)).toBe(false);
    expect(text).toContain('alarms: not read (AccessDenied)');
  });
});

describe('Function: planKey', () => {
  it('lists the provider calls, the quota headroom and the problems', () => {
    // Prepare
    const s = managedSecretFrom({
      $metadata: {},
      ...entry({ name: 'a/plan', frozen: '2026-11-22T09:00:00Z bob: outage' }),
      Tags: [...(entry({ name: 'a/plan' }).Tags ?? []), { Key: 'keyrelay:observation', Value: '3600' }, { Key: 'keyrelay:frozen', Value: 'x bob: outage' }],
    });
    const inspect = {
      secretName: 'a/plan',
      provider: 'reference',
      keys: [{ keyId: 'k-9', status: 'active' as const, stages: ['AWSCURRENT'], orphan: false }, { keyId: 'k-8', status: 'active' as const, stages: [], orphan: true }],
      quota: { used: 5, limit: 5 },
      problems: ['quota full: 5 of 5 keys'],
    };

    // Act
    const plan = planKey(s, inspect);
    const text = formatPlan([plan], { json: false });

    // Assess
    expect(plan.quota).toEqual({ used: 5, limit: 5, headroom: 0 });
    expect(plan.steps).toContain('keep key k-9 valid for 1 day');
    expect(plan.steps.at(-1)).toBe('disable it, then delete it 1 hour later');
    expect(plan.problems).toEqual(['frozen: x bob: outage', 'quota full: 5 of 5 keys', '1 orphan key(s) hold quota until the next reconcile sweep revokes them']);
    expect(text).toContain('a/plan (reference): next rotation 2026-11-27T00:00:00Z');
    expect(text).toContain('  ! quota full: 5 of 5 keys');
    expect(JSON.parse(formatPlan([plan], { json: true })).plan[0].name).toBe('a/plan');
  });

  it('reports an inspection that failed as a problem', () => {
    // Act
    const plan = planKey(secret({ name: 'a/down' }), { error: '[ProviderUnavailable] provider down' });

    // Assess
    expect(plan.problems).toEqual(['cannot inspect the provider: [ProviderUnavailable] provider down']);
  });
});

describe('Function: buildHistory', () => {
  it('orders issued, promoted, record and freeze events newest first', () => {
    // Prepare
    const s = secret({
      name: 'a/hist',
      versions: { v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] },
      records: [
        { keyId: 'k-1', phase: 'revoked', due: Date.UTC(2026, 10, 21), versionId: 'v1', reason: 'emergency', by: 'arn:aws:sts::123456789012:assumed-role/OnCall/ana' },
      ],
      lastRotated: new Date(Date.UTC(2026, 10, 20, 12)),
      frozen: '2026-11-22T09:00:00Z alice: incident',
    });
    const versions = [
      { versionId: 'v2', stages: ['AWSCURRENT'], created: '2026-11-20T11:59:00Z', key: { versionId: 'v2', keyId: 'k-2', fingerprint: 'sha256:bbbbbbbbbbbb', issuedAt: '2026-11-20T11:59:00Z' } },
      { versionId: 'v1', stages: ['AWSPREVIOUS'], created: '2026-11-01T00:00:00Z', key: { versionId: 'v1', error: 'not JSON' } },
    ];

    // Act
    const history = buildHistory(s, versions);
    const text = formatHistory(history, { json: false });

    // Assess
    expect(history.events.map((e) => e.event)).toEqual(['frozen', 'revoked', 'promoted', 'issued', 'issued']);
    expect(history.events[0]?.detail).toBe('rotation frozen by alice: incident');
    expect(history.events[1]?.detail).toBe('key k-1: revoked (emergency; by arn:aws:sts::123456789012:assumed-role/OnCall/ana)');
    expect(text).toContain('v1       AWSPREVIOUS  2026-11-01T00:00:00Z  unreadable');
    expect(JSON.parse(formatHistory(history, { json: true })).versions).toHaveLength(2);
  });
});

describe('Function: formatTimeline', () => {
  it('prints the emergency timeline relative to the start', () => {
    // Prepare
    const timeline = {
      name: 'a/leak',
      reason: 'pasted',
      operator: 'alice',
      startedAt: '2026-11-22T10:00:00Z',
      mode: 'rotate-and-revoke' as const,
      steps: [
        { step: 'new key current', atSeconds: 2.44, detail: 'version v9' },
        { step: 'old key revoked', atSeconds: 3.01, detail: 'k-1' },
      ],
    };

    // Act
    const text = formatTimeline(timeline, { json: false });

    // Assess
    expect(text).toBe("emergency for 'a/leak' by alice (pasted), started 2026-11-22T10:00:00Z:\n  T+2.4 s  new key current (version v9)\n  T+3.0 s  old key revoked (k-1)\n");
    expect(JSON.parse(formatTimeline(timeline, { json: true })).steps[1].atSeconds).toBe(3.01);
  });
});

describe('Function: formatRotateResults', () => {
  it('summarises successes and failures with the next step', () => {
    // Act
    const text = formatRotateResults(
      [
        { name: 'a/1', ok: true, versionId: 'v9', seconds: 1.25 },
        { name: 'a/2', ok: false, error: { code: 'SecretFrozen', message: "key 'a/2' is frozen", hint: 'keyrelay unfreeze a/2' } },
      ],
      { json: false },
    );

    // Assess
    expect(text).toContain('a/1  rotated                v9           1.3 s');
    expect(text).toContain('a/2  failed [SecretFrozen]  -');
    expect(text).toContain('next: keyrelay unfreeze a/2');
  });

  it('prints each rotation step with its offset', () => {
    // Act
    const line = formatRotationEvent({ kind: 'current', name: 'a/1', versionId: 'v9', previousVersionId: 'v8', at: NOW + 1500 }, NOW);

    // Assess
    expect(line).toBe('a/1: new key is AWSCURRENT; previous version v8 is AWSPREVIOUS (T+1.5 s)');
  });
});

describe('Function: formatError', () => {
  it('prints code, message, cause and next step, and the stack only with --debug', () => {
    // Prepare
    const err = new CliError('UnknownKey', "key 'x': not found", '`keyrelay status` lists the managed keys', { cause: new Error('socket closed') });

    // Act
    const plain = formatError(err, { debug: false });
    const debug = formatError(err, { debug: true });

    // Assess
    expect(plain).toBe("error [UnknownKey]: key 'x': not found\n  cause: Error: socket closed\n  next: `keyrelay status` lists the managed keys\n");
    expect(plain).not.toMatch(/\bat /);
    expect(debug).toMatch(/\n\s+at /);
  });
});

describe('Function: toCliError', () => {
  it.each([
    [Object.assign(new Error('Secrets Manager can’t find the specified secret.'), { name: 'ResourceNotFoundException' }), 'UnknownKey'],
    [Object.assign(new Error('denied'), { name: 'AccessDeniedException' }), 'AccessDenied'],
    [Object.assign(new Error('slow down'), { name: 'ThrottlingException' }), 'Throttled'],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'EndpointUnreachable'],
    [Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), 'NoCredentials'],
    [new Error('odd'), 'Unexpected'],
  ])('maps %s to a stable code', (err, code) => {
    // Act
    const e = toCliError(err, "key 'x'");

    // Assess
    expect(e.code).toBe(code);
    expect(e.message).toMatch(/^key 'x': /);
    expect(e.hint.length).toBeGreaterThan(5);
  });
});

describe('Function: formatAction', () => {
  it('says nothing to do when nothing was done', () => {
    // Act
    const text = formatAction({ action: 'cancel', name: 'a/1', done: [] }, { json: false });

    // Assess
    expect(text).toBe("cancel 'a/1':\n  nothing to do\n");
  });
});

describe('Function: table / tagSafe', () => {
  it('aligns columns and leaves no trailing spaces', () => {
    // Act
    const text = table([['A', 'BB'], ['ccc', 'd']]);

    // Assess
    expect(text).toBe('A    BB\nccc  d');
  });

  it('makes free text a valid tag value', () => {
    // Act
    const value = tagSafe(`alice: provider's API is "down", INC#42 ${'x'.repeat(300)}`);

    // Assess
    expect(value.startsWith('alice: provider s API is down INC 42')).toBe(true);
    expect(value.length).toBe(256);
  });
});

describe('Function: resolveClientConfig', () => {
  it('takes the endpoint from the flag over AWS_ENDPOINT_URL and defaults a local region', () => {
    // Act
    const local = resolveClientConfig({ env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' } });
    const flag = resolveClientConfig({ endpoint: 'http://localhost:9', region: 'eu-west-1', env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', AWS_REGION: 'us-west-2' } });
    const aws = resolveClientConfig({ env: { AWS_REGION: 'ap-south-1' } });

    // Assess
    expect(local).toEqual({ endpoint: 'http://127.0.0.1:4566', region: 'us-east-1', local: true });
    expect(flag).toEqual({ endpoint: 'http://localhost:9', region: 'eu-west-1', local: true });
    expect(aws).toEqual({ endpoint: undefined, region: 'ap-south-1', local: false });
  });
});
