/**
 * The interleaving property (test/property/interleaving.property.test.ts) at scale: 100,000 schedules by default.
 * Usage: npx tsx bench/interleaving-property.ts [runs] [seed]
 * Prints the schedules run, what they exercised, and the time taken.
 */
import fc from 'fast-check';
import { interleavingArb, interleavingStats, runInterleaving } from '../test/property/interleaving';

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 100_000);
  const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(interleavingArb, fc.scheduler(), async (c, s) => {
      const violations = await runInterleaving(c, s);
      if (violations.length > 0) throw new Error(`${violations.join('; ')}\nschedule:\n${String(s)}`);
    }),
    { numRuns: runs, seed },
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(`interleaving property: ${interleavingStats.runs} schedules passed (seed ${seed}) in ${seconds.toFixed(1)} s`);
  console.log(`exercised: ${JSON.stringify(interleavingStats)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
