import { table } from '../../cli/format/text';
import type { AppCounters } from './fleet';
import type { ReplicaResult } from './replica';
import type { TreeRss } from './memory';
import type { DemoOptions } from './options';
import type { SelfHealResult } from './self-heal';
import { humanSpan } from './timeline';

/** Revocation outcomes the revoker reported (each key once). */
export interface RevocationCounts {
  revoked: number;
  /** Checks that found the old key still in use. */
  held: number;
  disabled: number;
}

/** Requests answered 200, and the rest. */
export interface Tally {
  ok: number;
  failed: number;
}

/** What {@link summarize} needs from a finished run. */
export interface SummaryInput {
  options: DemoOptions;
  speed: number;
  realSeconds: number;
  /** Demo-clock ms the fleet ran. */
  storyMs: number;
  /** Rotations after start-up, per key. */
  rotations: Record<string, number>;
  revocations: RevocationCounts;
  fleet: AppCounters[];
  straggler?: Tally;
  /** The replica act: the application in the replica region, and the revocation held for its lagging replica. */
  replica?: ReplicaResult;
  emergency?: { secretName: string; ran: boolean; refusedAfterMs?: number; cliExit?: number };
  /** The self-healing act: a key the provider revoked behind keyrelay's back. */
  selfHeal?: SelfHealResult;
  /** `<secret> <keyId>` of each orphaned provider key. */
  orphans: string[];
  stepFailures: number;
  metricCounts: Record<string, number>;
  /** Secrets Manager calls the fleet's clients made, by command. */
  backendCalls: Record<string, number>;
  peakRss: TreeRss;
  loopDelayP99Ms: number;
  /** Stopped early (Ctrl-C). */
  aborted?: boolean;
}

/** One pass/fail check of the exit status. */
export interface Check {
  name: string;
  passed: boolean;
  detail: string;
}

/** The demo's result in numbers (also `.keyrelay/demo-summary.json`). */
export interface DemoSummary {
  clients: number;
  ratePerClient: number;
  speed: number;
  realSeconds: number;
  storyDays: number;
  rotations: number;
  rotationsByKey: Record<string, number>;
  revocations: RevocationCounts;
  requests: Tally & { failedOutsideEmergency: number; refusedThenRetried: number; skipped: number; perSecond: number };
  straggler?: Tally;
  replica?: ReplicaResult;
  emergency?: { secretName: string; ran: boolean; failedPerClient: number[]; leakedKeyRefusedAfterMs?: number; cliExit?: number };
  /** The key revoked behind keyrelay's back: healed?, how long the apps failed, and how many requests failed. */
  selfHeal?: SelfHealResult & { failed: number };
  orphans: string[];
  rotationStepFailures: number;
  metrics: Record<string, number>;
  backendCalls: { total: number; perRealMinute: number; perClientPerDemoHour: number; byCommand: Record<string, number> };
  peakMemoryMb: { node: number; children: number; total: number };
  eventLoopDelayP99Ms: number;
  checks: Check[];
  passed: boolean;
  /** The summary table as printed. */
  text: string;
}

const mb = (bytes: number): number => Math.round(bytes / 1048576);

/** Computes the summary and the exit checks (pure). */
export function summarize(input: SummaryInput): DemoSummary {
  const sum = (f: (a: AppCounters) => number): number => input.fleet.reduce((n, a) => n + f(a), 0);
  const ok = sum((a) => a.ok) + (input.straggler?.ok ?? 0);
  const failedFleet = sum((a) => a.failed);
  const failedInEmergency = sum((a) => a.failedInEmergency);
  const failedInSelfHeal = sum((a) => a.failedInSelfHeal);
  const failedOutside = failedFleet - failedInEmergency - failedInSelfHeal + (input.straggler?.failed ?? 0);
  const failedPerClient = input.fleet.map((a) => a.failedInEmergency);
  const calls = Object.values(input.backendCalls).reduce((a, b) => a + b, 0);
  const demoHours = input.storyMs / 3_600_000;
  const rotations = Object.values(input.rotations).reduce((a, b) => a + b, 0);
  const e = input.emergency;
  const h = input.selfHeal;

  const checks: Check[] = [
    { name: `no request failed outside the emergency${h ? ' and the self-healing' : ''}`, passed: failedOutside === 0, detail: `${failedOutside} failed` },
    {
      name: 'at most one failed request per client in the emergency',
      passed: failedPerClient.every((n) => n <= 1),
      detail: `worst client: ${Math.max(0, ...failedPerClient)}`,
    },
    { name: 'no orphaned key', passed: input.orphans.length === 0, detail: input.orphans.join(', ') || 'none' },
  ];
  const r = input.replica;
  if (r) checks.push({ name: `no request failed in the replica region (${r.region})`, passed: r.failed === 0, detail: `${r.failed} failed` });
  if (e) {
    checks.push({
      name: 'the leaked key is refused',
      passed: !e.ran || e.refusedAfterMs !== undefined,
      detail: e.ran ? (e.refusedAfterMs === undefined ? 'still accepted' : `after ${e.refusedAfterMs} ms`) : 'the run ended before the emergency',
    });
  }
  if (h) {
    checks.push({
      name: "the key revoked behind keyrelay's back is healed without a human",
      passed: !h.ran || h.healed,
      detail: !h.ran ? 'the run ended before the act' : h.appsFailedForMs === undefined ? (h.healed ? 'rotated, but no request worked again yet' : 'not rotated') : `apps worked again after ${h.appsFailedForMs} ms`,
    });
  }
  const passed = checks.every((c) => c.passed);

  const rows: string[][] = [
    ['fleet', `${input.options.clients} apps x ${input.options.rate} req/s, ${input.realSeconds.toFixed(0)} s real = ${humanSpan(input.storyMs)} of demo time (${Math.round(input.speed)}x)`],
    ['rotations', `${rotations} (${Object.entries(input.rotations).map(([k, n]) => `${k.split('/')[0]} ${n}`).join(', ')})`],
    ['revocations', `${input.revocations.revoked} revoked, ${input.revocations.held} held checks, ${input.revocations.disabled} disabled first`],
    ['requests ok', String(ok)],
    ['requests failed', `${failedFleet + (input.straggler?.failed ?? 0)} (outside the emergency${h ? ' and the self-healing' : ''}: ${failedOutside})`],
    ['refused, retried ok', `${sum((a) => a.refusedAttempts)} (withApiKey refreshed the key and retried)`],
    ['rotation steps failed', `${input.stepFailures} (alarm RotationStepFailed)`],
  ];
  if (input.straggler) rows.push(['straggler (old key)', `${input.straggler.ok} ok, ${input.straggler.failed} failed`]);
  if (r) {
    rows.push([`replica app (${r.region})`, `${r.ok} ok, ${r.failed} failed (${r.secretName}, read in its own region)`]);
    rows.push([
      'replica lag',
      r.lagMs === undefined
        ? 'none (the key did not rotate)'
        : `${humanSpan(r.lagMs)}: revocation held for ${r.heldChecks} revoker check(s) (ReplicaOutOfSync), ${r.revokedAfterCatchUp ? 'revoked after it caught up' : 'not revoked yet'}`,
    ]);
  }
  if (e) {
    rows.push(['emergency failures', e.ran ? `per client: ${failedPerClient.join(' ')}` : 'did not run']);
    rows.push(['leaked key -> 401', e.refusedAfterMs === undefined ? '-' : `${(e.refusedAfterMs / 1000).toFixed(2)} s after the emergency began`]);
  }
  if (h) {
    rows.push([
      'revoked behind our back',
      !h.ran
        ? 'did not run'
        : h.appsFailedForMs === undefined
          ? `${h.secretName}: ${h.healed ? 'rotated' : 'NOT healed'}, ${failedInSelfHeal} requests failed`
          : `${h.secretName}: apps failed for ${(h.appsFailedForMs / 1000).toFixed(2)} s (${humanSpan(h.appsFailedForDemoMs ?? 0)} of demo time), ${failedInSelfHeal} requests failed; healed by the canary, no human`,
    ]);
  }
  rows.push(
    ['orphaned keys', String(input.orphans.length)],
    ['client backend calls', `${calls} (${Math.round((calls / input.realSeconds) * 60)}/min real; ${(calls / input.options.clients / Math.max(demoHours, 1e-9)).toFixed(2)} per app per demo hour)`],
    ['peak memory', `${mb(input.peakRss.self + input.peakRss.children)} MB (node ${mb(input.peakRss.self)} MB + moto and helpers ${mb(input.peakRss.children)} MB)`],
    ['load generator', `${sum((a) => a.skipped)} requests skipped, event-loop delay p99 ${input.loopDelayP99Ms.toFixed(0)} ms`],
  );
  const lines = table(rows).split('\n');
  const verdict = checks.map((c) => `  ${c.passed ? 'PASS' : 'FAIL'}  ${c.name} (${c.detail})`);
  const title = input.aborted ? 'keyrelay demo summary (interrupted: the story is incomplete)' : 'keyrelay demo summary';
  const text = ['', title, ...lines.map((l) => `  ${l}`), ...verdict, `  exit ${input.aborted ? 130 : passed ? 0 : 1}`, ''].join('\n');

  return {
    clients: input.options.clients,
    ratePerClient: input.options.rate,
    speed: input.speed,
    realSeconds: Number(input.realSeconds.toFixed(1)),
    storyDays: Number((input.storyMs / 86_400_000).toFixed(2)),
    rotations,
    rotationsByKey: input.rotations,
    revocations: input.revocations,
    requests: {
      ok,
      failed: failedFleet + (input.straggler?.failed ?? 0),
      failedOutsideEmergency: failedOutside,
      refusedThenRetried: sum((a) => a.refusedAttempts),
      skipped: sum((a) => a.skipped),
      perSecond: Math.round((ok + failedFleet) / input.realSeconds),
    },
    ...(input.straggler ? { straggler: input.straggler } : {}),
    ...(r ? { replica: r } : {}),
    ...(e
      ? { emergency: { secretName: e.secretName, ran: e.ran, failedPerClient, leakedKeyRefusedAfterMs: e.refusedAfterMs, cliExit: e.cliExit } }
      : {}),
    ...(h ? { selfHeal: { ...h, failed: failedInSelfHeal } } : {}),
    orphans: input.orphans,
    rotationStepFailures: input.stepFailures,
    metrics: input.metricCounts,
    backendCalls: {
      total: calls,
      perRealMinute: Math.round((calls / input.realSeconds) * 60),
      perClientPerDemoHour: Number((calls / input.options.clients / Math.max(demoHours, 1e-9)).toFixed(3)),
      byCommand: input.backendCalls,
    },
    peakMemoryMb: { node: mb(input.peakRss.self), children: mb(input.peakRss.children), total: mb(input.peakRss.self + input.peakRss.children) },
    eventLoopDelayP99Ms: Number(input.loopDelayP99Ms.toFixed(1)),
    checks,
    passed,
    text,
  };
}
