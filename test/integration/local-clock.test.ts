import { describe, expect, it } from 'vitest';
import { LocalClock } from '../../local/clock';
import { AwsServiceError, nextWindow } from '../../local/rotation-service';

// The local stack's clock and rotation windows: pure logic, no servers (kept beside the local stack's tests).
const START = Date.UTC(2026, 10, 22, 10, 0, 0);
const HOUR = 3_600_000;

/** A real-time source the test moves by hand. */
function realTime(start = 1_000_000): { now: () => number; move: (ms: number) => void } {
  let t = start;
  return { now: () => t, move: (ms) => (t += ms) };
}

describe('Class: LocalClock', () => {
  it('runs speed times faster than real time', () => {
    // Prepare
    const real = realTime();
    const clock = new LocalClock({ speed: 3600, start: START, realNow: real.now });

    // Act
    real.move(1000);

    // Assess
    expect(clock.now()).toBe(START + HOUR);
  });

  it('stays put at speed 0 until advanced', async () => {
    // Prepare
    const real = realTime();
    const clock = new LocalClock({ speed: 0, start: START, realNow: real.now });

    // Act
    real.move(60_000);
    const before = clock.now();
    await clock.advance(5000);

    // Assess
    expect(before).toBe(START);
    expect(clock.now()).toBe(START + 5000);
  });

  it('runs due jobs and sleepers in due order with the clock at each due time', async () => {
    // Prepare
    const clock = new LocalClock({ speed: 0, start: START });
    const seen: Array<[string, number]> = [];
    clock.at(START + 3 * HOUR, () => void seen.push(['c', clock.now()]), 'c');
    clock.at(START + HOUR, () => void seen.push(['a', clock.now()]), 'a');
    void clock.sleep(2 * HOUR).then(() => seen.push(['sleep', clock.now()]));
    clock.at(START + 5 * HOUR, () => void seen.push(['late', clock.now()]), 'late');

    // Act
    const ran = await clock.advance(4 * HOUR);

    // Assess
    expect(seen).toEqual([
      ['a', START + HOUR],
      ['sleep', START + 2 * HOUR],
      ['c', START + 3 * HOUR],
    ]);
    expect(ran.map((r) => r.label)).toEqual(['a', 'c']);
    expect(clock.now()).toBe(START + 4 * HOUR);
    expect(clock.pending().map((t) => t.label)).toEqual(['late']);
  });

  it('awaits jobs, runs the timers they add inside the span, and reports failures without throwing', async () => {
    // Prepare
    const clock = new LocalClock({ speed: 0, start: START });
    const seen: string[] = [];
    clock.at(
      START + HOUR,
      async () => {
        await clock.sleep(HOUR);
        seen.push('slept');
        clock.at(clock.now() + HOUR, () => void seen.push('chained'), 'chained');
      },
      'first',
    );
    clock.at(START + 2 * HOUR, () => Promise.reject(new Error('boom')), 'failing');

    // Act
    const ran = await clock.advance(10 * HOUR);

    // Assess
    expect(seen).toEqual(['slept', 'chained']);
    expect(ran).toContainEqual(expect.objectContaining({ label: 'failing', error: 'Error: boom' }));
  });

  it('does not run a cancelled job', async () => {
    // Prepare
    const clock = new LocalClock({ speed: 0, start: START });
    let ran = false;
    clock.at(START + HOUR, () => void (ran = true)).cancel();

    // Act
    await clock.advance(2 * HOUR);

    // Assess
    expect(ran).toBe(false);
  });

  it('throws when speed or an advance is negative', async () => {
    // Act & Assess
    expect(() => new LocalClock({ speed: -1 })).toThrow(/speed must be a number >= 0, got -1/);
    await expect(new LocalClock({ speed: 0 }).advance(-5)).rejects.toThrow(/got -5/);
  });
});

describe('Function: nextWindow', () => {
  it('opens a rate window one interval after the last rotation, for the rest of the day', () => {
    // Act
    const window = nextWindow({ ScheduleExpression: 'rate(7 days)' }, START);

    // Assess
    expect(window.start).toBe(START + 7 * 24 * HOUR);
    expect(window.length).toBe(14 * HOUR); // 10:00 to midnight UTC
  });

  it('opens a cron window at the next matching hour, with its Duration', () => {
    // Act
    const window = nextWindow({ ScheduleExpression: 'cron(0 3 ? * TUE *)', Duration: '2h' }, START); // a Sunday

    // Assess
    expect(new Date(window.start).toISOString()).toBe('2026-11-24T03:00:00.000Z');
    expect(window.length).toBe(2 * HOUR);
  });

  it('lasts an hour for schedules more frequent than daily', () => {
    // Act & Assess
    expect(nextWindow({ ScheduleExpression: 'rate(6 hours)' }, START)).toEqual({ start: START + 6 * HOUR, length: HOUR });
  });

  it('throws InvalidParameterException for a schedule AWS rejects', () => {
    // Act & Assess
    expect(() => nextWindow({ ScheduleExpression: 'rate(1 hours)' }, START)).toThrow(AwsServiceError);
    expect(() => nextWindow({ ScheduleExpression: 'cron(15 3 * * ? *)' }, START)).toThrow(/minutes must be 0/);
    expect(() => nextWindow({}, START)).toThrow(/AutomaticallyAfterDays or ScheduleExpression/);
  });
});
