import { buildLambdaBundles } from '../../lib/build';

/**
 * Once per test run: builds the functions' bundles (`dist/lambda/<name>/index.js`), which the integration tests run
 * as Node 24 processes (local stacks with `functionMode: 'bundle'`). The same build the CDK app deploys.
 */
export default function setup(): void {
  buildLambdaBundles();
}
