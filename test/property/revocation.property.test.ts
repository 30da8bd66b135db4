import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runScenario, scenarioArb, stats } from './simulation';

/** Cases per CI run; `bench/revocation-property.ts` runs 100,000. */
const RUNS = Number(process.env.KEYRELAY_PROPERTY_RUNS ?? 1000);

describe('Property: revocation under random interleavings and faults', () => {
  it(`keeps every invariant over ${RUNS} generated runs`, async () => {
    // Prepare
    let ran = 0;
    const property = fc.asyncProperty(scenarioArb(), async (scenario) => {
      ran++;
      await runScenario(scenario);
    });
    // Act
    await fc.assert(property, { numRuns: RUNS, seed: Number(process.env.KEYRELAY_PROPERTY_SEED ?? Date.now() % 2 ** 31) });
    // Assess
    console.log(`revocation property: ${ran} generated cases ran; exercised ${JSON.stringify(stats)}`);
    expect(ran).toBeGreaterThanOrEqual(RUNS);
    // A run that exercised nothing would pass the invariants: each mechanism must have happened (at 1,000 runs each
    // happens dozens of times; 200 runs gave 106 revoked, 60 disabled, 62 emergencies, 10 restored).
    expect(stats.operations).toBeGreaterThan(ran);
    expect(stats.revoked).toBeGreaterThan(0);
    expect(stats.disabled).toBeGreaterThan(0);
    expect(stats.emergencies).toBeGreaterThan(0);
    expect(stats.restored).toBeGreaterThan(0);
  }, 180_000); // every revoke and disable re-reads the labels first (ownership): about 30 s on a loaded 2-core machine
});
