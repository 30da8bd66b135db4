import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Context } from '../../cli/context';
import { runEmergency } from '../../cli/commands/emergency';
import type { CliIo } from '../../cli/io';
import { createKeyClient, handleKeyRotatedEvent, safetyMargin, type KeyClient } from '../../client/index';
import { systemClock } from '../../core/clock';
import { describeError } from '../../core/errors';
import { METRICS } from '../../core/metrics';
import { EVENTS } from '../../core/ports';
import { fingerprint, parseSecretValue } from '../../core/secret-value';
import { labelNamesSecret, providerKeyLabel } from '../../core/state';
import { createRevokerHandler } from '../../lambda/revoker/handler';
import type { KeyOutcome, RevokerResponse } from '../../lambda/revoker/protocol';
import { canaryRuleEvery, loadConfig, type ResolvedKey } from '../../lib/config';
import { LocalClock } from '../clock';
import { LOCAL_CREDENTIALS, LOCAL_FUNCTIONS, LOCAL_REGION, startLocalStack, type LocalStack } from '../stack';
import { closeFleetConnections, Fleet, RawCaller } from './fleet';
import { treeRss } from './memory';
import { DEMO_DEFAULTS, STORY_SPAN_MS, type DemoOptions } from './options';
import { ReplicaAct, REPLICA_REGION, replicatedKey } from './replica';
import { renderReport } from './report';
import { summarize, type DemoSummary } from './summary';
import { humanSpan, RecordingMetrics, RevokerLog, storyTime, type DemoEvent, type KeySpan, type Timeline } from './timeline';
import { SELF_HEAL_AT, SelfHealAct, selfHealKey } from './self-heal';
import { LiveView, type ViewState } from './view';

const DAY = 86_400_000;
/** When, in the story, the leaked key's emergency rotation runs. */
const EMERGENCY_AT = 9.5 * DAY;
/** How long after its revocation is first held the straggler is redeployed (and stops using the old key). */
const STRAGGLER_REDEPLOY_AFTER = DAY;
/** Failed rotation steps after which the provider's outage ends. */
const OUTAGE_FAILED_STEPS = 2;
/** Real ms the emergency window stays open after the old key is revoked: apps holding it get their one failure. */
const EMERGENCY_TAIL_MS = 1000;

/**
 * The clock's real-time source, warped: while the stack starts and the first keys are issued it runs `speed` times
 * slower than real time (so the demo clock moves at real speed: start-up on a loaded machine must not eat days of
 * the story), then at real speed from {@link Warp.go}. Uses only LocalClock's injectable `realNow`.
 */
class Warp {
  private anchorReal = Date.now();
  private anchorValue = this.anchorReal;
  private factor: number;

  constructor(speed: number) {
    this.factor = 1 / speed;
  }

  now(): number {
    return this.anchorValue + (Date.now() - this.anchorReal) * this.factor;
  }

  go(): void {
    this.anchorValue = this.now();
    this.anchorReal = Date.now();
    this.factor = 1;
  }
}

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

/** Who plays which part of the story, picked from the config by settings (any config works; missing parts are skipped). */
interface Cast {
  /** A rate-scheduled key without holds: its first scheduled rotation meets a provider outage. */
  outage?: ResolvedKey;
  /** A key with a usage hold: a straggler keeps its old key in use. */
  straggler?: ResolvedKey;
  /** The key rotating least often (no scheduled rotation before the emergency): leaked. */
  leaked?: ResolvedKey;
}

function cast(keys: ResolvedKey[]): Cast {
  const leaked = [...keys].sort((a, b) => b.schedule.every - a.schedule.every)[0];
  const straggler = keys.find((k) => k.usageHold && k !== leaked);
  const outage = keys.find(
    (k) => k.schedule.kind === 'rate' && !k.usageHold && k.observationWindow === undefined && k !== leaked && k.schedule.every * 1000 < EMERGENCY_AT,
  );
  return { outage, straggler, leaked: leaked && leaked.schedule.every * 1000 > STORY_SPAN_MS ? leaked : undefined };
}

/** The example config's keys, plus copies of the first up to `count`. */
function declaredKeys(configKeys: ResolvedKey[], count: number): ResolvedKey[] {
  const keys = configKeys.slice(0, count);
  const model = configKeys[0];
  for (let i = keys.length; model && i < count; i++) keys.push({ ...model, name: `extra/reference-api-${i + 1}` });
  return keys;
}

async function currentKey(sm: SecretsManagerClient, name: string): Promise<string> {
  const out = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }));
  return parseSecretValue(out.SecretString, name).apiKey;
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
  const names = keys.map((k) => k.name);

  const events: DemoEvent[] = [];
  const spans = new Map<string, KeySpan>();
  const timeline: Timeline = { start: 0, end: 0, speed, keys: names, spans: [], samples: [], events };
  let realStart = performance.now();
  let stack: LocalStack | undefined;
  const now = (): number => stack?.clock.now() ?? Date.now();
  const view = new LiveView(output);
  let closed = false;
  const emit = (kind: DemoEvent['kind'], text: string, secretName?: string): void => {
    if (closed) return; // what the stack's last jobs say while it stops is noise
    const event: DemoEvent = { t: now(), real: Math.round(performance.now() - realStart), kind, text, ...(secretName ? { secretName } : {}) };
    events.push(event);
    view.event(event, timeline.start || event.t);
  };

  // Signals the deployed alarms watch, and the revoker's per-key outcomes.
  let stepFailures = 0;
  let outageFailures = 0;
  let outageOn = false;
  let alarm: 'OK' | 'ALARM' = 'OK';
  const metricCounts: Record<string, number> = {};
  const metrics = new RecordingMetrics((name, dimensions) => {
    metricCounts[name] = (metricCounts[name] ?? 0) + 1;
    if (name !== METRICS.rotationStepFailed) return;
    stepFailures++;
    const running = stack?.rotation.state().find((s) => s.runs.at(-1)?.status === 'running')?.name;
    emit('step-failed', `metric ${name}{step=${dimensions.step ?? '?'}, provider=${dimensions.provider ?? '?'}} = 1`, running);
    if (alarm === 'OK') {
      alarm = 'ALARM';
      emit('alarm', `alarm KeyRelay-RotationStepFailed: OK -> ALARM (on-call paged: a rotation step failed)`, running);
    }
    if (outageOn && ++outageFailures >= OUTAGE_FAILED_STEPS) {
      outageOn = false;
      stack?.provider.faults.clear();
      emit('outage', 'provider key API is back (outage over); Secrets Manager retries the rotation', running);
    }
  });
  const revocations = { revoked: 0, held: 0, disabled: 0 };
  const onOutcomes = (action: string, outcomes: KeyOutcome[]): void => {
    for (const o of outcomes) {
      const span = spans.get(o.keyId);
      const t = now();
      const next = o.nextDue ? `, next step ${storyTime(Date.parse(o.nextDue), timeline.start)}` : '';
      if (o.outcome === 'revoked') {
        // revokeNow writes a due record before deleting: a sweep running meanwhile may delete the key first, and
        // revokeNow then finds it already gone. Either way the key died in the emergency.
        if (span && (action === 'revokeNow' || action === 'canary')) span.emergency = true;
        if (action === 'canary') emit('recovered', `${o.secretName}: the canary found key ${o.keyId} dead, rotated the secret and revoked the key: no human involved`, o.secretName);
        if (span?.revokedAt !== undefined) continue; // already gone: a later sweep or revokeDue confirming it
        replica?.onRevoked(o);
        revocations.revoked++;
        if (span) span.revokedAt = t;
        emit('revoked', `${o.secretName}: key ${o.keyId} revoked (deleted at the provider)`, o.secretName);
      } else if (o.outcome === 'held') {
        revocations.held++;
        if (replica?.onHeld(o)) {
          if (span) span.heldAt ??= t;
          continue;
        }
        if (span && span.heldAt === undefined) {
          span.heldAt = t;
          onHeld(o.secretName, o.keyId);
        }
        emit('held', `${o.secretName}: key ${o.keyId} still in use: revocation held (metric OldKeyInUse)${next}`, o.secretName);
      } else if (o.outcome === 'disabled') {
        if (span?.disabledAt !== undefined) continue;
        revocations.disabled++;
        if (span) span.disabledAt = t;
        emit('disabled', `${o.secretName}: key ${o.keyId} disabled (two-phase: observation window before deletion)${next}`, o.secretName);
      }
    }
  };
  const revokerLog = new RevokerLog(onOutcomes, (level, message, attributes) => {
    if (level === 'error') emit('info', `revoker ${level}: ${message} ${String(attributes.error ?? '')}`.trim(), attributes.secret as string | undefined);
  });

  let fleet: Fleet | undefined;
  let replica: ReplicaAct | undefined;
  let straggler: RawCaller | undefined;
  let attacker: RawCaller | undefined;
  let emergencyRun: Promise<void> | undefined;
  let emergencyOpen = false;
  let leakedRefusedAfterMs: number | undefined;
  let emergencyCliExit: number | undefined;
  let stragglerKeyId: string | undefined;
  const selfHeal = selfHealName === undefined ? undefined : new SelfHealAct(selfHealName);
  const clients: KeyClient[] = [];
  let fleetSm: SecretsManagerClient | undefined;
  const backendCalls: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let peak = { self: 0, children: 0 };
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  let aborted = false;
  let stopping = false;

  const onHeld = (secretName: string, keyId: string): void => {
    if (secretName !== roles.straggler?.name || keyId !== stragglerKeyId || !stack) return;
    stack.clock.at(
      stack.clock.now() + STRAGGLER_REDEPLOY_AFTER,
      async () => {
        await straggler?.stop();
        emit('straggler', `${secretName}: the straggler instance is redeployed and stops using key ${keyId}; the hold ends after the quiet period`, secretName);
      },
      'demo: straggler redeployed',
    );
  };

  try {
    emit('info', `starting the local stack (moto, reference provider, rotation function, revoker) at ${Math.round(speed)}x`);
    const canaryEvery = canaryRuleEvery(keys);
    const warp = new Warp(speed);
    stack = await startLocalStack({
      // Every key in the config: the local IAM synthesizes their policies once, while moto starts (adding them one by
      // one re-synthesized at each new policy shape: admin secret, replica region).
      config: { ...config, keys },
      clock: new LocalClock({ speed, realNow: () => warp.now() }),
      seed: opts.seed,
      quota: opts.quota,
      onIssue: options.onIssue,
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
    const s = stack;
    const sm = s.secretsManager();

    // The story's props: the straggler's and the attacker's copies of the keys they hold.
    const stragglerValue = roles.straggler ? await currentKey(sm, roles.straggler.name) : undefined;
    const leakedValue = roles.leaked ? await currentKey(sm, roles.leaked.name) : undefined;
    sm.destroy();

    const firstKeys = s.events.length;
    warp.go();
    timeline.start = s.clock.now();
    realStart = performance.now();
    let seenEvents = 0;
    const currentOf = new Map<string, string>();
    const rotations: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
    const observeEvents = (): void => {
      const keysById = new Map(s.provider.keys().map((k) => [k.name, k]));
      for (; seenEvents < s.events.length; seenEvents++) {
        const { time, detail } = s.events[seenEvents] as (typeof s.events)[number];
        const info = keysById.get(providerKeyLabel({ arn: detail.secretArn, name: detail.secretName }, detail.versionId));
        const keyId = info?.id ?? `version ${detail.versionId}`;
        const span: KeySpan = spans.get(keyId) ?? { secretName: detail.secretName, keyId, issuedAt: info?.createdAt ?? time };
        span.currentAt = time;
        span.fingerprint = detail.fingerprint;
        spans.set(keyId, span);
        const previous = currentOf.get(detail.secretName);
        const previousSpan = previous ? spans.get(previous) : undefined;
        if (previousSpan) {
          previousSpan.replacedAt = time;
          if (detail.emergency) previousSpan.emergency = true;
        }
        currentOf.set(detail.secretName, keyId);
        selfHeal?.rotated(detail.secretName, performance.now());
        if (seenEvents < firstKeys) continue; // a first key, issued at start-up
        rotations[detail.secretName] = (rotations[detail.secretName] ?? 0) + 1;
        const grace = detail.previousKeyDeadline ? `; old key ${previous ?? ''} stays valid ${humanSpan(Date.parse(detail.previousKeyDeadline) - time)}` : '';
        emit('rotated', `${detail.secretName}: rotated to ${detail.fingerprint} (key ${keyId})${grace}`, detail.secretName);
        // What an app subscribed to KeyRotated does (docs/client.md): drop the cached key at once.
        for (const c of clients) handleKeyRotatedEvent({ source: EVENTS.source, 'detail-type': EVENTS.keyRotated, detail }, c);
        replica?.onKeyRotated(detail);
      }
    };
    observeEvents();
    for (const span of spans.values()) emit('info', `${span.secretName}: first key ${span.keyId} (${span.fingerprint ?? '?'}) is current`, span.secretName);

    // Rotation runs: failed attempts are the rotation function's log lines; a success after failures is the recovery.
    const seenErrors = new Map<string, number>();
    const seenRuns = new Map<string, string>();
    const observeRotations = (): void => {
      for (const r of s.rotation.state()) {
        const run = r.runs.at(-1);
        if (!run) continue;
        const key = `${r.name} ${run.token}`;
        const seen = seenRuns.get(r.name) === run.token ? (seenErrors.get(key) ?? 0) : 0;
        for (const line of run.errors.slice(seen)) emit('step-failed', `rotation log ${r.name}: ${line}`, r.name);
        seenErrors.set(key, run.errors.length);
        const status = `${run.token} ${run.status}`;
        if (seenRuns.get(`${r.name} status`) !== status) {
          seenRuns.set(`${r.name} status`, status);
          if (run.status === 'succeeded' && run.attempts > 1) {
            emit('recovered', `${r.name}: rotation recovered on attempt ${run.attempts}; alarm KeyRelay-RotationStepFailed back to OK`, r.name);
            alarm = 'OK';
          }
          if (run.status === 'failed') emit('step-failed', `${r.name}: rotation gave up after ${run.attempts} attempts`, r.name);
        }
        seenRuns.set(r.name, run.token);
      }
    };

    // Act: the provider's key API goes down as the first scheduled rotation of the outage key starts.
    if (roles.outage) {
      const name = roles.outage.name;
      s.hookOnce(
        'before:createSecret',
        () => {
          outageOn = true;
          s.provider.faults.set({ outage: '503', match: { method: 'POST', path: '/v1/keys' } });
          emit('outage', `provider outage: POST /v1/keys answers 503 while ${name} starts rotating`, name);
        },
        name,
      );
    }

    // The fleet: every app has its own KeyClient; the SDK client is shared and counted.
    fleetSm = s.secretsManager();
    fleetSm.middlewareStack.add(
      (next, context) => (args) => {
        const command = String(context.commandName);
        backendCalls[command] = (backendCalls[command] ?? 0) + 1;
        return next(args);
      },
      { step: 'initialize', name: 'demoCountCalls' },
    );
    // Half the smallest grace budget (the client fits staleIfError in the other half): at this clock speed the
    // default 300 s would be a check every few real milliseconds per key and app, a hot loop on moto. KeyRotated
    // events (below) bring rotations to the apps at once anyway.
    const minGrace = Math.min(...keys.map((k) => k.gracePeriod));
    const ttl = (minGrace - safetyMargin(minGrace)) / 2;
    for (let i = 0; i < opts.clients; i++) clients.push(createKeyClient({ secretsManager: fleetSm, clock: s.clock, ttl }));
    fleet = new Fleet({
      providerUrl: s.providerUrl,
      clients,
      keys: names,
      rate: opts.rate,
      inEmergency: () => emergencyOpen,
      inSelfHeal: (key) => selfHeal?.owns(key, performance.now()) ?? false,
      onResult: (good, key) => {
        if (!good) return void failed++;
        ok++;
        selfHeal?.worked(key, s.clock.now(), performance.now());
      },
    });

    const replicatedName = replicated?.name;
    const replicatedKeyNow = keys.find((k) => k.name === replicatedName);
    if (replicatedKeyNow) {
      replica = new ReplicaAct({ stack: s, key: replicatedKeyNow, rate: opts.rate, ttl, emit });
      replica.arm();
    }

    // Act: the provider revokes a key on its own (a secret-scanning partner's report), without telling keyrelay.
    if (selfHeal) {
      const act = selfHeal;
      s.clock.at(
        timeline.start + SELF_HEAL_AT,
        async () => {
          if (stopping) return;
          const reader = s.secretsManager();
          try {
            const value = await currentKey(reader, act.secretName);
            s.provider.scannerRevoke({ key: value });
            act.revoked(s.clock.now(), performance.now());
            emit('emergency', `${act.secretName}: the provider revoked key ${fingerprint(value)} on its own (found in a public repository) and told nobody; apps using it now fail`, act.secretName);
          } finally {
            reader.destroy();
          }
        },
        'demo: key revoked behind keyrelay\'s back',
      );
    }

    if (roles.straggler && stragglerValue) {
      const quiet = (roles.straggler.usageHold?.quietPeriod ?? 3600) * 1000;
      stragglerKeyId = currentOf.get(roles.straggler.name);
      straggler = new RawCaller(s.providerUrl, stragglerValue, Math.max(5, Math.min(250, quiet / 4 / speed)));
      emit('straggler', `${roles.straggler.name}: a straggler instance holds key ${stragglerKeyId ?? '?'} (${fingerprint(stragglerValue)}) and never refreshes it`, roles.straggler.name);
    }

    if (roles.leaked && leakedValue) {
      const name = roles.leaked.name;
      const leakedFp = fingerprint(leakedValue);
      attacker = new RawCaller(s.providerUrl, leakedValue, 5);
      s.clock.at(
        timeline.start + EMERGENCY_AT,
        () => {
          if (stopping) return; // the run ended first: no half-done emergency
          emergencyRun = (async () => {
            emergencyOpen = true;
            const begun = performance.now();
            timeline.emergency = { secretName: name, start: s.clock.now() };
            emit('emergency', `${name}: key ${leakedFp} leaked: keyrelay rotate --emergency ${name} (the CLI's code path)`, name);
            attacker?.start((status) => {
              leakedRefusedAfterMs = Math.round(performance.now() - begun);
              emit('leak-refused', `${name}: the leaked key ${leakedFp} is refused (HTTP ${status}) ${leakedRefusedAfterMs} ms after the emergency began`, name);
            });
            const line = (text: string): void => {
              for (const l of text.split('\n').filter(Boolean)) emit('emergency', `cli: ${l.trim()}`, name);
            };
            const io: CliIo = {
              stdout: { write: (c: string) => line(c) },
              stderr: { write: (c: string) => line(c) },
              stdin: Readable.from([]),
              env: {
                AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
                AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
                AWS_REGION: LOCAL_REGION,
                USER: 'demo-oncall',
              },
              // The operator's real time: the CLI polls and reports in wall-clock seconds.
              clock: systemClock,
            };
            const ctx = new Context(io, { endpointUrl: s.endpoint, region: LOCAL_REGION, operator: 'demo-oncall' });
            try {
              emergencyCliExit = await runEmergency(ctx, {
                name,
                reason: 'key leaked in a public repository (demo)',
                json: false,
                yes: true,
                withoutReplacement: false,
                timeoutMs: 60_000,
              });
            } catch (err) {
              emergencyCliExit = 1;
              emit('emergency', `cli failed: ${describeError(err)}`, name);
            } finally {
              ctx.clients.sm.destroy();
              ctx.clients.lambda.destroy();
            }
            await new Promise((r) => setTimeout(r, EMERGENCY_TAIL_MS));
            emergencyOpen = false;
            timeline.emergency.end = s.clock.now();
            await attacker?.stop();
          })();
        },
        'demo: emergency rotation',
      );
    }

    // Run: sample, observe, draw, until the duration has passed or Ctrl-C.
    loopDelay.enable();
    fleet.start();
    replica?.start();
    straggler?.start((status) => emit('straggler', `straggler refused (HTTP ${status}): its key was revoked while in use`, roles.straggler?.name));
    const state = (): ViewState => ({
      now: s.clock.now(),
      start: timeline.start,
      speed,
      realMs: performance.now() - realStart,
      durationMs: opts.duration * 1000,
      ok,
      failed,
      rate: rateNow,
      alarm,
      backendCalls: Object.values(backendCalls).reduce((a, b) => a + b, 0),
      keys: names.map((name) => {
        const rot = s.rotation.get(name);
        const run = rot?.runs.at(-1);
        const current = currentOf.get(name);
        const due = s.scheduler.revocations
          .filter((r) => r.secretName === name && r.status === 'scheduled')
          .sort((a, b) => a.due - b.due)[0];
        const dueSpan = due ? spans.get(due.keyId) : undefined;
        const phase = dueSpan?.disabledAt !== undefined ? 'delete' : dueSpan?.heldAt !== undefined ? 'held, recheck' : 'revoke';
        return {
          name,
          step:
            run?.status === 'running'
              ? `rotating (attempt ${run.attempts})`
              : run?.status === 'retrying'
                ? `retrying in ${humanSpan((run.nextAttemptAt ?? 0) - s.clock.now())}`
                : run?.status === 'failed'
                  ? 'rotation FAILED'
                  : `next rotation in ${rot?.nextRotation ? humanSpan(rot.nextRotation - s.clock.now()) : '-'}`,
          fingerprint: current ? (spans.get(current)?.fingerprint ?? '?') : '-',
          rotations: rotations[name] ?? 0,
          deadline: due ? `${phase} ${due.keyId} in ${humanSpan(due.due - s.clock.now())}` : '-',
        };
      }),
    });
    let rateNow = 0;
    let lastSample = { ok: 0, failed: 0, real: 0 };
    let lastMemory = 0;
    await new Promise<void>((resolveRun) => {
      const onAbort = (): void => {
        aborted = true;
        finish();
      };
      const interval = setInterval(() => {
        observeEvents();
        observeRotations();
        const real = performance.now() - realStart;
        if (real - lastSample.real >= 250) {
          const sample = { t: s.clock.now(), real: Math.round(real), ok: ok - lastSample.ok, failed: failed - lastSample.failed };
          timeline.samples.push(sample);
          rateNow = ((sample.ok + sample.failed) * 1000) / (real - lastSample.real);
          lastSample = { ok, failed, real };
        }
        if (real - lastMemory >= 500) {
          lastMemory = real;
          const m = treeRss();
          peak = { self: Math.max(peak.self, m.self), children: Math.max(peak.children, m.children) };
        }
        view.draw(state());
        if (real >= opts.duration * 1000) finish();
      }, 100);
      function finish(): void {
        clearInterval(interval);
        options.signal?.removeEventListener('abort', onAbort);
        resolveRun();
      }
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort);
    });

    timeline.end = s.clock.now();
    stopping = true;
    await fleet.stop();
    await replica?.stop();
    await straggler?.stop();
    // An emergency still running finishes (it is short); its numbers belong in the summary.
    await emergencyRun;
    await attacker?.stop();
    loopDelay.disable();
    observeEvents();
    observeRotations();
    closed = true;
    view.close();

    // Orphans: provider keys labelled for a secret that nothing references and no lifecycle record will revoke.
    const orphans: string[] = [];
    for (const name of names) {
      const answer = (await s.functions.invoke(LOCAL_FUNCTIONS.revoker, { action: 'inspect', secretId: name })) as RevokerResponse;
      for (const k of answer.inspect?.keys ?? []) if (k.orphan) orphans.push(`${name} ${k.keyId}`);
    }
    for (const k of s.provider.keys()) {
      const secretName = names.find((n) => labelNamesSecret(k.name, n));
      const span = spans.get(k.id) ?? (secretName ? { secretName, keyId: k.id, issuedAt: k.createdAt } : undefined);
      if (!span) continue;
      if (k.status === 'deleted') span.revokedAt ??= timeline.end;
      spans.set(k.id, span);
    }
    timeline.spans = [...spans.values()].sort((a, b) => names.indexOf(a.secretName) - names.indexOf(b.secretName) || a.issuedAt - b.issuedAt);

    const realSeconds = (performance.now() - realStart) / 1000;
    const summary = summarize({
      options: opts,
      speed,
      realSeconds,
      storyMs: timeline.end - timeline.start,
      rotations,
      revocations,
      fleet: fleet.apps,
      straggler: straggler ? { ok: straggler.ok, failed: straggler.failed } : undefined,
      replica: replica?.result(),
      emergency: roles.leaked
        ? { secretName: roles.leaked.name, ran: timeline.emergency !== undefined, refusedAfterMs: leakedRefusedAfterMs, cliExit: emergencyCliExit }
        : undefined,
      selfHeal: selfHeal?.summary(),
      orphans,
      stepFailures,
      metricCounts,
      backendCalls,
      peakRss: peak,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      aborted,
    });
    const outDir = resolve(opts.outDir);
    mkdirSync(outDir, { recursive: true });
    const reportPath = join(outDir, 'demo-report.html');
    writeFileSync(reportPath, renderReport(timeline, summary));
    writeFileSync(join(outDir, 'demo-summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    const summaryText = summary.text;
    output.write(`${summaryText}\nreport: ${reportPath}\n`);
    return { exitCode: summary.passed ? 0 : 1, summary, timeline, reportPath, summaryText, aborted };
  } finally {
    view.close();
    loopDelay.disable();
    await fleet?.stop();
    await replica?.stop();
    replica?.close();
    await straggler?.stop();
    await attacker?.stop();
    fleetSm?.destroy();
    await stack?.stop();
    closeFleetConnections();
  }
}

