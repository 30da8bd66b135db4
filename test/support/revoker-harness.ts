import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import type { RevocationRequest, RevocationScheduler } from '../../core/ports';
import { fingerprint, formatSecretValue, parseSecretValue, type SecretValue } from '../../core/secret-value';
import {
  currentKeyTag,
  keyRecordTag,
  providerKeyLabel,
  putStateTags,
  readManagedSecret,
  settingsToTags,
  stageHolders,
  type KeySettings,
} from '../../core/state';
import type { RevokerDeps, RevokerLogger, RevokerMetrics } from '../../lambda/revoker/deps';
import { createRevokerHandler } from '../../lambda/revoker/handler';
import { FakeClock } from './fake-clock';
import { FakeProvider } from './fake-provider';
import { MemorySecretsManager } from './memory-secrets-manager';

/** A log line as the revoker wrote it. */
export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  attributes: Record<string, unknown>;
}

/** Keeps log lines in memory (prints nothing). */
export class RecordingLogger implements RevokerLogger {
  readonly lines: LogLine[] = [];
  info(message: string, attributes: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'info', message, attributes });
  }
  warn(message: string, attributes: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'warn', message, attributes });
  }
  error(message: string, attributes: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'error', message, attributes });
  }
}

/** Keeps data points in memory. */
export class RecordingMetrics implements RevokerMetrics {
  readonly points: Array<{ name: string; unit: string; value: number }> = [];
  addMetric(name: string, unit: 'Count' | 'Seconds', value: number): void {
    this.points.push({ name, unit, value });
  }
  /** Sum of a metric's values. */
  sum(name: string): number {
    return this.points.filter((p) => p.name === name).reduce((a, p) => a + p.value, 0);
  }
  /** The last value of a metric (gauges). */
  last(name: string): number | undefined {
    return this.points.filter((p) => p.name === name).at(-1)?.value;
  }
}

/** Keeps revocation requests in memory. */
export class RecordingScheduler implements RevocationScheduler {
  readonly requests: RevocationRequest[] = [];
  async scheduleRevocation(request: RevocationRequest): Promise<void> {
    this.requests.push(request);
  }
}

/** Settings a test secret carries unless a test overrides them (grace 1 h, rotate daily). */
export const TEST_SETTINGS: KeySettings = { provider: 'fake', providerSettings: {}, gracePeriod: 3600, rotateEvery: 86_400 };

/**
 * One managed secret wired to a revoker over in-memory fakes: FakeClock (auto-advancing, so back-off returns at
 * once), MemorySecretsManager, FakeProvider, recording scheduler/logger/metrics. `rotate` is a model of the four
 * steps that keeps the state contract (grace record and current-key note written before AWSCURRENT moves).
 * {@link RevokerWorld.also} adds more secrets to the same fakes (one provider: one admin credential's keys).
 */
export class RevokerWorld {
  readonly clock: FakeClock;
  readonly sm: MemorySecretsManager;
  readonly provider: FakeProvider;
  readonly scheduler: RecordingScheduler;
  readonly logger: RecordingLogger;
  readonly metrics: RecordingMetrics;
  readonly deps: RevokerDeps;
  readonly handler: ReturnType<typeof createRevokerHandler>;
  readonly arn: string;
  private seq = 0;

  constructor(
    readonly name = 'payments/api',
    settings: Partial<KeySettings> = {},
    quota: number | undefined = 5,
    shared?: RevokerWorld,
  ) {
    this.clock = shared?.clock ?? new FakeClock(undefined, true);
    this.sm = shared?.sm ?? new MemorySecretsManager(this.clock);
    this.provider = shared?.provider ?? new FakeProvider(this.clock, quota);
    this.scheduler = shared?.scheduler ?? new RecordingScheduler();
    this.logger = shared?.logger ?? new RecordingLogger();
    this.metrics = shared?.metrics ?? new RecordingMetrics();
    this.arn = this.sm.create(name, settingsToTags({ ...TEST_SETTINGS, ...settings }));
    this.deps = shared?.deps ?? {
      sm: this.sm.client, provider: async () => this.provider, clock: this.clock, scheduler: this.scheduler,
      logger: this.logger, metrics: this.metrics, random: () => 0.5,
    };
    this.handler = shared?.handler ?? createRevokerHandler(this.deps);
  }

  /** Another managed secret in the same fakes (same provider, revoker and clock). */
  also(name: string, settings: Partial<KeySettings> = {}): RevokerWorld {
    return new RevokerWorld(name, settings, undefined, this);
  }

  /** Starts a rotation and stores its pending key (createSecret); returns the token. */
  async createPending(): Promise<string> {
    const token = `v${++this.seq}`;
    this.sm.startRotation(this.arn, token);
    const issued = await this.provider.issue({ label: providerKeyLabel(this, token) });
    const value: SecretValue = { apiKey: issued.apiKey, keyId: issued.keyId, provider: 'fake', issuedAt: new Date(this.clock.now()).toISOString() };
    await this.sm.send(new PutSecretValueCommand({ SecretId: this.arn, ClientRequestToken: token, SecretString: formatSecretValue(value), VersionStages: ['AWSPENDING'] }));
    return token;
  }

  /**
   * finishSecret: grace record for the old key and the `keyrelay:current` note in one write, then AWSCURRENT moves
   * (AWSPENDING removed, as the local stack does).
   */
  async finish(token: string): Promise<void> {
    const secret = await readManagedSecret(this.sm.client, this.arn);
    const current = stageHolders(secret.versions).current;
    const pending = parseSecretValue(this.sm.valueAt(this.arn, 'AWSPENDING'), this.name);
    const tags = [currentKeyTag({ versionId: token, keyId: pending.keyId, fingerprint: fingerprint(pending.apiKey) })];
    if (current !== undefined) {
      const old = this.value('AWSCURRENT');
      const due = this.clock.now() + secret.settings.gracePeriod * 1000;
      tags.push(keyRecordTag({ keyId: old.keyId, phase: 'grace', due, versionId: current }));
      await this.scheduler.scheduleRevocation({ secretArn: this.arn, secretName: this.name, keyId: old.keyId, due });
    }
    await putStateTags(this.sm.client, this.arn, tags);
    await this.sm.send(new UpdateSecretVersionStageCommand({ SecretId: this.arn, VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: current }));
    await this.sm.send(new UpdateSecretVersionStageCommand({ SecretId: this.arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: token }));
  }

  /** A whole rotation; returns the new token. */
  async rotate(): Promise<string> {
    const token = await this.createPending();
    await this.finish(token);
    return token;
  }

  /** The value a stage holds. */
  value(stage: string): SecretValue {
    return parseSecretValue(this.sm.valueAt(this.arn, stage), this.name);
  }

  /** The key record of `keyId`, from the secret's tags. */
  async record(keyId: string) {
    return (await readManagedSecret(this.sm.client, this.arn)).records.find((r) => r.keyId === keyId);
  }

  /** Provider status of a key: active, disabled or deleted. */
  status(keyId: string): string | undefined {
    return this.provider.keys.get(keyId)?.status;
  }
}

/** A world rotated twice: `old` is the key `AWSPREVIOUS` now references (its grace record written). */
export async function rotatedWorld(
  settings: Partial<KeySettings> = {},
  quota: number | undefined = 5,
): Promise<{ world: RevokerWorld; old: SecretValue }> {
  const world = new RevokerWorld('payments/api', settings, quota);
  await world.rotate();
  const old = world.value('AWSCURRENT');
  await world.rotate();
  return { world, old };
}
