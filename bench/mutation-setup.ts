import fc from 'fast-check';

// Mutant runs only (bench/mutation.vitest.config.ts): a fixed seed makes every mutant meet the same generated cases,
// and no shrinking, since a failure found is all Stryker needs. Property tests that set their own seed keep it:
// revocation.property.test.ts reads the same KEYRELAY_PROPERTY_SEED that bench/mutation.ts sets.
fc.configureGlobal({
  ...fc.readConfigureGlobal(),
  seed: Number(process.env.KEYRELAY_PROPERTY_SEED ?? 1),
  endOnFailure: true,
});
