/**
 * Figures of the local demo (`npm start`) for docs/benchmarks.md, not run in CI:
 *   npx tsx bench/demo.ts [--duration 60] [--fleets 10,20,40,80,160]
 * Each fleet size runs the whole demo in its own process (`tsx local/demo/main.ts`, default rate 20 req/s per app)
 * so memory figures do not carry over, and reads its `demo-summary.json`. A fleet is "sustained" when the load
 * generator kept up: at least 95 % of the scheduled requests were sent and answered, none was skipped for having
 * too many in flight, and the event loop's p99 delay stayed under 100 ms. The largest sustained size is reported.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DemoSummary } from '../local/demo/summary';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '60' }, fleets: { type: 'string', default: '10,20,40,80,160' }, rate: { type: 'string', default: '20' } },
});
const duration = Number(values.duration);
const rate = Number(values.rate);
const fleets = values.fleets.split(',').map(Number);

interface Row {
  clients: number;
  summary: DemoSummary;
  exit: number;
  wallSeconds: number;
  sentShare: number;
  sustained: boolean;
}

const rows: Row[] = [];
for (const clients of fleets) {
  const out = mkdtempSync(join(tmpdir(), 'keyrelay-demo-bench-'));
  const started = Date.now();
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'local/demo/main.ts', '--clients', String(clients), '--rate', String(rate), '--duration', String(duration), '--out', out],
    { encoding: 'utf8', env: { ...process.env, POWERTOOLS_METRICS_DISABLED: 'true' }, maxBuffer: 64 * 1024 * 1024 },
  );
  const wallSeconds = (Date.now() - started) / 1000;
  let summary: DemoSummary;
  try {
    summary = JSON.parse(readFileSync(join(out, 'demo-summary.json'), 'utf8')) as DemoSummary;
  } catch {
    process.stderr.write(`fleet ${clients}: no summary (exit ${run.status}); stderr: ${run.stderr.slice(-2000)}\n`);
    rmSync(out, { recursive: true, force: true });
    break;
  }
  rmSync(out, { recursive: true, force: true });
  const scheduled = clients * rate * summary.realSeconds;
  const answered = summary.requests.ok + summary.requests.failed - (summary.straggler ? summary.straggler.ok + summary.straggler.failed : 0);
  const sentShare = answered / scheduled;
  const sustained = sentShare >= 0.95 && summary.requests.skipped === 0 && summary.eventLoopDelayP99Ms < 100;
  rows.push({ clients, summary, exit: run.status ?? -1, wallSeconds, sentShare, sustained });
  process.stderr.write(
    `fleet ${clients}: exit ${run.status}, ${summary.requests.ok} ok / ${summary.requests.failed} failed, ${(sentShare * 100).toFixed(1)} % of schedule, ` +
      `p99 loop ${summary.eventLoopDelayP99Ms} ms, skipped ${summary.requests.skipped}, peak ${summary.peakMemoryMb.total} MB\n`,
  );
  if (!sustained) break; // the generator starves from here on: larger fleets only measure the starving
}

const md: string[] = [
  `Demo: ${duration} s real per run (12 days of demo time), ${rate} req/s per app, example config (5 keys). Node ${process.version}, ${process.arch}.`,
  '',
  '| apps | req/s (target) | requests ok | failed (outside / in emergency) | rotations | revocations | leaked key -> 401 | backend calls/min (real) | calls per app per demo hour | peak memory: node + children | loop p99 | sent/scheduled | sustained | exit |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:--:|---:|',
];
for (const r of rows) {
  const s = r.summary;
  const inEmergency = (s.emergency?.failedPerClient ?? []).reduce((a, b) => a + b, 0);
  md.push(
    `| ${r.clients} | ${s.requests.perSecond} (${r.clients * rate}) | ${s.requests.ok} | ${s.requests.failed} (${s.requests.failedOutsideEmergency} / ${inEmergency}) | ${s.rotations} | ${s.revocations.revoked} | ` +
      `${s.emergency?.leakedKeyRefusedAfterMs ?? '-'} ms | ${s.backendCalls.perRealMinute} | ${s.backendCalls.perClientPerDemoHour} | ` +
      `${s.peakMemoryMb.total} MB (${s.peakMemoryMb.node} + ${s.peakMemoryMb.children}) | ${s.eventLoopDelayP99Ms} ms | ${(r.sentShare * 100).toFixed(1)} % | ${r.sustained ? 'yes' : 'no'} | ${r.exit} |`,
  );
}
const largest = rows.filter((r) => r.sustained).at(-1);
md.push('', `Largest sustained fleet: ${largest ? `${largest.clients} apps (${largest.clients * rate} req/s)` : 'none'}.`);
process.stdout.write(`${md.join('\n')}\n`);
