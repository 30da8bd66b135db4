#!/usr/bin/env node
// `keyrelay` / `npx keyrelay`: runs the compiled CLI (dist/cli, built by `npm run build` from cli/main.ts) and sets
// the exit code from `main`. Nothing else lives here. CommonJS, as dist/cli is: Node starts it quicker than ESM.
'use strict';

// The AWS SDK warns, in ten lines on stderr, on Node.js below 22 (its releases after early January 2027 need 22);
// keyrelay states its own supported range (package.json `engines`), and its output stays its own.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `keyrelay status | head`: a reader that went away is not an error.
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err;
});

require('../dist/cli/main.cjs')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
