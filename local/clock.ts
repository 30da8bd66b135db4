import type { Clock } from '../core/clock';

/** Something that ran because its time came, as {@link LocalClock.advance} reports it. */
export interface RanTimer {
  label: string;
  /** Clock time it was due, ms since the epoch. */
  due: number;
  /** The job's error, when it threw. */
  error?: string;
}

/** Cancels a timer that has not run yet. */
export interface TimerHandle {
  cancel(): void;
}

interface Timer {
  due: number;
  seq: number;
  label: string;
  /** Sleepers only resolve; jobs may return a promise that `advance` awaits. */
  run: () => void | Promise<unknown>;
  job: boolean;
}

/** Options for {@link LocalClock}. */
export interface LocalClockOptions {
  /**
   * How many times faster than real time the clock runs; 0 freezes it (it moves only on `advance`).
   * @default 1
   */
  speed?: number;
  /** Clock time at construction, ms since the epoch. @default - the real time */
  start?: number;
  /** Real time source, injectable for tests. @default Date.now */
  realNow?: () => number;
}

// setTimeout's largest delay; later timers re-arm when it fires.
const MAX_TIMEOUT = 2_147_483_647;

/**
 * The local stack's one clock. It runs `speed` times faster than real time, so a deployable config's days of
 * schedules and grace periods play out in seconds; `advance(ms)` jumps ahead and runs everything that falls due,
 * in order, so tests never wait for AWS time.
 *
 * Trade-off: timers fire from one real `setTimeout` scaled by `speed`; at high speeds several timers can fall due
 * in one tick and then run together (in due order, not awaited one by one). `advance` runs them one at a time.
 *
 * @example
 * const clock = new LocalClock({ speed: 3600 }); // an hour per second
 * clock.at(clock.now() + 86_400_000, () => rotate(), 'rotate payments/api');
 * await clock.advance(86_400_000); // runs it now
 */
export class LocalClock implements Clock {
  readonly speed: number;
  private readonly realNow: () => number;
  private base: number;
  private realBase: number;
  private timers: Timer[] = [];
  private seq = 0;
  private armed?: NodeJS.Timeout;
  private stopped = false;
  private adds = 0;
  private added?: { promise: Promise<void>; resolve: () => void };

  constructor(options: LocalClockOptions = {}) {
    this.speed = options.speed ?? 1;
    if (!Number.isFinite(this.speed) || this.speed < 0) {
      throw new RangeError(`clock speed must be a number >= 0, got ${String(options.speed)}`);
    }
    this.realNow = options.realNow ?? Date.now;
    this.realBase = this.realNow();
    this.base = options.start ?? this.realBase;
  }

  now(): number {
    return Math.floor(this.base + (this.realNow() - this.realBase) * this.speed);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.add(this.now() + Math.max(0, ms), 'sleep', resolve, false));
  }

  /** Runs `job` when the clock reaches `due` (at once if it has). `advance` awaits the promise it returns. */
  at(due: number, job: () => void | Promise<unknown>, label = 'job'): TimerHandle {
    const timer = this.add(due, label, job, true);
    return {
      cancel: () => {
        this.timers = this.timers.filter((t) => t !== timer);
        this.arm();
      },
    };
  }

  /** Timers not yet run, earliest first (sleepers included, as `sleep`). */
  pending(): Array<{ label: string; due: number }> {
    return this.timers.map(({ label, due }) => ({ label, due }));
  }

  /**
   * Moves the clock `ms` forward. Every timer due by then runs in due order with the clock set to its due time.
   * A job is awaited before the next timer runs, unless it waits on the clock itself (it adds a timer due inside
   * the span, e.g. a back-off `sleep`): then that timer runs, so nothing deadlocks. Timers that running jobs add
   * inside the span run too, and `advance` returns once every job it started has ended. Job failures are reported
   * in the result, not thrown.
   *
   * Trade-off: a job still waiting on the clock beyond the span keeps `advance` waiting until real time reaches it
   * (forever at speed 0).
   */
  async advance(ms: number): Promise<RanTimer[]> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance needs a number of ms >= 0, got ${String(ms)}`);
    const target = this.now() + ms;
    const ran: RanTimer[] = [];
    const running = new Set<Promise<void>>();
    for (;;) {
      const next = this.timers[0];
      if (next && next.due <= target) {
        this.timers.shift();
        if (next.due > this.now()) this.set(next.due);
        const entry: RanTimer = { label: next.label, due: next.due };
        if (next.job) ran.push(entry);
        const addsBefore = this.adds;
        const done = Promise.resolve()
          .then(next.run)
          .then(
            () => undefined,
            (err: unknown) => {
              entry.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
            },
          );
        running.add(done);
        void done.then(() => running.delete(done));
        // Let a resolved sleeper's continuation (or a job) run up to its next await.
        await new Promise((resolve) => setImmediate(resolve));
        // A job is awaited, unless it added a timer inside the span: then it is waiting on the clock.
        while (next.job && running.has(done)) {
          const first = this.timers[0];
          if (this.adds > addsBefore && first && first.due <= target) break;
          await Promise.race([done, this.nextAdded()]);
        }
        continue;
      }
      if (running.size === 0) break;
      await Promise.race([...running, this.nextAdded()]);
    }
    if (target > this.now()) this.set(target);
    this.arm();
    return ran;
  }

  /** Stops firing timers in real time (pending ones stay pending). */
  stop(): void {
    this.stopped = true;
    if (this.armed) clearTimeout(this.armed);
    this.armed = undefined;
  }

  private set(time: number): void {
    this.base = time;
    this.realBase = this.realNow();
  }

  /** Resolves the next time a timer is added. */
  private nextAdded(): Promise<void> {
    if (!this.added) {
      let resolve = (): void => undefined;
      const promise = new Promise<void>((r) => (resolve = r));
      this.added = { promise, resolve };
    }
    return this.added.promise;
  }

  private add(due: number, label: string, run: () => void | Promise<unknown>, job: boolean): Timer {
    const timer: Timer = { due, seq: this.seq++, label, run, job };
    this.adds += 1;
    const added = this.added;
    this.added = undefined;
    added?.resolve();
    // Sorted insert keeps due order, and insertion order among equal due times.
    let i = this.timers.length;
    while (i > 0 && (this.timers[i - 1] as Timer).due > due) i--;
    this.timers.splice(i, 0, timer);
    this.arm();
    return timer;
  }

  private arm(): void {
    if (this.armed) clearTimeout(this.armed);
    this.armed = undefined;
    const next = this.timers[0];
    if (this.stopped || !next) return;
    if (this.speed === 0 && next.due > this.now()) return;
    const wait = this.speed === 0 ? 0 : Math.min(MAX_TIMEOUT, Math.max(0, Math.ceil((next.due - this.now()) / this.speed)));
    this.armed = setTimeout(() => this.fire(), wait);
    this.armed.unref();
  }

  private fire(): void {
    this.armed = undefined;
    const now = this.now();
    while (this.timers[0] && this.timers[0].due <= now) {
      const timer = this.timers.shift() as Timer;
      // Real-time firing does not wait for jobs; their own code records failures.
      void Promise.resolve()
        .then(timer.run)
        .catch(() => undefined);
    }
    this.arm();
  }
}
