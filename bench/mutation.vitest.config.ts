import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../vitest.config';

/** The suite's config plus fast-check settings for mutant runs (bench/mutation-setup.ts); `npm test` never loads it. */
export default mergeConfig(base, defineConfig({ test: { setupFiles: ['bench/mutation-setup.ts'] } }));
