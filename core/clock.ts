/**
 * One clock per process. Everything that reads the time or waits takes a `Clock`, so tests advance time
 * instead of sleeping, and the local stack can run its clock faster than real time.
 */
export interface Clock {
  /** Milliseconds since the epoch, in this clock's time. */
  now(): number;
  /**
   * Milliseconds on a clock that never goes back (`performance.now()` on the real clock), for measuring intervals: a
   * wall clock set back must not stretch a cache's lifetime. @default - `now()` (fake and local clocks only move forward)
   */
  elapsed?(): number;
  /** Resolves after `ms` of this clock's time has passed. */
  sleep(ms: number): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  elapsed: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** ISO-8601 timestamp of `ms` without milliseconds noise, e.g. `2026-11-22T10:00:00Z`. */
export function isoTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
