import { buildLambdaBundles, buildPackages } from '../lib/build';

/**
 * `npm run build` (and `prepare`, so `npm ci`, `npm pack` and `npm publish` run it): the functions' bundles, the
 * constructs, the CLI and `@keyrelay/client`, with their types. See lib/build.ts.
 */
for (const [name, dir] of Object.entries(buildLambdaBundles())) console.log(`lambda ${name}: ${dir}/index.js`);
for (const [name, out] of Object.entries(await buildPackages())) console.log(`${name}: ${out}`);
