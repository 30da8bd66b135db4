import type { Clock } from '../../core/clock';

/**
 * A clock that moves only when told. `sleep` resolves when `advance` passes its wake time; `autoAdvance`
 * makes every sleep return at once (moving time forward) for code that backs off in a loop.
 */
export class FakeClock implements Clock {
  private sleepers: Array<{ wake: number; resolve: () => void }> = [];

  constructor(
    private time = Date.UTC(2026, 10, 22, 10, 0, 0),
    /** When true, `sleep(ms)` advances time by `ms` and resolves at once. */
    public autoAdvance = false,
  ) {}

  now(): number {
    return this.time;
  }

  sleep(ms: number): Promise<void> {
    if (this.autoAdvance) {
      this.time += Math.max(0, ms);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.sleepers.push({ wake: this.time + Math.max(0, ms), resolve }));
  }

  /** Moves time forward, waking sleepers in order. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      this.sleepers.sort((a, b) => a.wake - b.wake);
      const next = this.sleepers[0];
      if (!next || next.wake > target) break;
      this.sleepers.shift();
      this.time = next.wake;
      next.resolve();
      await Promise.resolve();
    }
    this.time = target;
  }
}
