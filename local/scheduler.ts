import { describeError } from '../lambda/core/errors';
import type { EventPublisher, KeyRotatedDetail, RevocationRequest, RevocationScheduler } from '../lambda/core/ports';
import type { RevokerRequest } from '../lambda/revoker/protocol';
import type { LocalClock, TimerHandle } from './clock';
import type { FunctionRegistry } from './functions';

/**
 * The local stand-ins for EventBridge Scheduler and EventBridge: revocations fire the revoker's `revokeDue` on the
 * local clock, a periodic sweep sends it `reconcile`, and `KeyRotated` events are kept in a list.
 */

/** A revocation the rotation handler arranged, and what became of it. */
export interface ScheduledRevocation extends RevocationRequest {
  /** `scheduled`: waiting; `fired`: the revoker ran; `failed`: it threw; `recorded`: due, but no revoker is registered. */
  status: 'scheduled' | 'fired' | 'failed' | 'recorded';
  error?: string;
}

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
}

/** EventBridge Scheduler + the reconcile rule, on the local clock. */
export class LocalScheduler implements RevocationScheduler {
  /** Every revocation scheduled, in order. */
  readonly revocations: ScheduledRevocation[] = [];
  /** Outcomes of sweeps: time and error, if any. */
  readonly sweeps: Array<{ time: number; status: 'fired' | 'failed' | 'recorded'; error?: string }> = [];
  private readonly timers = new Map<string, TimerHandle>();
  private sweep?: TimerHandle;

  constructor(private readonly options: LocalSchedulerOptions) {}

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

  /** Starts the periodic reconcile sweep (no-op when the interval is 0). */
  startSweep(): void {
    const every = this.options.reconcileEveryMs ?? 3_600_000;
    if (every <= 0) return;
    const arm = (): void => {
      this.sweep = this.options.clock.at(
        this.options.clock.now() + every,
        async () => {
          const outcome = await this.send({ action: 'reconcile' });
          this.sweeps.push({ time: this.options.clock.now(), ...outcome });
          if (this.sweeps.length > 100) this.sweeps.shift();
          arm();
        },
        'reconcile sweep',
      );
    };
    arm();
  }

  /** Cancels every pending timer. */
  stop(): void {
    this.sweep?.cancel();
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
  }

  private async send(request: RevokerRequest): Promise<{ status: 'fired' | 'failed' | 'recorded'; error?: string }> {
    const { functions, revoker } = this.options;
    if (!functions.has(revoker)) return { status: 'recorded' };
    try {
      await functions.invoke(revoker, request);
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
