import { describeError } from '../core/errors';
import { AWS_EVENTS_ALIAS, type EventPublisher, type KeyRotatedDetail, type RevocationRequest, type RevocationScheduler } from '../core/ports';
import type { RevokerRequest } from '../lambda/revoker/protocol';
import type { LocalClock, TimerHandle } from './clock';
import type { FunctionRegistry } from './functions';
import { AwsServiceError } from './rotation-service';

/**
 * The local stand-ins for EventBridge Scheduler and EventBridge: revocations fire the revoker's `revokeDue` on the
 * local clock, a periodic sweep sends it `reconcile`, and `KeyRotated` events are kept in a list. In-process
 * functions call {@link LocalScheduler.scheduleRevocation} directly; functions run from their bundles call the
 * Scheduler API through the local endpoint (`scheduler-api.ts`), which lands in {@link LocalScheduler.createSchedule}.
 */

/** A revocation the rotation handler arranged, and what became of it. */
export interface ScheduledRevocation extends RevocationRequest {
  /**
   * `scheduled`: waiting; `fired`: the revoker ran; `failed`: it threw; `recorded`: due, but no revoker is registered;
   * `deleted`: its schedule was deleted before it fired.
   */
  status: 'scheduled' | 'fired' | 'failed' | 'recorded' | 'deleted';
  error?: string;
  /** `<group>/<name>` of the EventBridge Scheduler schedule, when one was created through the API. */
  schedule?: string;
}

/** The fields of a `CreateSchedule` request the local scheduler reads (keyrelay's revocation schedules). */
export interface CreateScheduleInput {
  Name: string;
  GroupName?: string;
  ScheduleExpression?: string;
  ScheduleExpressionTimezone?: string;
  Description?: string;
  ActionAfterCompletion?: string;
  FlexibleTimeWindow?: { Mode?: string; MaximumWindowInMinutes?: number };
  Target?: { Arn?: string; RoleArn?: string; Input?: string; DeadLetterConfig?: { Arn?: string } };
}

/** A schedule as `GetSchedule` answers it. */
export interface ScheduleDescription extends CreateScheduleInput {
  Arn: string;
  GroupName: string;
  State: 'ENABLED';
  /** Seconds since the epoch (local clock). */
  CreationDate: number;
}

// keyrelay's revocation schedules (lambda/runtime/scheduler.ts): `at(<UTC second>)`, and a description naming the key.
const AT = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/;
const REVOKE_DESCRIPTION = /^keyrelay: revoke (\S+) of (.+)$/;

/** A published `KeyRotated` event with its time (local clock, ms). */
export interface RecordedEvent {
  time: number;
  detail: KeyRotatedDetail;
}

/** Options for {@link LocalScheduler}. */
export interface LocalSchedulerOptions {
  clock: LocalClock;
  functions: FunctionRegistry;
  /** Name of the revoker function (it may register later). */
  revoker: string;
  /** Interval of the reconcile sweep, local clock ms; 0 turns it off. @default 3_600_000 (hourly, as deployed) */
  reconcileEveryMs?: number;
  /** Interval of the canary rule, local clock ms; 0 turns it off. @default 0 */
  canaryEveryMs?: number;
}

/** EventBridge Scheduler + the reconcile rule, on the local clock. */
export class LocalScheduler implements RevocationScheduler {
  /** Every revocation scheduled, in order. */
  readonly revocations: ScheduledRevocation[] = [];
  /** Outcomes of sweeps: time and error, if any. */
  readonly sweeps: Array<{ time: number; status: 'fired' | 'failed' | 'recorded'; error?: string }> = [];
  /** Outcomes of canary runs (the canary rule), the last 100. */
  readonly canaryRuns: Array<{ time: number; status: 'fired' | 'failed' | 'recorded'; error?: string }> = [];
  private readonly timers = new Map<string, TimerHandle>();
  /** Schedules created through the API, by `<group>/<name>`, until they fire (then deleted, as `DELETE` asks). */
  private readonly named = new Map<string, { description: ScheduleDescription; timer: TimerHandle }>();
  private sweep?: TimerHandle;
  private canary?: TimerHandle;

  constructor(private readonly options: LocalSchedulerOptions) {}

  /**
   * EventBridge Scheduler's `CreateSchedule` for keyrelay's revocation schedules: a one-time `at(...)` (UTC) schedule
   * invoking a local function with its `Input` on the local clock. Unlike {@link scheduleRevocation}, schedules are
   * identified by name, as on AWS: a second one for the same key is a second schedule.
   * @throws AwsServiceError `ConflictException` (409) when the name exists in the group; `ValidationException` for a
   * schedule that is not a keyrelay revocation (the local scheduler runs nothing else).
   */
  createSchedule(input: CreateScheduleInput): { ScheduleArn: string } {
    const group = input.GroupName ?? 'default';
    const id = `${group}/${input.Name}`;
    const arn = `arn:aws:scheduler:${this.options.functions.region}:${this.options.functions.accountId}:schedule/${id}`;
    if (this.named.has(id)) throw new AwsServiceError('ConflictException', `Schedule ${input.Name} already exists.`, 409);
    const at = AT.exec(input.ScheduleExpression ?? '');
    const key = REVOKE_DESCRIPTION.exec(input.Description ?? '');
    let request: unknown;
    try {
      request = JSON.parse(input.Target?.Input ?? '');
    } catch {
      request = undefined;
    }
    const secretArn = (request as { secretId?: unknown } | undefined)?.secretId;
    const target = input.Target?.Arn;
    if (!at?.[1] || (input.ScheduleExpressionTimezone ?? 'UTC') !== 'UTC' || !key?.[1] || !key[2] || typeof secretArn !== 'string' || !target) {
      throw new AwsServiceError(
        'ValidationException',
        `the local scheduler runs keyrelay's revocation schedules only (at(...) in UTC, a revoker target and input, ` +
          `"keyrelay: revoke <key> of <secret>"); got ${JSON.stringify({ expression: input.ScheduleExpression, description: input.Description })}`,
      );
    }
    const entry: ScheduledRevocation = { secretArn, secretName: key[2], keyId: key[1], due: Date.parse(`${at[1]}Z`), status: 'scheduled', schedule: id };
    this.revocations.push(entry);
    const timer = this.options.clock.at(
      entry.due,
      async () => {
        this.named.delete(id);
        const outcome = await this.send(request as RevokerRequest, target);
        entry.status = outcome.status;
        if (outcome.error) entry.error = outcome.error;
      },
      `revokeDue ${entry.secretName} ${entry.keyId}`,
    );
    const description: ScheduleDescription = {
      ...input,
      Arn: arn,
      GroupName: group,
      State: 'ENABLED',
      CreationDate: Math.floor(this.options.clock.now() / 1000),
    };
    this.named.set(id, { description, timer });
    return { ScheduleArn: arn };
  }

  /** `GetSchedule`. @throws AwsServiceError `ResourceNotFoundException` (404) */
  getSchedule(name: string, group = 'default'): ScheduleDescription {
    return this.namedSchedule(name, group).description;
  }

  /** `DeleteSchedule`: the revocation becomes `deleted`. @throws AwsServiceError `ResourceNotFoundException` (404) */
  deleteSchedule(name: string, group = 'default'): void {
    const id = `${group}/${name}`;
    this.namedSchedule(name, group).timer.cancel();
    this.named.delete(id);
    const entry = this.revocations.find((r) => r.schedule === id && r.status === 'scheduled');
    if (entry) entry.status = 'deleted';
  }

  private namedSchedule(name: string, group: string): { description: ScheduleDescription; timer: TimerHandle } {
    const found = this.named.get(`${group}/${name}`);
    if (!found) throw new AwsServiceError('ResourceNotFoundException', `Schedule ${name} does not exist.`, 404);
    return found;
  }

  /**
   * Arranges `revokeDue` for the secret at `request.due`: one schedule per (secret, key), like the deployed
   * scheduler, so arranging the same key again replaces its schedule.
   */
  async scheduleRevocation(request: RevocationRequest): Promise<void> {
    const id = `${request.secretArn} ${request.keyId}`;
    this.timers.get(id)?.cancel();
    const previous = this.revocations.findIndex((r) => r.status === 'scheduled' && `${r.secretArn} ${r.keyId}` === id);
    if (previous >= 0) this.revocations.splice(previous, 1);
    const entry: ScheduledRevocation = { ...request, status: 'scheduled' };
    this.revocations.push(entry);
    const timer = this.options.clock.at(
      request.due,
      async () => {
        this.timers.delete(id);
        const outcome = await this.send({ action: 'revokeDue', secretId: request.secretArn });
        entry.status = outcome.status;
        if (outcome.error) entry.error = outcome.error;
      },
      `revokeDue ${request.secretName} ${request.keyId}`,
    );
    this.timers.set(id, timer);
  }

  /** Starts the periodic reconcile sweep and the canary rule (each a no-op when its interval is 0). */
  startSweep(): void {
    this.every(this.options.reconcileEveryMs ?? 3_600_000, 'reconcile sweep', { action: 'reconcile' }, this.sweeps, (t) => (this.sweep = t));
    this.every(this.options.canaryEveryMs ?? 0, 'canary', { action: 'canary' }, this.canaryRuns, (t) => (this.canary = t));
  }

  /** An EventBridge rate rule sending `request` to the revoker every `ms`, its outcomes kept in `log`. */
  private every(ms: number, label: string, request: RevokerRequest, log: LocalScheduler['sweeps'], set: (timer: TimerHandle) => void): void {
    if (ms <= 0) return;
    const arm = (): void => {
      set(
        this.options.clock.at(
          this.options.clock.now() + ms,
          async () => {
            const outcome = await this.send(request);
            log.push({ time: this.options.clock.now(), ...outcome });
            if (log.length > 100) log.shift();
            arm();
          },
          label,
        ),
      );
    };
    arm();
  }

  /**
   * EventBridge delivering an AWS event (AWS Health) through keyrelay's rule: the revoker's rule alias is invoked,
   * as the rule's target is. @returns the revoker's answer. @throws what the revoker (or the invoke guard) throws
   */
  async deliverAwsEvent(event: unknown): Promise<unknown> {
    return this.options.functions.invoke(`${this.options.revoker}:${AWS_EVENTS_ALIAS}`, event, 'events.amazonaws.com');
  }

  /** Cancels every pending timer. */
  stop(): void {
    this.sweep?.cancel();
    this.canary?.cancel();
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
    for (const { timer } of this.named.values()) timer.cancel();
    this.named.clear();
  }

  private async send(
    request: RevokerRequest,
    target = this.options.revoker,
  ): Promise<{ status: 'fired' | 'failed' | 'recorded'; error?: string }> {
    const { functions } = this.options;
    if (!functions.has(target)) return { status: 'recorded' };
    try {
      // A revocation deadline is an EventBridge Scheduler schedule; the sweep and the canary, EventBridge rules.
      await functions.invoke(target, request, request.action === 'revokeDue' ? 'scheduler.amazonaws.com' : 'events.amazonaws.com');
      return { status: 'fired' };
    } catch (err) {
      return { status: 'failed', error: describeError(err) };
    }
  }
}

/** EventBridge for `KeyRotated`: keeps every event, in order. */
export class LocalEvents implements EventPublisher {
  readonly published: RecordedEvent[] = [];

  constructor(private readonly clock: LocalClock) {}

  async keyRotated(detail: KeyRotatedDetail): Promise<void> {
    this.published.push({ time: this.clock.now(), detail });
  }
}
