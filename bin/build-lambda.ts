import { buildLambdaBundles } from '../lib/build';

/** Builds the functions' bundles into dist/lambda/<name>/index.js: the one build that deploys and that the local stack runs. */
for (const [name, dir] of Object.entries(buildLambdaBundles())) console.log(`${name}: ${dir}/index.js`);
