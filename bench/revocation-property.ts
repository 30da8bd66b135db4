/**
 * The revocation property (test/property/revocation.property.test.ts) at scale: 100,000 generated runs by default.
 * Usage: npx tsx bench/revocation-property.ts [runs] [seed]
 * Prints the runs, the operations they made, what they exercised, and the time taken.
 */
import fc from 'fast-check';
import { runScenario, scenarioArb, stats } from '../test/property/simulation';

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 100_000);
  const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
  const started = performance.now();
  let ran = 0;
  await fc.assert(
    fc.asyncProperty(scenarioArb(), async (scenario) => {
      ran++;
      await runScenario(scenario);
    }),
    { numRuns: runs, seed },
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(`revocation property: ${ran} generated cases passed (seed ${seed}) in ${seconds.toFixed(1)} s`);
  console.log(`exercised: ${JSON.stringify(stats)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
