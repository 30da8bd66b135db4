import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { labelNamesSecret } from '../../core/state';
import type { RevokerResponse } from '../../lambda/revoker/protocol';
import { LOCAL_FUNCTIONS, type LocalStack } from '../stack';
import type { Fleet } from './fleet';
import type { DemoOptions } from './options';
import { renderReport } from './report';
import type { DemoRun } from './state';
import { summarize, type DemoSummary } from './summary';

/** What the run's end hands to {@link assembleResults} besides the run itself. */
export interface ResultsInput {
  opts: DemoOptions;
  fleet: Fleet;
  /** The leaked key's secret, when the story cast one. */
  leakedName?: string;
  loopDelayP99Ms: number;
}

/** The summary and where the report went. */
export interface Results {
  summary: DemoSummary;
  reportPath: string;
}

/**
 * After the story: finds orphaned provider keys, closes the keys' spans, summarizes, and writes
 * `<outDir>/demo-report.html` and `demo-summary.json`.
 */
export async function assembleResults(run: DemoRun, s: LocalStack, input: ResultsInput): Promise<Results> {
  const { opts } = input;
  const { timeline } = run;
  const orphans = await findOrphans(run, s);
  closeSpans(run, s);

  const realSeconds = (performance.now() - run.realStart) / 1000;
  const summary = summarize({
    options: opts,
    speed: run.speed,
    realSeconds,
    storyMs: timeline.end - timeline.start,
    rotations: run.rotations,
    revocations: run.revocations,
    fleet: input.fleet.apps,
    straggler: run.straggler ? { ok: run.straggler.ok, failed: run.straggler.failed } : undefined,
    replica: run.replica?.result(),
    emergency:
      input.leakedName !== undefined
        ? { secretName: input.leakedName, ran: timeline.emergency !== undefined, refusedAfterMs: run.emergency.refusedAfterMs, cliExit: run.emergency.cliExit }
        : undefined,
    selfHeal: run.selfHeal?.summary(),
    orphans,
    stepFailures: run.stepFailures,
    metricCounts: run.metricCounts,
    backendCalls: run.backendCalls,
    peakRss: run.peak,
    loopDelayP99Ms: input.loopDelayP99Ms,
    aborted: run.aborted,
  });
  const outDir = resolve(opts.outDir);
  mkdirSync(outDir, { recursive: true });
  const reportPath = join(outDir, 'demo-report.html');
  writeFileSync(reportPath, renderReport(timeline, summary));
  writeFileSync(join(outDir, 'demo-summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return { summary, reportPath };
}

/** Provider keys labelled for a secret that nothing references and no lifecycle record will revoke. */
async function findOrphans(run: DemoRun, s: LocalStack): Promise<string[]> {
  const orphans: string[] = [];
  for (const name of run.names) {
    const answer = (await s.functions.invoke(LOCAL_FUNCTIONS.revoker, { action: 'inspect', secretId: name })) as RevokerResponse;
    for (const k of answer.inspect?.keys ?? []) if (k.orphan) orphans.push(`${name} ${k.keyId}`);
  }
  return orphans;
}

/** Every provider key of the demo's secrets gets a span, ended where the provider deleted it; sorted for the report. */
function closeSpans(run: DemoRun, s: LocalStack): void {
  const { names, spans, timeline } = run;
  for (const k of s.provider.keys()) {
    const secretName = names.find((n) => labelNamesSecret(k.name, n));
    const span = spans.get(k.id) ?? (secretName ? { secretName, keyId: k.id, issuedAt: k.createdAt } : undefined);
    if (!span) continue;
    if (k.status === 'deleted') span.revokedAt ??= timeline.end;
    spans.set(k.id, span);
  }
  timeline.spans = [...spans.values()].sort((a, b) => names.indexOf(a.secretName) - names.indexOf(b.secretName) || a.issuedAt - b.issuedAt);
}
