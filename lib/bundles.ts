import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeyRelayError } from '../core/errors';

/** keyrelay's Lambda functions and their entry modules (each exports `handler`). */
export const LAMBDA_ENTRIES = {
  rotation: 'lambda/rotation/handler.ts',
  revoker: 'lambda/revoker/handler.ts',
} as const;

/** A function keyrelay deploys. */
export type LambdaName = keyof typeof LAMBDA_ENTRIES;

/** Node.js major of the Lambda runtime the bundles target (`nodejs24.x`). */
export const LAMBDA_NODE_MAJOR = 24;

/** The handler setting of every function: `index.js`, export `handler`. */
export const LAMBDA_HANDLER = 'index.handler';

/**
 * This package's root: the nearest directory above this module holding a `package.json`. That is the clone's root
 * when this runs from `lib/`, and the installed package's root when it runs from the built `dist/lib/` (where the
 * CommonJS build stands `import.meta.url` in for `__filename`, see lib/build.ts).
 */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}

/** The root of the keyrelay package this module belongs to (a clone, or `node_modules/keyrelay`). */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** The directory of one function's bundle: what Lambda unzips, alone. */
export function bundleDir(name: LambdaName, outDir = join(PACKAGE_ROOT, 'dist', 'lambda')): string {
  return join(outDir, name);
}

/**
 * The prebuilt bundle directories under `<codeRoot>/dist/lambda` (built by `buildLambdaBundles` of lib/build.ts: in a
 * clone by `npm ci`'s `prepare`, and shipped inside the published package). A synth never builds them, so a CDK app
 * using keyrelay needs neither esbuild nor keyrelay's sources, and the asset hash is the bundle's own.
 *
 * @throws KeyRelayError (`LambdaBundleMissing`) naming the missing file and the command that builds it
 */
export function lambdaBundles(codeRoot = PACKAGE_ROOT): Record<LambdaName, string> {
  const outDir = join(codeRoot, 'dist', 'lambda');
  const names = Object.keys(LAMBDA_ENTRIES) as LambdaName[];
  for (const name of names) {
    const file = join(bundleDir(name, outDir), 'index.js');
    if (!existsSync(file)) {
      throw new KeyRelayError(
        'LambdaBundleMissing',
        `keyrelay's Lambda bundle ${file} is missing: in a clone of keyrelay, run \`npm run build\`; ` +
          'the published keyrelay package ships it, so reinstall keyrelay',
      );
    }
  }
  return Object.fromEntries(names.map((name) => [name, bundleDir(name, outDir)])) as Record<LambdaName, string>;
}
