import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DEFAULTS, parseDemoArgs } from '../../local/demo/options';
import { runDemo, type DemoResult } from '../../local/demo/run';
import { summarize, type SummaryInput } from '../../local/demo/summary';
import type { Timeline } from '../../local/demo/timeline';
import { registerSecret } from '../support/leak-guard';

// `npm start` in CI's short configuration: the whole story (scheduled rotations, a provider outage and its recovery,
// a straggler holding a revocation, an emergency rotation) with a small fleet, through the programmatic entry.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const out = mkdtempSync(join(tmpdir(), 'keyrelay-demo-'));
const issued: string[] = [];
let printed = '';
let result: DemoResult;

beforeAll(async () => {
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      printed += chunk.toString('utf8');
      done();
    },
  });
  result = await runDemo({
    clients: 2,
    rate: 5,
    duration: 10,
    outDir: out,
    output,
    onIssue: (key) => {
      registerSecret(key);
      issued.push(key);
    },
  });
}, 60_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('Function: runDemo', () => {
  it('plays the whole story with no failed request and exits 0', () => {
    // Assess
    const { summary } = result;
    expect(summary.checks.filter((c) => !c.passed)).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(summary.requests.ok).toBeGreaterThan(50);
    expect(summary.requests.failedOutsideEmergency).toBe(0);
    expect(summary.rotations).toBeGreaterThanOrEqual(5);
    expect(summary.rotationStepFailures).toBeGreaterThanOrEqual(1);
    expect(summary.revocations.held).toBeGreaterThanOrEqual(1);
    expect(summary.revocations.disabled).toBeGreaterThanOrEqual(1);
    expect(summary.emergency).toMatchObject({ secretName: 'ledger/reference-api', ran: true, cliExit: 0 });
    expect(summary.emergency?.leakedKeyRefusedAfterMs).toBeGreaterThan(0);
    expect(summary.orphans).toEqual([]);
    expect(result.summaryText).toContain('exit 0');
  });

  it('replicates one key: its app in the replica region never fails, and the lagging replica holds the old key\'s revocation until it catches up', () => {
    // Assess
    const { replica } = result.summary;
    expect(replica).toMatchObject({ region: 'us-west-2', secretName: 'search/reference-api', failed: 0, revokedAfterCatchUp: true });
    expect(replica?.ok).toBeGreaterThan(5);
    expect(replica?.heldChecks).toBeGreaterThanOrEqual(1);
    expect(result.timeline.events.filter((e) => e.kind === 'replica').map((e) => e.text)).toEqual(
      expect.arrayContaining([expect.stringMatching(/revocation held \(metric ReplicaOutOfSync\)/), expect.stringMatching(/replica caught up/)]),
    );
    expect(result.summaryText).toMatch(/replica app \(us-west-2\)\s+\d+ ok, 0 failed/);
  });

  it('shows the alarm signal, the recovery, the hold and the emergency as plain log lines without a terminal', () => {
    // Assess
    expect(printed).toMatch(/metric RotationStepFailed\{step=createSecret, provider=reference\}/);
    expect(printed).toMatch(/alarm KeyRelay-RotationStepFailed: OK -> ALARM/);
    expect(printed).toMatch(/payments\/reference-api: rotation recovered on attempt \d/);
    expect(printed).toMatch(/billing\/reference-api: key key_\w+ still in use: revocation held/);
    expect(printed).toMatch(/the leaked key sha256:\w+ is refused \(HTTP 401\)/);
    expect(printed).not.toContain('\x1b['); // no ANSI outside a terminal
  });

  it('writes a self-contained HTML report holding the timeline data', () => {
    // Act
    const html = readFileSync(result.reportPath, 'utf8');
    const json = /<script type="application\/json" id="timeline">(.*?)<\/script>/s.exec(html)?.[1];
    const timeline = JSON.parse(json ?? 'null') as Timeline;

    // Assess
    expect(result.reportPath).toBe(join(out, 'demo-report.html'));
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//); // no external asset
    expect(timeline.keys).toHaveLength(5);
    for (const name of timeline.keys) expect(timeline.spans.some((s) => s.secretName === name && s.currentAt !== undefined)).toBe(true);
    expect(timeline.spans.some((s) => s.emergency && s.revokedAt !== undefined)).toBe(true);
    expect(timeline.samples.length).toBeGreaterThan(10);
    expect(timeline.emergency?.secretName).toBe('ledger/reference-api');
    expect(JSON.parse(readFileSync(join(out, 'demo-summary.json'), 'utf8'))).toMatchObject({ passed: true });
  });

  it('never prints or writes key material', () => {
    // Assess
    const html = readFileSync(result.reportPath, 'utf8');
    expect(issued.length).toBeGreaterThan(5);
    for (const key of issued) {
      expect(printed.includes(key)).toBe(false);
      expect(html.includes(key)).toBe(false);
    }
  });
});

describe('Function: summarize', () => {
  const base = (): SummaryInput => ({
    options: { ...DEMO_DEFAULTS, clients: 2 },
    speed: 20_000,
    realSeconds: 10,
    storyMs: 86_400_000,
    rotations: { a: 1 },
    revocations: { revoked: 1, held: 0, disabled: 0 },
    fleet: [0, 0].map(() => ({ ok: 10, failed: 0, refusedAttempts: 0, failedInEmergency: 0, failedInSelfHeal: 0, skipped: 0 })),
    emergency: { secretName: 'a', ran: true, refusedAfterMs: 300, cliExit: 0 },
    orphans: [],
    stepFailures: 0,
    metricCounts: {},
    backendCalls: {},
    peakRss: { self: 1, children: 1 },
    loopDelayP99Ms: 1,
  });

  it('passes one failed request per client during the emergency', () => {
    // Prepare
    const input = base();
    input.fleet = input.fleet.map((a) => ({ ...a, failed: 1, failedInEmergency: 1 }));

    // Act
    const summary = summarize(input);

    // Assess
    expect(summary.passed).toBe(true);
    expect(summary.text).toContain('per client: 1 1');
  });

  it('says the exit status the process really has (130) when the run was interrupted', () => {
    // Prepare
    const input = { ...base(), aborted: true };

    // Act
    const summary = summarize(input);

    // Assess
    expect(summary.text).toContain('interrupted');
    expect(summary.text).toContain('exit 130');
  });

  it.each<[string, (i: SummaryInput) => void]>([
    ['a request failed outside the emergency', (i) => ((i.fleet[0] as { failed: number }).failed = 1)],
    ['a client failed twice in the emergency', (i) => Object.assign(i.fleet[1] as object, { failed: 2, failedInEmergency: 2 })],
    ['the straggler was refused', (i) => (i.straggler = { ok: 5, failed: 1 })],
    ['a key is orphaned', (i) => (i.orphans = ['a key_1'])],
    ['the leaked key was never refused', (i) => (i.emergency = { secretName: 'a', ran: true })],
  ])('fails when %s', (_name, spoil) => {
    // Prepare
    const input = base();
    spoil(input);

    // Act
    const summary = summarize(input);

    // Assess
    expect(summary.passed).toBe(false);
    expect(summary.text).toContain('exit 1');
  });
});

describe('Function: parseDemoArgs', () => {
  it('reads the knobs and derives nothing it was not given', () => {
    // Act
    const options = parseDemoArgs(['--clients', '3', '--rate', '2.5', '--duration', '30', '--keys', '7', '--seed', '4']);

    // Assess
    expect(options).toEqual({ ...DEMO_DEFAULTS, clients: 3, rate: 2.5, duration: 30, keys: 7, seed: 4 });
  });

  it('throws naming the flag and the value when a knob is out of range', () => {
    // Act
    const act = (): unknown => parseDemoArgs(['--keys', '3']);

    // Assess
    expect(act).toThrow("--keys must be a whole number of at least 5, got '3'");
  });
});
