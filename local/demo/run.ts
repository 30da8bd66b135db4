import { resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { createKeyClient, safetyMargin } from '../../client/index';
import { createRevokerHandler } from '../../lambda/revoker/handler';
import { canaryRuleEvery, loadConfig, type ResolvedConfig, type ResolvedKey } from '../../lib/config';
import { LocalClock } from '../clock';
import { LOCAL_FUNCTIONS, startLocalStack, type LocalStack } from '../stack';
import { armOutage, armSelfHeal, armStraggler } from './acts';
import { cast, currentKey, declaredKeys } from './cast';
import { armEmergency } from './emergency';
import { closeFleetConnections, Fleet } from './fleet';
import { runFor } from './loop';
import { StackObserver } from './observe';
import { DEMO_DEFAULTS, STORY_SPAN_MS, type DemoOptions } from './options';
import { ReplicaAct, REPLICA_REGION, replicatedKey } from './replica';
import { assembleResults } from './results';
import { SelfHealAct, selfHealKey } from './self-heal';
import { demoMetrics, demoRevokerLog } from './signals';
import { DemoRun } from './state';
import type { DemoSummary } from './summary';
import type { Timeline } from './timeline';
import { LiveView } from './view';
import { Warp } from './warp';

/** Options of {@link runDemo}: the CLI knobs plus what a program embedding it needs. */
export interface RunDemoOptions extends Partial<DemoOptions> {
  /** Where the live view or log lines go. @default process.stdout */
  output?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  /** Aborting stops the run early (Ctrl-C); the report is still written. */
  signal?: AbortSignal;
  /** Called with every key value the reference provider issues (tests: the leak guard's `registerSecret`). */
  onIssue?: (apiKey: string) => void;
}

/** What {@link runDemo} returns. */
export interface DemoResult {
  /** 0 when every check passed, else 1. */
  exitCode: 0 | 1;
  summary: DemoSummary;
  timeline: Timeline;
  /** Absolute path of the HTML report. */
  reportPath: string;
  /** The summary as printed. */
  summaryText: string;
  /** True when the run was aborted before its duration. */
  aborted: boolean;
}

/**
 * Runs the demo: the local stack on a sped-up clock, the example config's keys, a fleet of applications using the
 * client library, and the story (scheduled rotations, a provider outage and its recovery, a straggler holding a
 * revocation, an emergency rotation of a leaked key). Writes `<outDir>/demo-report.html` and `demo-summary.json`.
 *
 * Trade-off: everything but moto shares one Node process and event loop with the load generator, so the fleet's
 * largest sustainable size is lower than a real deployment's; the summary reports event-loop delay and skipped
 * requests so a starving generator shows.
 *
 * @example
 * const { exitCode, summary } = await runDemo({ clients: 2, rate: 5, duration: 10 });
 */
export async function runDemo(options: RunDemoOptions = {}): Promise<DemoResult> {
  const opts: DemoOptions = { ...DEMO_DEFAULTS, ...options };
  const speed = opts.speed ?? STORY_SPAN_MS / (opts.duration * 1000);
  const output = options.output ?? process.stdout;
  const config = loadConfig(resolve(opts.configPath));
  const declared = declaredKeys(config.keys, opts.keys);
  const roles = cast(declared);
  // The replica act's key gets a replica (docs/replicas.md); the other acts' keys stay as the config has them.
  const replicated = replicatedKey(declared, [roles.outage, roles.straggler, roles.leaked]);
  const keys = declared.map((k) => (k === replicated ? { ...k, replicaRegions: [REPLICA_REGION] } : k));
  // The self-healing act's key: one with a canary no other act plays (./self-heal.ts).
  const selfHealName = selfHealKey(declared, [roles.outage, roles.straggler, roles.leaked, replicated])?.name;
  const view = new LiveView(output);
  const run = new DemoRun(
    keys.map((k) => k.name),
    speed,
    view,
    selfHealName === undefined ? undefined : new SelfHealAct(selfHealName),
  );
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });

  try {
    run.emit('info', `starting the local stack (moto, reference provider, rotation function, revoker) at ${Math.round(speed)}x`);
    const warp = new Warp(speed);
    const s = await startStack(run, { ...config, keys }, opts, warp, roles.straggler?.name, options.onIssue);
    run.stack = s;
    const sm = s.secretsManager();

    // The story's props: the straggler's and the attacker's copies of the keys they hold.
    const stragglerValue = roles.straggler ? await currentKey(sm, roles.straggler.name) : undefined;
    const leakedValue = roles.leaked ? await currentKey(sm, roles.leaked.name) : undefined;
    sm.destroy();

    const observer = new StackObserver(run, s);
    warp.go();
    run.timeline.start = s.clock.now();
    run.realStart = performance.now();
    observer.events();
    for (const span of run.spans.values()) run.emit('info', `${span.secretName}: first key ${span.keyId} (${span.fingerprint ?? '?'}) is current`, span.secretName);

    if (roles.outage) armOutage(run, s, roles.outage.name);
    const { fleet, ttl } = startFleet(run, s, keys, opts);
    const replicatedKeyNow = keys.find((k) => k.name === replicated?.name);
    if (replicatedKeyNow) {
      run.replica = new ReplicaAct({ stack: s, key: replicatedKeyNow, rate: opts.rate, ttl, emit: run.emit });
      run.replica.arm();
    }
    if (run.selfHeal) armSelfHeal(run, s, run.selfHeal);
    if (roles.straggler && stragglerValue) armStraggler(run, s, roles.straggler, stragglerValue);
    if (roles.leaked && leakedValue) armEmergency(run, s, roles.leaked.name, leakedValue);

    // Run: sample, observe, draw, until the duration has passed or Ctrl-C.
    loopDelay.enable();
    fleet.start();
    run.replica?.start();
    run.straggler?.start((status) => run.emit('straggler', `straggler refused (HTTP ${status}): its key was revoked while in use`, roles.straggler?.name));
    await runFor(run, s, observer, view, opts.duration * 1000, options.signal);

    run.timeline.end = s.clock.now();
    run.stopping = true;
    await fleet.stop();
    await run.replica?.stop();
    await run.straggler?.stop();
    // An emergency still running finishes (it is short); its numbers belong in the summary.
    await run.emergency.run;
    await run.attacker?.stop();
    loopDelay.disable();
    observer.observe();
    run.closed = true;
    view.close();

    const { summary, reportPath } = await assembleResults(run, s, { opts, fleet, leakedName: roles.leaked?.name, loopDelayP99Ms: loopDelay.percentile(99) / 1e6 });
    const summaryText = summary.text;
    output.write(`${summaryText}\nreport: ${reportPath}\n`);
    return { exitCode: summary.passed ? 0 : 1, summary, timeline: run.timeline, reportPath, summaryText, aborted: run.aborted };
  } finally {
    view.close();
    loopDelay.disable();
    await run.fleet?.stop();
    await run.replica?.stop();
    run.replica?.close();
    await run.straggler?.stop();
    await run.attacker?.stop();
    run.fleetSm?.destroy();
    await run.stack?.stop();
    closeFleetConnections();
  }
}

/** Starts the local stack on the warped clock, with the demo's metrics and revoker log wired in. */
function startStack(
  run: DemoRun,
  config: ResolvedConfig,
  opts: DemoOptions,
  warp: Warp,
  stragglerName: string | undefined,
  onIssue: ((apiKey: string) => void) | undefined,
): Promise<LocalStack> {
  const { speed } = run;
  const metrics = demoMetrics(run);
  const revokerLog = demoRevokerLog(run, stragglerName);
  const canaryEvery = canaryRuleEvery(config.keys);
  return startLocalStack({
    // Every key in the config: the local IAM synthesizes their policies once, while moto starts (adding them one by
    // one re-synthesized at each new policy shape: admin secret, replica region).
    config,
    clock: new LocalClock({ speed, realNow: () => warp.now() }),
    seed: opts.seed,
    quota: opts.quota,
    onIssue,
    logger: new Logger({ serviceName: 'keyrelay', logLevel: 'SILENT' }),
    metrics,
    // At most about four sweeps per real second, so a fast clock does not turn the sweep into the load. The sweep
    // matters here: at these speeds a revoker action takes hours of demo time, and a record it writes with a due
    // time already past is left to the sweep (as on AWS).
    reconcileEveryMs: Math.max(config.deploy.reconcileEvery * 1000, speed * 250),
    // The canary rule as deployed, at most once per real second: each run reads every key's value and writes its
    // verdict, about 20 calls to moto, which the fleet and the emergency share.
    canaryEveryMs: canaryEvery === undefined ? 0 : Math.max(canaryEvery * 1000, speed * 1000),
    functions: (deps) => ({
      [LOCAL_FUNCTIONS.revoker]: createRevokerHandler({ ...deps, logger: revokerLog, metrics: metrics.forRevoker() }),
    }),
  });
}

/** The fleet: every app has its own KeyClient; the SDK client is shared and counted. Returns it and the clients' ttl. */
function startFleet(run: DemoRun, s: LocalStack, keys: ResolvedKey[], opts: DemoOptions): { fleet: Fleet; ttl: number } {
  const fleetSm = s.secretsManager();
  run.fleetSm = fleetSm;
  fleetSm.middlewareStack.add(
    (next, context) => (args) => {
      const command = String(context.commandName);
      run.backendCalls[command] = (run.backendCalls[command] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'demoCountCalls' },
  );
  // Half the smallest grace budget (the client fits staleIfError in the other half): at this clock speed the
  // default 300 s would be a check every few real milliseconds per key and app, a hot loop on moto. KeyRotated
  // events (below) bring rotations to the apps at once anyway.
  const minGrace = Math.min(...keys.map((k) => k.gracePeriod));
  const ttl = (minGrace - safetyMargin(minGrace)) / 2;
  for (let i = 0; i < opts.clients; i++) run.clients.push(createKeyClient({ secretsManager: fleetSm, clock: s.clock, ttl }));
  const { selfHeal } = run;
  run.fleet = new Fleet({
    providerUrl: s.providerUrl,
    clients: run.clients,
    keys: run.names,
    rate: opts.rate,
    inEmergency: () => run.emergency.open,
    inSelfHeal: (key) => selfHeal?.owns(key, performance.now()) ?? false,
    onResult: (good, key) => {
      if (!good) return void run.failed++;
      run.ok++;
      selfHeal?.worked(key, s.clock.now(), performance.now());
    },
  });
  return { fleet: run.fleet, ttl };
}
