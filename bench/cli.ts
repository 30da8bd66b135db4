/**
 * The on-call CLI's figures (docs/benchmarks.md "CLI"):
 * 1. Emergency rotation on the local stack, from the command to the old key answering 401 at the reference provider's
 *    protected endpoint: median of 10 runs (in-process `main`, real clock, the CLI's own polling).
 * 2. `status` (and `status --fingerprints`) for 500 keys on the local stack: wall time and Secrets Manager calls
 *    (counted with SDK middleware), side by side with the naive way (DescribeSecret + GetSecretValue per key).
 * Startup is bench/cli-startup.ts.
 *
 * Run: npx tsx bench/cli.ts   (starts and stops its own local stack; needs moto_server on PATH)
 */
import { PassThrough } from 'node:stream';
import { GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createClients, mapLimit, type ClientFactory } from '../cli/aws';
import type { CliIo } from '../cli/io';
import { main } from '../cli/main';
import { systemClock } from '../core/clock';
import { formatSecretValue, parseSecretValue } from '../core/secret-value';
import { readManagedSecret } from '../core/state';
import { createRevokerHandler } from '../lambda/revoker/handler';
import { resolveConfig } from '../lib/config';
import { LOCAL_FUNCTIONS, startLocalStack, type LocalStack } from '../local/stack';
import { testKey } from '../test/support/local-stack';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const EMERGENCY_RUNS = 10;
const STATUS_KEYS = 500;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const ms = (n: number): string => `${n.toFixed(0)} ms`;

/** An io for in-process runs: output kept (and discarded), real clock, optional client factory. */
function io(endpoint: string, clients: ClientFactory = createClients): CliIo & { text(): string } {
  const out: string[] = [];
  const stdin = new PassThrough();
  stdin.end();
  return {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => out.push(s) },
    stdin,
    env: { AWS_ENDPOINT_URL: endpoint, USER: 'bench' },
    clock: systemClock,
    clients,
    text: () => out.join(''),
  };
}

async function currentKey(sm: SecretsManagerClient, name: string): Promise<string> {
  const got = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }));
  return parseSecretValue(got.SecretString, name).apiKey;
}

async function whoami(stack: LocalStack, apiKey: string): Promise<number> {
  const res = await fetch(`${stack.providerUrl}/v1/whoami`, { headers: { authorization: `Bearer ${apiKey}` } });
  await res.arrayBuffer();
  return res.status;
}

async function emergency(stack: LocalStack, sm: SecretsManagerClient): Promise<void> {
  const name = 'bench/emergency';
  await stack.addKey(testKey(name));
  const totals: number[] = [];
  const current: number[] = [];
  for (let i = 0; i < EMERGENCY_RUNS; i++) {
    const old = await currentKey(sm, name);
    const run = io(stack.endpoint);
    const t0 = performance.now();
    const code = await main(['rotate', '--emergency', name, '--reason', 'bench', '--yes', '--json'], run);
    while ((await whoami(stack, old)) !== 401) {
      if (performance.now() - t0 > 30_000) throw new Error('old key still answers after 30 s');
    }
    totals.push(performance.now() - t0);
    if (code !== 0) throw new Error(`emergency exited ${code}: ${run.text()}`);
    const timeline = JSON.parse(run.text().slice(run.text().indexOf('{'))) as { steps: Array<{ atSeconds: number }> };
    current.push((timeline.steps[0]?.atSeconds ?? 0) * 1000);
  }
  console.log(`emergency rotation, command -> old key 401 (${EMERGENCY_RUNS} runs): median ${ms(median(totals))}, min ${ms(Math.min(...totals))}, max ${ms(Math.max(...totals))}`);
  console.log(`  of which new key AWSCURRENT at: median ${ms(median(current))}`);
}

async function status(stack: LocalStack, sm: SecretsManagerClient): Promise<void> {
  const names = Array.from({ length: STATUS_KEYS }, (_, i) => `bench/status-${String(i).padStart(3, '0')}`);
  await mapLimit(names, 8, async (name, i) => {
    await stack.addKey(testKey(name), { issue: false });
    const value = { apiKey: `bench-not-a-real-key-${i}-${'x'.repeat(24)}`, keyId: `k-${i}`, provider: 'reference', issuedAt: '2026-11-22T10:00:00Z' };
    await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: formatSecretValue(value) }));
  });
  const counts = new Map<string, number>();
  const counting: ClientFactory = (options) => {
    const clients = createClients(options);
    clients.sm.middlewareStack.add(
      (next, context) => async (args) => {
        counts.set(context.commandName ?? '?', (counts.get(context.commandName ?? '?') ?? 0) + 1);
        return next(args);
      },
      { step: 'initialize', name: 'benchCount' },
    );
    return clients;
  };
  for (const argv of [['status', '--json'], ['status', '--json'], ['status', '--json', '--fingerprints'], ['status', '--json', '--fingerprints']]) {
    counts.clear();
    const run = io(stack.endpoint, counting);
    const t0 = performance.now();
    await main(argv, run);
    const wall = performance.now() - t0;
    const keys = (JSON.parse(run.text().slice(run.text().indexOf('{'))) as { keys: unknown[] }).keys.length;
    const calls = [...counts.values()].reduce((a, b) => a + b, 0);
    console.log(`${argv.join(' ')}, ${keys} keys: ${ms(wall)}, ${calls} Secrets Manager calls (${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')})`);
  }
  const t0 = performance.now();
  await mapLimit(names, 8, async (name) => {
    await readManagedSecret(sm, name);
    await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }));
  });
  console.log(`naive, DescribeSecret + GetSecretValue per key, 8 in flight: ${ms(performance.now() - t0)}, ${STATUS_KEYS * 2} calls`);
}

async function run(): Promise<void> {
  const stack = await startLocalStack({
    config: resolveConfig({ keys: {} }),
    quota: 100_000,
    reconcileEveryMs: 0,
    functions: (deps) => ({ [LOCAL_FUNCTIONS.revoker]: createRevokerHandler({ ...deps, metrics: { addMetric: () => undefined } }) }),
  });
  const sm = stack.secretsManager();
  try {
    await emergency(stack, sm);
    await status(stack, sm);
  } finally {
    sm.destroy();
    await stack.stop();
  }
}

await run();
