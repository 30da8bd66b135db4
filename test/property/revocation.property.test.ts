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
  }, 180_000); // every revoke and disable re-reads the labels first (ownership): about 30 s on a loaded 2-core machine
});
