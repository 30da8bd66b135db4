import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build, buildSync, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { bundleDir, LAMBDA_ENTRIES, LAMBDA_NODE_MAJOR, PACKAGE_ROOT, type LambdaName } from './bundles';

/**
 * Builds what keyrelay's two packages ship, from the sources: `npm run build`, which `prepare` runs after `npm ci` and
 * before `npm pack`/`npm publish`. Never imported by the constructs (lib/index.ts): an installed keyrelay finds its
 * output prebuilt (lib/bundles.ts) and needs no esbuild.
 */

/**
 * package.json's `sideEffects` lists the modules imported for their effect alone (`import './zod-mini'`); a new one
 * missing from the list would be dropped from the bundles without a word, so that is an error.
 */
const SIDE_EFFECTS_DECLARED: BuildOptions['logOverride'] = { 'ignored-bare-import': 'error' };

/** Options of {@link buildLambdaBundles}. */
export interface BuildLambdaOptions {
  /** Directory holding `lambda/`. @default - this package's root */
  readonly codeRoot?: string;
  /** Where the bundles go, one directory per function. @default - `<codeRoot>/dist/lambda` */
  readonly outDir?: string;
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
    logOverride: SIDE_EFFECTS_DECLARED,
    absWorkingDir: codeRoot,
  };
}

/** Oldest Node.js major the packages' JavaScript runs on: the supported range (`engines`) starts at 22, the code at 20. */
const NODE_TARGET = 'node20';

/** What every package build shares: Node, source kept readable, class names kept (errors are named after them). */
const COMMON: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: NODE_TARGET,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  logOverride: SIDE_EFFECTS_DECLARED,
  metafile: true,
};

/** The CLI's dynamic imports (`await import('./commands/status')`) load the built file beside main.cjs, not a copy inlined. */
const lazyModulesStayApart: Plugin = {
  name: 'keyrelay-lazy-modules',
  setup(b) {
    b.onResolve({ filter: /^\.\/(?:commands\/[\w-]+|context)$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: `${args.path}.cjs`, external: true } : undefined,
    );
  },
};

/** Bare module specifiers (`zod/mini`, `@aws-sdk/client-sts`) an output imports, by package name. */
function externalPackages(metafile: Metafile): Set<string> {
  const names = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const { path, external } of output.imports) {
      if (!external || path.startsWith('node:') || path.startsWith('.')) continue;
      names.add(path.split('/').slice(0, path.startsWith('@') ? 2 : 1).join('/'));
    }
  }
  return names;
}

/** @throws Error when an output imports a package its `package.json` does not declare (it would fail once installed). */
function checkDeclared(pkgDir: string, metafile: Metafile): void {
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { name: string; dependencies?: object; peerDependencies?: object };
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
  const missing = [...externalPackages(metafile)].filter((name) => !declared.has(name));
  if (missing.length > 0) throw new Error(`${pkg.name}'s build imports ${missing.join(', ')}: add to its dependencies, or bundle it`);
}

/**
 * The `.d.ts` of each entry, rolled up into one file that imports only other packages: TypeScript's own declaration
 * emit (one file per module, with extensionless imports that `node16` resolution cannot follow), then API Extractor's
 * roll-up of the entry's public surface.
 */
function buildDeclarations(root: string, entries: ReadonlyArray<{ entry: string; pkgDir: string; out: string }>): void {
  const work = join(root, 'dist', '.declarations');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(
    join(work, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: { noEmit: false, declaration: true, emitDeclarationOnly: true, outDir: '.', rootDir: '../..' },
      include: [],
      files: entries.map(({ entry }) => `../../${entry}`),
    }),
  );
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(work, 'tsconfig.json')], { encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc (declarations) failed:\n${tsc.stdout}${tsc.stderr}`);
  // API Extractor carries its own TypeScript (for its JS API, which TypeScript 7's native compiler does not have).
  const { Extractor, ExtractorConfig, ExtractorLogLevel } = createRequire(import.meta.url)('@microsoft/api-extractor') as typeof import('@microsoft/api-extractor');
  for (const { entry, pkgDir, out } of entries) {
    const config = ExtractorConfig.prepare({
      configObject: {
        projectFolder: work,
        mainEntryPointFilePath: join(work, entry.replace(/\.ts$/, '.d.ts')),
        // `bundler` follows the emitted files' extensionless imports; the roll-up imports only packages.
        compiler: { overrideTsconfig: { compilerOptions: { module: 'esnext', moduleResolution: 'bundler', types: ['node'], skipLibCheck: true } } },
        dtsRollup: { enabled: true, untrimmedFilePath: out },
        apiReport: { enabled: false },
        docModel: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages: {
          compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
          // The roll-up only: release tags and API policing are not used here.
          extractorMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
          tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
        },
      },
      configObjectFullPath: undefined,
      packageJsonFullPath: join(pkgDir, 'package.json'),
    });
    const result = Extractor.invoke(config, {
      localBuild: true,
      // Its informational console lines ("Analysis will use the bundled TypeScript version ...") are noise in a build log.
      messageCallback: (message) => {
        if (message.logLevel === ExtractorLogLevel.Info || message.logLevel === ExtractorLogLevel.Verbose) message.handled = true;
      },
    });
    if (!result.succeeded) throw new Error(`API Extractor failed for ${entry}: ${result.errorCount} errors`);
  }
  rmSync(work, { recursive: true, force: true });
}

/** Where {@link buildPackages} wrote each output. */
export interface PackageOutputs {
  /** The constructs: CommonJS (Node's ESM `import` takes its named exports too) and its types. */
  readonly lib: string;
  /** The CLI's entry module; its commands are files beside it, loaded on first use. */
  readonly cli: string;
  /** `@keyrelay/client`'s directory of ESM, CommonJS and types. */
  readonly client: string;
}

/**
 * Builds the constructs (`dist/lib`), the CLI (`dist/cli`) and `@keyrelay/client` (`client/dist`), with their types.
 * npm packages stay external, declared as the package's dependencies (checked here), except in the client, which
 * bundles the core modules it uses and leaves only the AWS SDK to npm.
 */
export async function buildPackages(root = PACKAGE_ROOT): Promise<PackageOutputs> {
  const lib = join(root, 'dist', 'lib');
  const cli = join(root, 'dist', 'cli');
  const client = join(root, 'client', 'dist');
  for (const dir of [lib, cli, client]) rmSync(dir, { recursive: true, force: true });
  const builds = await Promise.all([
    build({
      ...COMMON,
      absWorkingDir: root,
      entryPoints: ['lib/index.ts'],
      outfile: join(lib, 'index.cjs'),
      format: 'cjs',
      packages: 'external',
      // CommonJS has no import.meta: lib/bundles.ts finds the package root from this module's own file.
      define: { 'import.meta.url': '__keyrelay_module_url' },
      banner: { js: "const __keyrelay_module_url = require('node:url').pathToFileURL(__filename).href;" },
    }),
    build({
      ...COMMON,
      absWorkingDir: root,
      // CommonJS: Node starts its CommonJS loader quicker than its ESM loader (about 10 ms of a 50 ms `--help`, see
      // bench/cli-startup.ts). One file per module that cli/main.ts imports on first use (each command, the context),
      // so `--help` loads commander and no AWS SDK; what those files share is copied into each (errors stay one class
      // across the copies by their brand, core/errors.ts).
      entryPoints: ['cli/main.ts', 'cli/context.ts', ...readdirSync(join(root, 'cli', 'commands')).filter((f) => f.endsWith('.ts')).map((f) => `cli/commands/${f}`)],
      outdir: cli,
      outbase: 'cli',
      outExtension: { '.js': '.cjs' },
      format: 'cjs',
      packages: 'external',
      plugins: [lazyModulesStayApart],
    }),
    ...(['esm', 'cjs'] as const).map((format) =>
      build({
        ...COMMON,
        absWorkingDir: root,
        entryPoints: ['client/index.ts'],
        outfile: join(client, format === 'esm' ? 'index.js' : 'index.cjs'),
        format,
        // Only the SDK is left to npm; the rest (the client, the core modules it uses) is bundled and minified, so the
        // package stays small with two copies (ESM and CommonJS). Names are kept: errors are named after their class.
        external: ['@aws-sdk/client-secrets-manager'],
        minify: true,
      }),
    ),
  ]);
  const [libBuild, cliBuild, ...clientBuilds] = builds;
  checkDeclared(root, libBuild!.metafile!);
  checkDeclared(root, cliBuild!.metafile!);
  for (const b of clientBuilds) checkDeclared(join(root, 'client'), b.metafile!);
  buildDeclarations(root, [
    { entry: 'lib/index.ts', pkgDir: root, out: join(lib, 'index.d.cts') },
    { entry: 'client/index.ts', pkgDir: join(root, 'client'), out: join(client, 'index.d.cts') },
  ]);
  // One declaration file: the ESM entry's types re-export the CommonJS entry's (same exports, same shapes).
  writeFileSync(join(client, 'index.d.ts'), "export * from './index.cjs';\n");
  return { lib, cli: join(cli, 'main.cjs'), client };
}
