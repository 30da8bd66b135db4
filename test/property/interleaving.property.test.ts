import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { interleavingArb, interleavingStats, runInterleaving } from './interleaving';

/** Schedules per CI run; `bench/interleaving-property.ts` runs 100,000. */
const RUNS = Number(process.env.KEYRELAY_INTERLEAVING_RUNS ?? 1000);

describe('Property: operations interleaved call by call (fc.scheduler)', () => {
  it(`never revokes a key AWSCURRENT or AWSPENDING references, and leaves no orphan, over ${RUNS} schedules`, async () => {
    // Prepare
    let ran = 0;
    const property = fc.asyncProperty(interleavingArb, fc.scheduler(), async (c, s) => {
      ran++;
      const violations = await runInterleaving(c, s);
      if (violations.length > 0) throw new Error(`${violations.join('; ')}\nschedule:\n${String(s)}`);
    });
    // Act
    await fc.assert(property, { numRuns: RUNS, seed: Number(process.env.KEYRELAY_PROPERTY_SEED ?? Date.now() % 2 ** 31) });
    // Assess
    console.log(`interleaving property: ${ran} schedules; exercised ${JSON.stringify(interleavingStats)}`);
    expect(ran).toBeGreaterThanOrEqual(RUNS);
    expect(interleavingStats.promoted).toBeGreaterThan(0);
    expect(interleavingStats.cancelled).toBeGreaterThan(0);
  }, 300_000); // about 60 s on a loaded 2-core machine (docs/benchmarks.md)
});
