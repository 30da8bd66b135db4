/**
 * Wall time of local rotations: one full rotation at a time, and 50 rotations of 50 different secrets at once.
 * Each rotation is a real `RotateSecret` through the AWS SDK to the local endpoint, timed until its four steps have
 * run (the real handler, moto, the reference provider over HTTP).
 *
 * `--functions bundle` runs the functions from their deployed bundles as Node 24 processes behind the local Lambda
 * Runtime API (what `npm run local` does); `in-process` (the default here, as the earlier figures) imports them.
 *
 * Run: `npx tsx bench/rotation-local.ts [--sequential N] [--rounds N] [--functions in-process|bundle]`
 */
import { parseArgs } from 'node:util';
import { RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { buildLambdaBundles } from '../lib/build';
import { resolveConfig } from '../lib/config';
import type { FunctionMode } from '../local/functions';
import { startLocalStack } from '../local/stack';

const { values } = parseArgs({
  options: {
    sequential: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '5' },
    functions: { type: 'string', default: 'in-process' },
  },
});
const functionMode = values.functions as FunctionMode;
if (functionMode === 'bundle') buildLambdaBundles();
const SEQUENTIAL = Number(values.sequential);
const ROUNDS = Number(values.rounds);
const CONCURRENT = 50;

// Quiet functions: the bench measures rotations, not terminal output.
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `${label}: median ${percentile(sorted, 50).toFixed(0)} ms, p95 ${percentile(sorted, 95).toFixed(0)} ms (n=${sorted.length})`;
}

const keys: Record<string, object> = {};
for (let i = 0; i < CONCURRENT; i++) keys[`bench/key-${i}`] = { rotateEvery: '30d', gracePeriod: '1d' };
const stack = await startLocalStack({
  config: resolveConfig({ defaults: { provider: { type: 'reference' }, adminSecret: 'bench/admin' }, keys }),
  quota: 100_000,
  reconcileEveryMs: 0,
  functionMode,
});
const sm = stack.secretsManager();
const names = Object.keys(keys);

async function rotateOnce(name: string): Promise<number> {
  const started = performance.now();
  await sm.send(new RotateSecretCommand({ SecretId: name }));
  const run = (await stack.rotation.settled(name))?.runs.at(-1);
  if (run?.status !== 'succeeded') throw new Error(`rotation of ${name} ended ${run?.status ?? 'nowhere'}: ${run?.errors.join('; ')}`);
  return performance.now() - started;
}

try {
  // Warm-up: first SDK calls, provider adapters, moto's code paths.
  for (const name of names.slice(0, 3)) await rotateOnce(name);

  const one: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) one.push(await rotateOnce(names[i % names.length] as string));

  const each: number[] = [];
  const batches: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    each.push(...(await Promise.all(names.map(rotateOnce))));
    batches.push(performance.now() - started);
  }

  const functionNode = stack.lambdaRuntime ? `functions on node ${stack.lambdaRuntime.node.version} (bundles)` : 'functions in-process';
  console.log(`node ${process.version}, ${functionNode}, ${CONCURRENT} secrets, reference provider quota unlimited`);
  console.log(summary('one rotation at a time', one));
  console.log(summary(`${CONCURRENT} concurrent rotations, each`, each));
  console.log(summary(`${CONCURRENT} concurrent rotations, whole batch`, batches));
} finally {
  sm.destroy();
  await stack.stop();
}
