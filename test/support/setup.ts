import { afterAll } from 'vitest';
import { capturedOutput, leakedSecrets } from './leak-guard';

// Whole-suite guard: after every test file, nothing written to stdout/stderr/console may contain a key value that a
// test, a fake or the reference provider registered. See ./leak-guard.ts.
capturedOutput.install();
afterAll(() => {
  const leaks = leakedSecrets();
  if (leaks.length > 0) {
    throw new Error(`key material appeared in log output (${leaks.length} key(s)); first leak near: ${leaks[0]}`);
  }
});
