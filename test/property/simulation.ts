import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import fc from 'fast-check';
import { parseSecretValue } from '../../core/secret-value';
import { labelledTokenFor, providerKeyLabel, readManagedSecret, settingsToTags, stageHolders, type KeySettings } from '../../core/state';
import type { FakeFault } from '../support/fake-provider';
import { createRotationHandler, ROTATION_STEPS, type RotationHandler } from '../../lambda/rotation';
import { freeQuota } from '../../lambda/revoker/actions';
import type { RevokerDeps } from '../../lambda/revoker/deps';
import { createRevokerHandler, type RevokerHandler } from '../../lambda/revoker/handler';
import { ORPHAN_MIN_AGE_MS } from '../../lambda/revoker/keys';
import type { RevokerRequest } from '../../lambda/revoker/protocol';
import { FakeClock } from '../support/fake-clock';
import { FakeProvider } from '../support/fake-provider';
import { MemorySecretsManager } from '../support/memory-secrets-manager';
import { RecordingLogger, RecordingMetrics, RecordingScheduler } from '../support/revoker-harness';

/**
 * A model-checking harness for revocation: one or two managed secrets sharing one FakeProvider (a shared quota, as
 * one admin credential), the real rotation steps (lambda/rotation) and the real revoker, all in memory on one
 * FakeClock. Random operations interleave with random faults (provider errors, throttling, a crash before any
 * Secrets Manager call, a crash after issue); after every operation the invariants are checked.
 */

const MIN = 60_000;

/** One operation of a generated run. */
export type Op =
  | { kind: 'rotate'; secret: number }
  | { kind: 'emergency'; secret: number }
  | { kind: 'revokeDue'; secret: number }
  | { kind: 'reconcile'; secret: number | 'all' }
  | { kind: 'cancel'; secret: number }
  | { kind: 'restore'; secret: number }
  | { kind: 'revokeById'; secret: number; pick: number }
  | { kind: 'use'; secret: number; stage: 'AWSCURRENT' | 'AWSPREVIOUS' }
  | { kind: 'advance'; ms: number }
  | { kind: 'providerFault'; fault: FakeFault }
  | { kind: 'smCrash'; afterCalls: number }
  | { kind: 'crashAfterIssue' }
  /** A key labelled for the secret that no rotation will ever store (a lost attempt, a manual change). */
  | { kind: 'strayKey'; secret: number }
  /** Roll back: AWSCURRENT back to the previous version (what `keyrelay rollback` does). */
  | { kind: 'rollback'; secret: number };

/** Settings of one generated scenario. */
export interface Scenario {
  secrets: Array<Pick<KeySettings, 'gracePeriod' | 'usageQuiet' | 'usageMaxHold' | 'observation'>>;
  /** Provider quota beyond two keys per secret. */
  extraQuota: number;
  ops: Op[];
}

const settingsArb = fc.record({
  gracePeriod: fc.constantFrom(3600, 2 * 3600, 6 * 3600),
  usageQuiet: fc.option(fc.constantFrom(600, 1800), { nil: undefined }),
  usageMaxHold: fc.constantFrom(3600, 4 * 3600),
  observation: fc.option(fc.constantFrom(3600, 3 * 3600), { nil: undefined }),
});

function opArb(secrets: number): fc.Arbitrary<Op> {
  const secret = fc.nat({ max: secrets - 1 });
  return fc.oneof(
    { weight: 5, arbitrary: secret.map((s): Op => ({ kind: 'rotate', secret: s })) },
    { weight: 1, arbitrary: secret.map((s): Op => ({ kind: 'emergency', secret: s })) },
    { weight: 3, arbitrary: secret.map((s): Op => ({ kind: 'revokeDue', secret: s })) },
    { weight: 3, arbitrary: fc.oneof(secret, fc.constant('all' as const)).map((s): Op => ({ kind: 'reconcile', secret: s })) },
    { weight: 1, arbitrary: secret.map((s): Op => ({ kind: 'cancel', secret: s })) },
    { weight: 2, arbitrary: secret.map((s): Op => ({ kind: 'restore', secret: s })) },
    { weight: 1, arbitrary: fc.record({ secret, pick: fc.nat(20) }).map((r): Op => ({ kind: 'revokeById', ...r })) },
    { weight: 4, arbitrary: fc.record({ secret, stage: fc.constantFrom('AWSCURRENT' as const, 'AWSPREVIOUS' as const) }).map((r): Op => ({ kind: 'use', ...r })) },
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 8 * 60 }).map((m): Op => ({ kind: 'advance', ms: m * MIN })) },
    {
      weight: 2,
      arbitrary: fc
        .record({
          op: fc.constantFrom('issue' as const, 'revoke' as const, 'list' as const, 'disable' as const, 'enable' as const, 'lastUsed' as const, 'verify' as const),
          error: fc.constantFrom('auth' as const, 'throttled' as const, 'unavailable' as const),
          times: fc.integer({ min: 1, max: 6 }),
        })
        .map((fault): Op => ({ kind: 'providerFault', fault })),
    },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 12 }).map((n): Op => ({ kind: 'smCrash', afterCalls: n })) },
    { weight: 1, arbitrary: fc.constant<Op>({ kind: 'crashAfterIssue' }) },
    { weight: 1, arbitrary: secret.map((s): Op => ({ kind: 'strayKey', secret: s })) },
    { weight: 1, arbitrary: secret.map((s): Op => ({ kind: 'rollback', secret: s })) },
  );
}

/** Scenarios: one or two secrets, random settings, up to `maxOps` operations. */
export function scenarioArb(maxOps = 24): fc.Arbitrary<Scenario> {
  return fc.integer({ min: 1, max: 2 }).chain((n) =>
    fc.record({
      secrets: fc.array(settingsArb, { minLength: n, maxLength: n }),
      extraQuota: fc.nat(2),
      ops: fc.array(opArb(n), { minLength: Math.min(8, maxOps), maxLength: maxOps }),
    }),
  );
}

// The steps make a child logger per invocation; a real Powertools Logger costs more than the rest of a run.
const quietLogger = {
  createChild: () => quietLogger,
  appendKeys: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as unknown as Logger;

class InjectedCrash extends Error {
  constructor(call: string) {
    super(`injected crash before ${call}`);
    this.name = 'InjectedCrash';
  }
}

interface SecretUnderTest {
  name: string;
  arn: string;
  settings: KeySettings;
}

/** A failed invariant: what was checked, after which operation. */
export class InvariantViolation extends Error {}

/** What the generated runs exercised (printed, so a vacuous run shows). */
export const stats = { operations: 0, failed: 0, revoked: 0, disabled: 0, held: 0, restored: 0, orphans: 0, emergencies: 0, cancelled: 0 };

/** Runs one scenario, checking the invariants after every operation. @throws InvariantViolation */
export async function runScenario(scenario: Scenario): Promise<void> {
  const clock = new FakeClock(Date.UTC(2026, 10, 22), true);
  const sm = new MemorySecretsManager(clock);
  const provider = new FakeProvider(clock, scenario.secrets.length * 2 + scenario.extraQuota);
  const scheduler = new RecordingScheduler();
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  const revokerDeps: RevokerDeps = {
    sm: sm.client, provider: async () => provider, clock, scheduler, logger, metrics, random: () => 0.5,
  };
  const revoker: RevokerHandler = createRevokerHandler(revokerDeps);
  const rotationMetrics = {
    singleMetric() {
      const m = { addDimensions: () => m, addMetric: () => m };
      return m;
    },
  } as unknown as Metrics;
  const rotation: RotationHandler = createRotationHandler({
    sm: sm.client,
    provider: async () => provider,
    clock,
    scheduler,
    events: { keyRotated: async () => undefined },
    logger: quietLogger,
    metrics: rotationMetrics,
    retry: { random: () => 0.5 },
    onQuotaFull: (secret, p) => freeQuota(revokerDeps, secret, p),
  });

  const secrets: SecretUnderTest[] = scenario.secrets.map((s, i) => {
    const settings: KeySettings = { provider: 'fake', providerSettings: {}, rotateEvery: 86_400, ...s };
    const name = `app/key-${i}`;
    return { name, arn: sm.create(name, settingsToTags(settings)), settings };
  });
  let tokens = 0;
  /** Last time each key was referenced by AWSCURRENT/AWSPENDING, or restored. */
  const lastNeeded = new Map<string, number>();
  /** Keys an operator revoked on purpose (emergency, revoke by id): exempt from the grace invariant. */
  const revokedOnPurpose = new Set<string>();
  /** A restored key's pushed-out deadline (the promise a successful restore makes). */
  const restoredUntil = new Map<string, number>();
  /** Until when a key a restore was attempted on may legitimately be alive (a restore can fail after enabling). */
  const mayComeBackUntil = new Map<string, number>();
  /** Keys ever referenced by AWSCURRENT (applications may hold them). */
  const everCurrent = new Set<string>();
  /** Keys seen active, for the grace invariant. */
  const seenActive = new Set<string>();
  /** When a completed sweep first saw each key unreferenced. */
  const firstSwept = new Map<string, number>();

  const referenced = (s: SecretUnderTest): Map<string, string> => {
    const out = new Map<string, string>();
    for (const stage of ['AWSCURRENT', 'AWSPENDING']) {
      const text = sm.valueAt(s.arn, stage);
      const keyId = text ? parseSecretValue(text, s.name).keyId : undefined;
      if (keyId && !out.has(keyId)) out.set(keyId, stage);
    }
    return out;
  };

  const rotate = async (s: SecretUnderTest): Promise<boolean> => {
    const { current, pending } = stageHolders(sm.stages(s.arn));
    const token = pending !== undefined && pending !== current ? pending : `t${++tokens}`;
    if (token !== pending) sm.startRotation(s.arn, token);
    for (const Step of ROTATION_STEPS) await rotation({ Step, SecretId: s.arn, ClientRequestToken: token });
    return true;
  };

  const invoke = async (request: RevokerRequest) => {
    const response = await revoker(request);
    for (const k of response.keys) {
      if (k.outcome === 'revoked' || k.outcome === 'disabled' || k.outcome === 'held' || k.outcome === 'restored') stats[k.outcome]++;
    }
    return response;
  };

  const check = async (op: Op, index: number, completed: boolean): Promise<void> => {
    const where = `after op #${index} ${JSON.stringify(op)}`;
    const now = clock.now();
    if (provider.quota !== undefined && provider.alive().length > provider.quota) {
      throw new InvariantViolation(`${where}: ${provider.alive().length} keys exist, quota ${provider.quota}`);
    }
    // No outage: a key applications may hold dies no sooner than a grace period after it stopped being current.
    for (const key of provider.keys.values()) {
      if (key.status === 'active') {
        seenActive.add(key.keyId);
        continue;
      }
      if (!seenActive.delete(key.keyId) || !everCurrent.has(key.keyId) || revokedOnPurpose.has(key.keyId)) continue;
      const s = secrets.find((x) => labelledTokenFor(x, key.label) !== undefined);
      if (!s) continue;
      const notBefore = Math.max((lastNeeded.get(key.keyId) ?? 0) + s.settings.gracePeriod * 1000, restoredUntil.get(key.keyId) ?? 0);
      if (now < notBefore) {
        throw new InvariantViolation(`${where}: ${s.name} key ${key.keyId} went ${key.status} ${(notBefore - now) / MIN} min before its grace ended`);
      }
    }
    for (const s of secrets) {
      const refs = referenced(s);
      // Safety: a key AWSCURRENT or AWSPENDING references is active.
      for (const [keyId, stage] of refs) {
        lastNeeded.set(keyId, now);
        if (stage === 'AWSCURRENT') everCurrent.add(keyId);
        const status = provider.keys.get(keyId)?.status;
        if (status !== 'active' && !revokedOnPurpose.has(keyId)) {
          throw new InvariantViolation(`${where}: ${s.name} ${stage} key ${keyId} is ${status}`);
        }
      }
      if (completed && op.kind === 'cancel' && secrets[op.secret] === s) {
        const { current, pending } = stageHolders(sm.stages(s.arn));
        if (pending !== undefined && pending !== current) throw new InvariantViolation(`${where}: cancel returned but ${s.name} is still pending`);
      }
      // Postcondition of a sweep that did not fail (else its failure was the alarm signal).
      const swept = op.kind === 'reconcile' && (op.secret === 'all' || secrets[op.secret] === s);
      const due = (op.kind === 'revokeDue' && secrets[op.secret] === s) || swept;
      if (!completed || !due) continue;
      const state = await readManagedSecret(sm.client, s.arn);
      for (const r of state.records) {
        if (r.phase === 'revoked' || refs.has(r.keyId)) continue;
        if (r.due <= now) throw new InvariantViolation(`${where}: ${s.name} record ${r.keyId} (${r.phase}) still due without an alarm`);
      }
      if (!swept) continue;
      // Liveness: nothing unreferenced stays active past its deadline once a sweep has run.
      const { pending } = stageHolders(state.versions);
      const holdMax = s.settings.usageQuiet ? (s.settings.usageMaxHold ?? 0) * 1000 : 0;
      const window = Math.max(s.settings.gracePeriod, s.settings.observation ?? 0) * 1000 + holdMax;
      const records = new Map(state.records.map((r) => [r.keyId, r]));
      for (const key of provider.alive()) {
        const token = labelledTokenFor(s, key.label);
        if (token === undefined || refs.has(key.keyId) || token === pending || key.status !== 'active') continue;
        if (now - key.createdAt < ORPHAN_MIN_AGE_MS) continue;
        const record = records.get(key.keyId);
        if (!record || record.phase === 'revoked' || record.due <= now) {
          throw new InvariantViolation(`${where}: ${s.name} key ${key.keyId} is unreferenced and active after a sweep without a future deadline (${JSON.stringify(record)})`);
        }
        const since = Math.max(lastNeeded.get(key.keyId) ?? key.createdAt, mayComeBackUntil.get(key.keyId) ?? 0, firstSwept.get(key.keyId) ?? now);
        firstSwept.set(key.keyId, since);
        if (now > since + window + 10 * MIN) {
          throw new InvariantViolation(`${where}: ${s.name} key ${key.keyId} unreferenced since ${new Date(since).toISOString()} is still active`);
        }
      }
    }
  };

  for (const s of secrets) await rotate(s);
  await check({ kind: 'advance', ms: 0 }, -1, true); // the bookkeeping starts from the first keys
  for (const [index, op] of scenario.ops.entries()) {
    stats.operations++;
    let completed = true;
    try {
      switch (op.kind) {
        case 'rotate':
          await rotate(secrets[op.secret]!);
          break;
        case 'emergency': {
          const s = secrets[op.secret]!;
          await rotate(s);
          const leaked = parseSecretValue(sm.valueAt(s.arn, 'AWSPREVIOUS'), s.name).keyId;
          revokedOnPurpose.add(leaked);
          await invoke({ action: 'revokeNow', secretId: s.arn, previous: true, reason: 'leak', operator: 'sim' });
          if (provider.keys.get(leaked)?.status !== 'deleted') throw new InvariantViolation(`emergency returned but ${leaked} is alive`);
          stats.emergencies++;
          break;
        }
        case 'revokeDue':
          await invoke({ action: 'revokeDue', secretId: secrets[op.secret]!.arn });
          break;
        case 'reconcile':
          await invoke({ action: 'reconcile', ...(op.secret === 'all' ? {} : { secretId: secrets[op.secret]!.arn }) });
          break;
        case 'cancel':
          stats.cancelled += (await invoke({ action: 'cancel', secretId: secrets[op.secret]!.arn, operator: 'sim' })).keys.length;
          break;
        case 'restore': {
          const s = secrets[op.secret]!;
          // Any disabled key may come back, even when the restore fails half-way (enabled, record not yet written).
          const armed = sm.beforeSend;
          sm.beforeSend = undefined;
          const disabled = (await readManagedSecret(sm.client, s.arn)).records.filter((r) => r.phase === 'disabled');
          sm.beforeSend = armed;
          const window = (s.settings.observation ?? s.settings.gracePeriod) * 1000;
          for (const r of disabled) mayComeBackUntil.set(r.keyId, Math.max(r.due, clock.now() + window));
          const response = await invoke({ action: 'restore', secretId: s.arn, operator: 'sim' });
          for (const k of response.keys) if (k.detail === undefined) restoredUntil.set(k.keyId, clock.now() + window);
          break;
        }
        case 'revokeById': {
          const keys = [...provider.keys.keys()];
          const keyId = keys[op.pick % Math.max(1, keys.length)];
          if (!keyId) break;
          revokedOnPurpose.add(keyId);
          await invoke({ action: 'revokeNow', secretId: secrets[op.secret]!.arn, keyId, reason: 'leak', operator: 'sim' });
          if (provider.keys.get(keyId)?.status !== 'deleted') throw new InvariantViolation(`revokeNow returned but ${keyId} is alive`);
          break;
        }
        case 'use': {
          const text = sm.valueAt(secrets[op.secret]!.arn, op.stage);
          if (text) provider.use(parseSecretValue(text, secrets[op.secret]!.name).apiKey);
          break;
        }
        case 'advance':
          await clock.advance(op.ms);
          break;
        case 'providerFault':
          provider.fail(op.fault);
          break;
        case 'smCrash': {
          let left = op.afterCalls;
          sm.beforeSend = (call) => {
            if (left-- === 0) {
              sm.beforeSend = undefined;
              throw new InjectedCrash(call);
            }
          };
          break;
        }
        case 'crashAfterIssue':
          provider.crashAfterIssue = true;
          break;
        case 'rollback':
          // The revoker's own rule (lambda/revoker/oncall.ts), as `keyrelay rollback` asks for it.
          await invoke({ action: 'rollback', secretId: secrets[op.secret]!.arn, operator: 'sim' });
          break;
        case 'strayKey':
          await provider.issue({ label: providerKeyLabel(secrets[op.secret]!, `stray-${++tokens}`) });
          break;
      }
    } catch (err) {
      if (err instanceof InvariantViolation) throw err;
      completed = false;
      if (op.kind === 'rotate' || op.kind === 'emergency') sm.beforeSend = undefined;
    }
    // A failed operation threw (the alarm signal: Lambda Errors, DLQ); one that returned must have done its work.
    if (!completed) stats.failed++;
    const armed = sm.beforeSend; // the checks read state without tripping an armed crash
    sm.beforeSend = undefined;
    await check(op, index, completed);
    sm.beforeSend = armed;
  }
  stats.orphans += metrics.sum('OrphansRevoked');
}
