import { randomUUID } from 'node:crypto';
import {
  CancelRotateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerServiceException,
  UpdateSecretVersionStageCommand,
  type DescribeSecretCommandOutput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { parseCron, shortestCronInterval } from '../core/cron';
import { parseDuration } from '../core/duration';
import { describeError, KeyRelayError } from '../core/errors';
import { stageHolders } from '../core/state';
import { ROTATION_STEPS } from '../lambda/rotation/steps';
import type { LocalClock, TimerHandle } from './clock';
import { functionName, type FunctionRegistry } from './functions';

/**
 * The part of Secrets Manager that moto cannot play: rotation. `RotateSecret` answers at once with the new pending
 * version and then runs the four steps of keyrelay's real rotation function in-process, retrying the whole rotation
 * on failure like AWS; `CancelRotateSecret` turns automatic rotation off; the rotation schedule (rate or cron, a
 * random moment inside the window) runs on the local clock. moto holds every version and label; this service holds
 * only what AWS keeps about rotation (rules, last/next date, the run in progress).
 */

/** An AWS-style service error, answered as `{"__type": type, "message"}` with `status`; its `code` is `type`. */
export class AwsServiceError extends KeyRelayError<string> {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(type, message);
    this.name = type;
  }
}

/** `RotationRules` as the API takes them. */
export interface RotationRulesInput {
  AutomaticallyAfterDays?: number;
  ScheduleExpression?: string;
  Duration?: string;
}

/** `RotateSecret` request fields the local service honours. */
export interface RotateSecretInput {
  SecretId: string;
  ClientRequestToken?: string;
  RotationLambdaARN?: string;
  RotationRules?: RotationRulesInput;
  RotateImmediately?: boolean;
}

/** Where one rotation (one pending version) is. */
export type RotationStatus = 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled' | 'abandoned';

/** One rotation: one token, one or more attempts of the four steps. Never holds key material. */
export interface RotationRun {
  token: string;
  status: RotationStatus;
  attempts: number;
  /** `attempt N <step>: <error>` per failed attempt. */
  errors: string[];
  startedAt: number;
  finishedAt?: number;
  nextAttemptAt?: number;
}

/** What the service knows about one secret's rotation. */
export interface SecretRotation {
  arn: string;
  name: string;
  enabled: boolean;
  rules?: RotationRulesInput;
  lambdaArn?: string;
  lastRotated?: number;
  nextRotation?: number;
  /** Latest rotation first is `runs[runs.length - 1]`; at most 20 kept. */
  runs: RotationRun[];
}

/** Options for {@link RotationService}. */
export interface RotationServiceOptions {
  /** Secrets Manager client pointed straight at moto (not at the proxy: the service edits labels AWS-side). */
  moto: SecretsManagerClient;
  clock: LocalClock;
  functions: FunctionRegistry;
  /** Function used when a secret names none. */
  defaultFunction: string;
  /**
   * Waits before each retry of a failed rotation, local clock ms; one attempt more than entries.
   * @default [60_000, 300_000, 900_000, 1_800_000] (5 attempts within 36 minutes)
   */
  retryDelaysMs?: number[];
  /** Seed of the random moment inside each rotation window. @default 1 */
  seed?: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PREVIOUS_INCOMPLETE = "A previous rotation isn't complete. That rotation will be reattempted.";

/** mulberry32: a small seeded PRNG, so window offsets repeat from run to run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const RATE = /^rate\((\d+)\s+(hour|hours|day|days)\)$/;

/** How often rules rotate (ms) and when the next window opens after `from`. */
function cadence(rules: RotationRulesInput): { every: number; next(from: number): number } {
  const expr = rules.ScheduleExpression?.trim();
  let result: { every: number; next(from: number): number };
  if (expr) {
    const rate = RATE.exec(expr);
    if (rate) {
      const every = Number(rate[1]) * (rate[2]?.startsWith('day') ? DAY : HOUR);
      result = { every, next: (from) => from + every };
    } else {
      let cron: ReturnType<typeof parseCron>;
      try {
        cron = parseCron(expr);
      } catch (err) {
        throw new AwsServiceError('InvalidParameterException', `RotationRules.ScheduleExpression '${expr}': ${(err as Error).message}`);
      }
      const every = (shortestCronInterval(cron) ?? 86_400) * 1000;
      result = { every, next: (from) => cron.next(from) ?? from + every };
    }
  } else if (rules.AutomaticallyAfterDays !== undefined) {
    const every = rules.AutomaticallyAfterDays * DAY;
    result = { every, next: (from) => from + every };
  } else {
    throw new AwsServiceError('InvalidParameterException', 'RotationRules needs AutomaticallyAfterDays or ScheduleExpression');
  }
  if (result.every < 4 * HOUR) {
    throw new AwsServiceError(
      'InvalidParameterException',
      `RotationRules: rotation must not be more frequent than every 4 hours, got '${expr ?? ''}'`,
    );
  }
  return result;
}

/**
 * When the next rotation window opens after `from`, and how long it lasts (ms). Rate schedules open `every` after
 * the last rotation; cron schedules at the expression's next hour. The window defaults as AWS's: 1 hour for
 * schedules more frequent than daily, else the rest of the UTC day.
 * @throws AwsServiceError (InvalidParameterException) for rules AWS would reject.
 */
export function nextWindow(rules: RotationRulesInput, from: number): { start: number; length: number } {
  const { every, next } = cadence(rules);
  const start = next(from);
  if (rules.Duration) {
    try {
      return { start, length: parseDuration(rules.Duration, 'RotationRules.Duration') * 1000 };
    } catch (err) {
      throw new AwsServiceError('InvalidParameterException', (err as Error).message);
    }
  }
  if (every < DAY) return { start, length: HOUR };
  return { start, length: Math.max(HOUR, Math.ceil(start / DAY) * DAY - start || DAY) };
}

/** moto marks rotation enabled only for `AutomaticallyAfterDays`; this is the nearest whole-day stand-in. */
function motoDays(rules: RotationRulesInput): number {
  if (rules.AutomaticallyAfterDays !== undefined) return rules.AutomaticallyAfterDays;
  return Math.min(1000, Math.max(1, Math.round(cadence(rules).every / DAY)));
}

function awsError(err: unknown): AwsServiceError {
  if (err instanceof AwsServiceError) return err;
  if (err instanceof SecretsManagerServiceException) {
    return new AwsServiceError(err.name, err.message, err.$metadata.httpStatusCode ?? 400);
  }
  return new AwsServiceError('InternalServiceError', describeError(err), 500);
}

/** Local Secrets Manager rotation: see the module comment. */
export class RotationService {
  private readonly secrets = new Map<string, SecretRotation>();
  private readonly timers = new Map<string, { retry?: TimerHandle; schedule?: TimerHandle; attempt?: Promise<void> }>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly retryDelays: number[];
  private readonly random: () => number;

  constructor(private readonly options: RotationServiceOptions) {
    this.retryDelays = options.retryDelaysMs ?? [60_000, 300_000, 900_000, 1_800_000];
    this.random = seeded(options.seed ?? 1);
  }

  /** Every secret the service has rotated or been told about. */
  state(): SecretRotation[] {
    return [...this.secrets.values()];
  }

  /** One secret by name or ARN. */
  get(secretId: string): SecretRotation | undefined {
    return this.secrets.get(secretId) ?? [...this.secrets.values()].find((s) => s.name === secretId);
  }

  /** Resolves when the attempt running for `secretId` (if any) has ended (succeeded, failed, or waits to retry). */
  async settled(secretId: string): Promise<SecretRotation | undefined> {
    const secret = this.get(secretId);
    if (secret) await this.timers.get(secret.arn)?.attempt;
    return secret;
  }

  /**
   * `RotateSecret`, as Secrets Manager does it: checks that no rotation is pending, creates the value-less
   * `AWSPENDING` placeholder (through moto's own RotateSecret with `RotateImmediately` and a dummy function, which
   * leaves exactly that state), answers, and runs the steps asynchronously.
   * @throws AwsServiceError as AWS answers (`InvalidRequestException` while a rotation is pending).
   */
  async rotate(input: RotateSecretInput): Promise<{ ARN: string; Name: string; VersionId: string }> {
    const first = await this.describe(input.SecretId);
    const arn = first.ARN as string;
    return this.locked(arn, async () => {
      const described = await this.describe(arn);
      const name = described.Name as string;
      const known = this.secrets.get(arn);
      const lambdaArn = input.RotationLambdaARN ?? known?.lambdaArn ?? described.RotationLambdaARN ?? undefined;
      if (!lambdaArn) {
        throw new AwsServiceError(
          'InvalidRequestException',
          "No Lambda rotation function ARN is associated with this secret. Pass RotationLambdaARN (locally: keyrelay's rotation function).",
        );
      }
      if (!this.options.functions.has(lambdaArn)) {
        throw new AwsServiceError(
          'ResourceNotFoundException',
          `Resource not found for ARN '${lambdaArn}'. The local stack runs only keyrelay's functions: ${this.options.functions.names().join(', ')}`,
        );
      }
      const rules = input.RotationRules ?? known?.rules;
      if (input.RotationRules) nextWindow(input.RotationRules, this.options.clock.now()); // validate before changing anything
      const holders = stageHolders(described.VersionIdsToStages ?? {});
      const running = known?.runs.at(-1);
      if (holders.pending && holders.pending !== holders.current) {
        if (running && running.token === holders.pending && running.token === input.ClientRequestToken) {
          return { ARN: arn, Name: name, VersionId: running.token }; // a retried request: idempotent
        }
        throw new AwsServiceError('InvalidRequestException', PREVIOUS_INCOMPLETE);
      }
      if (holders.pending && holders.current) {
        // finishSecret leaves AWSPENDING on the new current version (AWS accepts that end state); moto would refuse
        // the next RotateSecret over it, so clear it first.
        await this.options.moto.send(
          new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: holders.current }),
        );
      }
      const secret: SecretRotation = known ?? { arn, name, enabled: false, runs: [] };
      secret.lambdaArn = lambdaArn;
      secret.rules = rules;
      secret.enabled = rules !== undefined;
      this.secrets.set(arn, secret);

      if (input.RotateImmediately === false) {
        // Rules only: the first rotation happens in the next window. AWS would also run testSecret against a
        // temporary version; the local stack does not (documented in docs/local.md).
        this.plan(secret, this.options.clock.now());
        return { ARN: arn, Name: name, VersionId: holders.current ?? '' };
      }
      const token = input.ClientRequestToken ?? randomUUID();
      try {
        if (Object.keys(described.VersionIdsToStages ?? {}).length === 0) {
          // moto creates no placeholder for a secret without versions (and fails to promote one later): give it a
          // value-less-for-keyrelay current version first. It becomes AWSPREVIOUS, holding no key, after the rotation.
          await this.options.moto.send(new PutSecretValueCommand({ SecretId: arn, SecretString: '{}', VersionStages: ['AWSCURRENT'] }));
        }
        await this.options.moto.send(
          new RotateSecretCommand({
            SecretId: arn,
            ClientRequestToken: token,
            RotationLambdaARN: this.options.functions.arn(functionName(lambdaArn)),
            RotationRules: rules ? { AutomaticallyAfterDays: motoDays(rules) } : undefined,
            RotateImmediately: true,
          }),
        );
      } catch (err) {
        throw awsError(err);
      }
      const run: RotationRun = { token, status: 'running', attempts: 0, errors: [], startedAt: this.options.clock.now() };
      secret.runs.push(run);
      if (secret.runs.length > 20) secret.runs.shift();
      this.cancelTimer(arn, 'schedule');
      this.start(secret, run);
      return { ARN: arn, Name: name, VersionId: token };
    });
  }

  /**
   * `CancelRotateSecret`: turns automatic rotation off and stops the rotation in progress (no more retries). As on
   * AWS, the `AWSPENDING` label stays where it is; removing it is the operator's call (keyrelay's `cancel`).
   */
  async cancel(secretId: string): Promise<{ ARN: string; Name: string; VersionId?: string }> {
    const described = await this.describe(secretId);
    const arn = described.ARN as string;
    try {
      await this.options.moto.send(new CancelRotateSecretCommand({ SecretId: arn }));
    } catch (err) {
      throw awsError(err);
    }
    const secret = this.secrets.get(arn);
    if (secret) {
      secret.enabled = false;
      secret.nextRotation = undefined;
      const run = secret.runs.at(-1);
      if (run && (run.status === 'running' || run.status === 'retrying')) {
        run.status = 'cancelled';
        run.finishedAt = this.options.clock.now();
        run.nextAttemptAt = undefined;
      }
    }
    this.cancelTimer(arn, 'retry');
    this.cancelTimer(arn, 'schedule');
    const pending = stageHolders(described.VersionIdsToStages ?? {});
    const VersionId = pending.pending && pending.pending !== pending.current ? pending.pending : undefined;
    return { ARN: arn, Name: described.Name as string, ...(VersionId ? { VersionId } : {}) };
  }

  /** Overlays the rotation fields moto cannot keep right (cron rules, dates on the local clock) on a secret's JSON. */
  patchDescription(entry: Record<string, unknown>): void {
    const secret = typeof entry.ARN === 'string' ? this.secrets.get(entry.ARN) : undefined;
    if (!secret) return;
    entry.RotationEnabled = secret.enabled;
    if (secret.rules) entry.RotationRules = secret.rules;
    if (secret.lambdaArn) entry.RotationLambdaARN = secret.lambdaArn;
    if (secret.lastRotated !== undefined) entry.LastRotatedDate = secret.lastRotated / 1000;
    if (secret.enabled && secret.nextRotation !== undefined) entry.NextRotationDate = secret.nextRotation / 1000;
    else delete entry.NextRotationDate;
  }

  /** Stops every timer (retries, schedules). */
  stop(): void {
    for (const arn of this.timers.keys()) {
      this.cancelTimer(arn, 'retry');
      this.cancelTimer(arn, 'schedule');
    }
  }

  private async describe(secretId: string): Promise<DescribeSecretCommandOutput> {
    try {
      return await this.options.moto.send(new DescribeSecretCommand({ SecretId: secretId }));
    } catch (err) {
      throw awsError(err);
    }
  }

  private async locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = result.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return result;
  }

  private slot(arn: string): { retry?: TimerHandle; schedule?: TimerHandle; attempt?: Promise<void> } {
    let slot = this.timers.get(arn);
    if (!slot) this.timers.set(arn, (slot = {}));
    return slot;
  }

  private cancelTimer(arn: string, which: 'retry' | 'schedule'): void {
    const slot = this.timers.get(arn);
    slot?.[which]?.cancel();
    if (slot) slot[which] = undefined;
  }

  private start(secret: SecretRotation, run: RotationRun): Promise<void> {
    const attempt = this.attempt(secret, run);
    this.slot(secret.arn).attempt = attempt;
    return attempt;
  }

  private async attempt(secret: SecretRotation, run: RotationRun): Promise<void> {
    const { clock, functions } = this.options;
    run.status = 'running';
    run.nextAttemptAt = undefined;
    run.attempts += 1;
    let step: string = 'start';
    try {
      if (run.attempts > 1) {
        // A new version written, or the label removed, since the last attempt: AWS abandons the rotation.
        const stages = (await this.describe(secret.arn)).VersionIdsToStages?.[run.token] ?? [];
        if (!stages.includes('AWSPENDING') && !stages.includes('AWSCURRENT')) {
          run.status = 'abandoned';
          run.finishedAt = clock.now();
          return;
        }
      }
      const rotationToken = randomUUID();
      for (step of ROTATION_STEPS) {
        if (run.status !== 'running') return;
        await functions.invoke(secret.lambdaArn as string, {
          Step: step,
          SecretId: secret.arn,
          ClientRequestToken: run.token,
          RotationToken: rotationToken,
        }, 'secretsmanager.amazonaws.com');
      }
      run.status = 'succeeded';
      run.finishedAt = clock.now();
      secret.lastRotated = run.finishedAt;
      this.plan(secret, run.finishedAt);
    } catch (err) {
      if (run.status !== 'running') return;
      run.errors.push(`attempt ${run.attempts} ${step}: ${describeError(err)}`);
      const delay = this.retryDelays[run.attempts - 1];
      if (delay === undefined) {
        run.status = 'failed';
        run.finishedAt = clock.now();
        return;
      }
      run.status = 'retrying';
      run.nextAttemptAt = clock.now() + delay;
      this.slot(secret.arn).retry = clock.at(run.nextAttemptAt, () => this.start(secret, run), `retry rotation ${secret.name}`);
    }
  }

  /** Arms the next scheduled rotation: a random moment inside the next window. */
  private plan(secret: SecretRotation, from: number): void {
    this.cancelTimer(secret.arn, 'schedule');
    if (!secret.enabled || !secret.rules) return;
    const window = nextWindow(secret.rules, from);
    const at = window.start + Math.floor(this.random() * window.length);
    secret.nextRotation = at;
    this.slot(secret.arn).schedule = this.options.clock.at(
      at,
      async () => {
        try {
          await this.rotate({ SecretId: secret.arn });
        } catch (err) {
          // Still pending from before: AWS tries again in the next window.
          secret.runs.at(-1)?.errors.push(`scheduled rotation skipped: ${describeError(err)}`);
          this.plan(secret, this.options.clock.now());
          return;
        }
        await this.settled(secret.arn);
      },
      `scheduled rotation ${secret.name}`,
    );
  }
}
