import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration suites start their own moto + local stack; keep the pool small on 2-core machines.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    setupFiles: ['test/support/setup.ts'],
    // The functions' bundles, built once per run for the integration tests that run them as Node 24 processes.
    globalSetup: ['test/support/global-setup.ts'],
  },
});
