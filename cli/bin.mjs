#!/usr/bin/env node
// `npx keyrelay`: loads the TypeScript entry through tsx's ESM API (tsx caches compiled files, so later starts are
// fast) and sets the exit code from `main`. Nothing else lives here.
import { tsImport } from 'tsx/esm/api';

// `keyrelay status | head`: a reader that went away is not an error.
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err;
});

const { main } = await tsImport('./main.ts', import.meta.url);
process.exitCode = await main(process.argv.slice(2));
