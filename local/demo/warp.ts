/**
 * The clock's real-time source, warped: while the stack starts and the first keys are issued it runs `speed` times
 * slower than real time (so the demo clock moves at real speed: start-up on a loaded machine must not eat days of
 * the story), then at real speed from {@link Warp.go}. Uses only LocalClock's injectable `realNow`.
 */
export class Warp {
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
