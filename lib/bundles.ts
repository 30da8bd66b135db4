import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync, type BuildOptions } from 'esbuild';

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

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Options of {@link buildLambdaBundles}. */
export interface BuildLambdaOptions {
  /** Directory holding `lambda/`. @default - this package's root */
  readonly codeRoot?: string;
  /** Where the bundles go, one directory per function. @default - `<codeRoot>/dist/lambda` */
  readonly outDir?: string;
}

/** The directory of one function's bundle: what Lambda unzips, alone. */
export function bundleDir(name: LambdaName, outDir = join(PACKAGE_ROOT, 'dist', 'lambda')): string {
  return join(outDir, name);
}

/**
 * Builds every function's bundle: one CommonJS file `index.js` per function, the AWS SDK included and pinned to the
 * version the tests run (the runtime's own SDK version cannot be seen offline), minified, no source map (its load
 * costs cold-start time). The CDK app deploys exactly these directories and the local stack runs exactly these
 * files under the runtime's Node major, so what is tested is what deploys.
 *
 * Lambda unzips a bundle with no `package.json` above it, so `.js` is CommonJS there: the bundle is CJS.
 *
 * @example
 * const dirs = buildLambdaBundles(); // { rotation: '.../dist/lambda/rotation', revoker: '.../dist/lambda/revoker' }
 */
export function buildLambdaBundles(options: BuildLambdaOptions = {}): Record<LambdaName, string> {
  const codeRoot = options.codeRoot ?? PACKAGE_ROOT;
  const outDir = options.outDir ?? join(codeRoot, 'dist', 'lambda');
  const dirs = {} as Record<LambdaName, string>;
  for (const name of Object.keys(LAMBDA_ENTRIES) as LambdaName[]) {
    const dir = bundleDir(name, outDir);
    mkdirSync(dir, { recursive: true });
    const outfile = join(dir, 'index.js');
    const [bundle] = buildSync({ ...bundleBuildOptions(name, codeRoot), outfile, write: false }).outputFiles;
    // Written aside, then renamed: a synth or a function process reading the bundle never sees half a file.
    const partial = `${outfile}.${process.pid}.tmp`;
    writeFileSync(partial, bundle!.contents);
    renameSync(partial, outfile);
    dirs[name] = dir;
  }
  return dirs;
}

/** esbuild's options for one function's bundle (`bench/bundle-size.ts` reads its composition with them). */
export function bundleBuildOptions(name: LambdaName, codeRoot = PACKAGE_ROOT): BuildOptions {
  return {
    entryPoints: [join(codeRoot, LAMBDA_ENTRIES[name])],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${LAMBDA_NODE_MAJOR}`,
    minify: true,
    // Errors name themselves after their class (`this.name = new.target.name`), and Lambda reports that name as
    // the errorType; minified class names would read `Gg`.
    keepNames: true,
    sourcemap: false,
    legalComments: 'none',
    // The SDK's packages as Node loads them (dist-cjs, their `node` condition), not their ESM builds (`module`): with
    // the lazily imported clients and adapters, ESM modules shared with them are wrapped in lazy initializers that
    // run whole (no tree shaking) at init, which cost more at cold start than the laziness saved (bench/cold-start.ts).
    conditions: ['node'],
    logLevel: 'error',
    absWorkingDir: codeRoot,
  };
}

/**
 * The bundle directories under `<codeRoot>/dist/lambda`, built by {@link buildLambdaBundles} when one is missing (a
 * fresh clone, or a library user's synth). The CDK app (`bin/keyrelay.ts`) rebuilds them first, so a deploy ships the
 * sources it was run from.
 */
export function lambdaBundles(codeRoot = PACKAGE_ROOT): Record<LambdaName, string> {
  const outDir = join(codeRoot, 'dist', 'lambda');
  const names = Object.keys(LAMBDA_ENTRIES) as LambdaName[];
  if (names.every((name) => existsSync(join(bundleDir(name, outDir), 'index.js')))) {
    return Object.fromEntries(names.map((name) => [name, bundleDir(name, outDir)])) as Record<LambdaName, string>;
  }
  return buildLambdaBundles({ codeRoot, outDir });
}
