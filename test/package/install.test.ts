import { execFile, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { GetSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, parseSecretValue } from '../../core/secret-value';
import { buildPackages } from '../../lib/build';
import { PACKAGE_ROOT } from '../../lib/bundles';
import { PRINCIPAL_CREDENTIALS } from '../../local/iam/principals';
import { FAST_LOCAL_STACK, useLocalStack } from '../support/local-stack';

// keyrelay as users install it: both packages built from these sources, packed by `npm pack` (what `npm publish`
// uploads), installed from the tarballs into scratch projects, and run on the Node running this suite (.ci/run runs
// it under Node 22, then 24) against a local stack:
// (a) an ESM and (b) a CommonJS app read a rotated key through @keyrelay/client;
// (c) a strict TypeScript app type-checks against the published .d.ts (nodenext, node16, bundler);
// (d) an external CDK app synthesizes a key with keyrelay's constructs, and `npx keyrelay status` runs from it.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const local = useLocalStack(FAST_LOCAL_STACK);

/** Exact versions from the repository's own lock, so the scratch installs come from npm's cache. */
const VERSIONS = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
const dev = (name: string): string => `${name}@${VERSIONS.devDependencies[name]}`;

/** What `npm pack --json` says of one tarball. */
interface Packed {
  filename: string;
  unpackedSize: number;
  files: Array<{ path: string; size: number }>;
}

let scratch = '';
const packed: Record<'keyrelay' | 'client', Packed> = {} as never;
const app = (): string => join(scratch, 'app');
const platform = (): string => join(scratch, 'platform');

/** Runs a command; throws with its output when it exits other than `ok` says. */
function run(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; ok?: number[] }): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (!(options.ok ?? [0]).includes(r.status ?? -1)) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${options.cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}

/**
 * Runs an app that calls the local stack: asynchronously, since the stack's endpoint answers from this process (a
 * synchronous spawn would block it). Throws with the output when the exit code is not in `ok`.
 */
function runApp(cmd: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; ok?: number[] }): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: options.cwd, env: options.env, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if ((options.ok ?? [0]).includes(status)) resolve({ status, stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(' ')} (in ${options.cwd}) exited ${status}:\n${stdout}\n${stderr}`));
    });
  });
}

/** npm, quietly, from its cache where it can. */
const npm = (args: string[], cwd: string): SpawnSyncReturns<string> => run('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd });

/**
 * The environment of a scratch project: this suite's Node first on PATH (`npx` and bins run on it), no AWS settings
 * (a synth is offline).
 */
function offlineEnv(): NodeJS.ProcessEnv {
  return { PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, HOME: process.env.HOME, CDK_DISABLE_CLI_TELEMETRY: '1' };
}

/** The environment of a scratch app calling AWS: {@link offlineEnv} with the local stack's endpoint, signing as `as`. */
function appEnv(as: 'admin' | 'oncall'): NodeJS.ProcessEnv {
  const credentials = PRINCIPAL_CREDENTIALS[as];
  return {
    ...offlineEnv(),
    AWS_ENDPOINT_URL: local.stack.endpoint,
    AWS_REGION: local.stack.region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  };
}

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'keyrelay-package-'));
  const tarballs = join(scratch, 'tarballs');
  mkdirSync(tarballs);
  return (async () => {
    // The packages' JavaScript and types from these sources (the Lambda bundles: the suite's global setup).
    await buildPackages();
    for (const [name, workspace] of [['keyrelay', []], ['client', ['--workspace', 'client']]] as const) {
      const out = npm(['pack', ...workspace, '--ignore-scripts', '--json', '--pack-destination', tarballs], PACKAGE_ROOT).stdout;
      packed[name] = (JSON.parse(out) as Packed[])[0]!;
    }
    const tgz = (p: Packed): string => `file:${join(tarballs, p.filename)}`;
    writeFiles(app(), {
      'package.json': JSON.stringify({ name: 'scratch-app', private: true, dependencies: { '@keyrelay/client': tgz(packed.client) } }),
    });
    npm(['install', dev('@types/node'), dev('typescript')], app());
    writeFiles(platform(), {
      'package.json': JSON.stringify({ name: 'scratch-platform', private: true, type: 'module', dependencies: { keyrelay: tgz(packed.keyrelay) } }),
    });
    npm(['install', dev('aws-cdk-lib'), dev('constructs'), dev('aws-cdk')], platform());
  })();
}, 900_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Rotates a new key and waits for the rotation to finish: the fingerprint of the key now current, and of the first. */
async function rotatedKey(): Promise<{ name: string; first: string; current: string }> {
  const name = await local.addKey('package');
  const read = async (): Promise<string> =>
    fingerprint(parseSecretValue((await local.sm().send(new GetSecretValueCommand({ SecretId: name }))).SecretString, name).apiKey);
  const first = await read();
  const { VersionId: token } = await local.sm().send(new RotateSecretCommand({ SecretId: name }));
  await local.waitFor(name, (stages) => stages[token as string]?.includes('AWSCURRENT') === true);
  const current = await read();
  return { name, first, current };
}

describe('published files', () => {
  it('keyrelay ships the constructs, the CLI, the prebuilt Lambda bundles and nothing else (no sources, no tests)', () => {
    const paths = packed.keyrelay.files.map((f) => f.path).sort();
    expect(paths.filter((p) => !p.startsWith('dist/cli/'))).toEqual(
      [
        'CHANGELOG.md',
        'README.md',
        'cli/bin.cjs',
        'dist/lambda/revoker/index.js',
        'dist/lambda/rotation/index.js',
        'dist/lib/index.cjs',
        'dist/lib/index.d.cts',
        'keyrelay.schema.json',
        'package.json',
      ].sort(),
    );
    expect(paths.filter((p) => p.startsWith('dist/cli/')).every((p) => p.endsWith('.cjs'))).toBe(true);
    // The bundles shipped are the ones the tests run (the suite's global setup built them from these sources).
    for (const name of ['rotation', 'revoker']) {
      const shipped = packed.keyrelay.files.find((f) => f.path === `dist/lambda/${name}/index.js`);
      expect(shipped?.size).toBe(readFileSync(join(PACKAGE_ROOT, 'dist', 'lambda', name, 'index.js')).length);
    }
  });

  it('@keyrelay/client ships ESM, CommonJS, types and its README, under 50 KB installed', () => {
    expect(packed.client.files.map((f) => f.path).sort()).toEqual(
      ['README.md', 'dist/index.cjs', 'dist/index.d.cts', 'dist/index.d.ts', 'dist/index.js', 'package.json'].sort(),
    );
    expect(packed.client.unpackedSize).toBeLessThan(50 * 1024);
    const manifest = JSON.parse(readFileSync(join(app(), 'node_modules', '@keyrelay', 'client', 'package.json'), 'utf8')) as { dependencies: object };
    expect(Object.keys(manifest.dependencies)).toEqual(['@aws-sdk/client-secrets-manager']);
  });
});

describe('(a, b) an application reads a rotated key through @keyrelay/client', () => {
  const reader = (importLine: string): string => `${importLine}
const name = process.env.KEY_NAME;
const key = await getApiKey(name);
const byWith = await withApiKey(name, async (k) => k);
console.log(JSON.stringify({ fingerprint: 'sha256:' + createHash('sha256').update(key).digest('hex').slice(0, 12), same: byWith === key }));`;

  it('(a) as an ES module: import', async () => {
    const { name, first, current } = await rotatedKey();
    writeFiles(app(), {
      'esm.mjs': reader(`import { createHash } from 'node:crypto';\nimport { getApiKey, withApiKey } from '@keyrelay/client';`),
    });
    const out = await runApp(process.execPath, ['esm.mjs'], { cwd: app(), env: { ...appEnv('admin'), KEY_NAME: name } });
    expect(current).not.toBe(first);
    expect(JSON.parse(out.stdout)).toEqual({ fingerprint: current, same: true });
    // Nothing on stderr on a supported Node (below 22 the AWS SDK warns, which is the app's to silence or not).
    if (Number(process.versions.node.split('.')[0]) >= 22) expect(out.stderr).toBe('');
  });

  it('(b) as CommonJS: require', async () => {
    const { name, current } = await rotatedKey();
    writeFiles(app(), {
      'cjs.cjs': `(async () => {\n${reader(`const { createHash } = require('node:crypto');\nconst { getApiKey, withApiKey } = require('@keyrelay/client');`)}\n})();`,
    });
    const out = await runApp(process.execPath, ['cjs.cjs'], { cwd: app(), env: { ...appEnv('admin'), KEY_NAME: name } });
    expect(JSON.parse(out.stdout)).toEqual({ fingerprint: current, same: true });
  });

  it('an error thrown by the CommonJS copy is instanceof the ESM copy\'s class, and the reverse', async () => {
    writeFiles(app(), {
      'brands.mjs': `import { createRequire } from 'node:module';
import * as esm from '@keyrelay/client';
const cjs = createRequire(import.meta.url)('@keyrelay/client');
const errorOf = async (client) => { try { await client.getApiKey('package/missing'); } catch (err) { return err; } };
const fromCjs = await errorOf(cjs.createKeyClient());
const fromEsm = await errorOf(esm.createKeyClient());
console.log(JSON.stringify({
  distinctClasses: cjs.SecretNotFoundError !== esm.SecretNotFoundError,
  name: fromCjs.name,
  cjsInEsm: fromCjs instanceof esm.SecretNotFoundError && fromCjs instanceof esm.KeyRelayError,
  esmInCjs: fromEsm instanceof cjs.SecretNotFoundError && fromEsm instanceof cjs.KeyRelayError,
  notSibling: !(fromCjs instanceof esm.SecretAccessDeniedError) && !(fromCjs instanceof esm.StateError),
}));`,
    });
    const out = await runApp(process.execPath, ['brands.mjs'], { cwd: app(), env: appEnv('admin') });
    expect(JSON.parse(out.stdout)).toEqual({ distinctClasses: true, name: 'SecretNotFoundError', cjsInEsm: true, esmInCjs: true, notSibling: true });
  });
});

describe('(c) a strict TypeScript app type-checks against the published .d.ts', () => {
  const usage = `
const options: KeyClientOptions = { ttl: 60, staleIfError: 120 };
const client: KeyClient = createKeyClient(options);
export async function use(): Promise<number> {
  const key: string = await client.getApiKey('payments/api');
  const length: number = await withApiKey('payments/api', async (k) => k.length);
  // @ts-expect-error ttl is a number of seconds: the types are real, not any
  createKeyClient({ ttl: '60' });
  try {
    await getApiKey('payments/api');
  } catch (err) {
    if (err instanceof SecretNotFoundError) {
      const code: string = err.code;
      return code.length;
    }
    if (err instanceof KeyRelayError && isAuthFailure(err)) return 0;
  }
  return key.length + length;
}
`;
  const names = 'createKeyClient, getApiKey, isAuthFailure, KeyRelayError, SecretNotFoundError, withApiKey, type KeyClient, type KeyClientOptions';

  it.each([
    ['nodenext', 'nodenext'],
    ['node16', 'node16'],
    ['esnext', 'bundler'],
  ])('module %s, moduleResolution %s', (module, moduleResolution) => {
    const files = moduleResolution === 'bundler' ? ['src/app.ts'] : ['src/app.mts', 'src/app.cts'];
    writeFiles(app(), {
      [`tsconfig.${moduleResolution}.json`]: JSON.stringify({
        compilerOptions: { strict: true, module, moduleResolution, target: 'es2022', types: ['node'], noEmit: true, skipLibCheck: false },
        files,
      }),
      'src/app.mts': `import { ${names} } from '@keyrelay/client';\n${usage}`,
      'src/app.cts': `import { ${names} } from '@keyrelay/client';\n${usage}`,
      'src/app.ts': `import { ${names} } from '@keyrelay/client';\n${usage}`,
    });
    const tsc = run(process.execPath, [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', `tsconfig.${moduleResolution}.json`], { cwd: app(), ok: [0, 1, 2] });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  });
});

describe('(d) a platform team: an external CDK app with the constructs, and the CLI', () => {
  it('synthesizes a key with KeyRelayEngine/KeyRelayKey from the installed package: no esbuild, no sources, the shipped bundles, a stable asset hash', () => {
    writeFiles(platform(), {
      // No notices: fetching them needs the internet.
      'cdk.json': JSON.stringify({ app: 'node app.mjs', notices: false }),
      'keyrelay.config.json': JSON.stringify({
        defaults: { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/reference' },
        keys: { 'payments/reference-api': { rotateEvery: '7d' } },
      }),
      'app.mjs': `import { App } from 'aws-cdk-lib';
import { buildKeyRelay, KeyRelayEngine, KeyRelayKey, loadConfig } from 'keyrelay';
if (typeof KeyRelayEngine !== 'function' || typeof KeyRelayKey !== 'function') throw new Error('constructs missing');
const app = new App();
buildKeyRelay(app, loadConfig('keyrelay.config.json'));
app.synth();
`,
    });
    const installed = join(platform(), 'node_modules');
    expect(existsSync(join(installed, 'esbuild'))).toBe(false);
    expect(existsSync(join(installed, 'keyrelay', 'lambda'))).toBe(false);
    // CommonJS apps require it.
    const required = run(process.execPath, ['-e', "console.log(typeof require('keyrelay').KeyRelayKey)"], { cwd: platform(), env: offlineEnv() });
    expect(required.stdout.trim()).toBe('function');

    // `cdk synth` as a user runs it (offline: with credentials it would look the account up at the local endpoint, which
    // this process serves and a synchronous spawn blocks), then the app alone into another directory: same assets.
    const synth = (outdir: string, how: 'cdk' | 'app'): { templates: Record<string, unknown>; assets: string[] } => {
      if (how === 'cdk') run('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--output', outdir], { cwd: platform(), env: offlineEnv() });
      else run(process.execPath, ['app.mjs'], { cwd: platform(), env: { ...offlineEnv(), CDK_OUTDIR: join(platform(), outdir) } });
      const dir = join(platform(), outdir);
      const templates = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.template.json')).map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8'))]));
      const assets = readdirSync(dir).filter((f) => f.startsWith('asset.')).sort();
      return { templates, assets };
    };
    const first = synth('cdk.out', 'cdk');
    const second = synth('cdk.out.again', 'app');

    const resources = Object.values(first.templates).flatMap((t) => Object.values((t as { Resources?: Record<string, { Type: string }> }).Resources ?? {}));
    expect(resources.filter((r) => r.Type === 'AWS::SecretsManager::Secret')).toHaveLength(1);
    expect(resources.filter((r) => r.Type === 'AWS::Lambda::Function').length).toBeGreaterThanOrEqual(2);
    // The assets are the shipped bundles (plus the manifest of the declared keys), hashed the same on every synth.
    expect(second.assets).toEqual(first.assets);
    const shipped = ['rotation', 'revoker'].map((n) => sha256(readFileSync(join(installed, 'keyrelay', 'dist', 'lambda', n, 'index.js'))));
    const deployed = first.assets.filter((a) => existsSync(join(platform(), 'cdk.out', a, 'index.js'))).map((a) => sha256(readFileSync(join(platform(), 'cdk.out', a, 'index.js'))));
    expect(new Set(deployed)).toEqual(new Set(shipped));
  }, 600_000);

  it('`npx keyrelay status` runs the compiled CLI against the local stack, its output free of SDK warnings', async () => {
    const name = await local.addKey('package-cli');
    const status = await runApp('npx', ['keyrelay', 'status', name, '--json'], { cwd: platform(), env: appEnv('oncall'), ok: [0, 3] });
    expect((JSON.parse(status.stdout) as { keys: Array<{ name: string }> }).keys.map((k) => k.name)).toEqual([name]);
    expect(status.stderr).not.toMatch(/Warning/);
    const bin = readFileSync(join(platform(), 'node_modules', 'keyrelay', 'cli', 'bin.cjs'), 'utf8');
    expect(bin).not.toMatch(/tsx/);
  });

  it('on a Node below the supported range (the machine\'s default, when it is one), the CLI still prints no SDK warning', async () => {
    const node = spawnSync('node', ['-p', 'process.versions.node.split(".")[0] + " " + process.execPath'], { encoding: 'utf8' }).stdout.trim().split(' ');
    if (Number(node[0]) >= 22) return; // no older Node here: the check above covers the supported ones
    const status = await runApp(node[1]!, [join('node_modules', 'keyrelay', 'cli', 'bin.cjs'), 'status', '--json'], { cwd: platform(), env: appEnv('oncall'), ok: [0, 3] });
    expect(status.stderr).toBe('');
    expect(JSON.parse(status.stdout)).toHaveProperty('keys');
  });
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
