/**
 * The application client beside Powertools Parameters and the plain SDK, in one run against one moto_server
 * (started here on a free port, stopped at the end):
 * - cached read, ns per call (median of several runs), beside the floor of a `Map` lookup behind an `await`;
 * - heap allocated per cached read;
 * - backend calls and wall time for 1,000 concurrent cold reads;
 * - backend calls at a steady 1,000 reads/s, over 10 simulated minutes (the clock is simulated: 1 ms per read);
 * - heap per cached key (5,000 secrets; through the SDK with an in-memory transport, see below).
 * Powertools is measured through `SecretsProvider.get`, the code `getSecret` runs, with a counting SDK client.
 *
 * Run: npx tsx bench/client.ts   (needs moto_server on PATH)
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createKeyClient, type KeyClientOptions } from '../client/index';
import type { Clock } from '../core/clock';
import { formatSecretValue } from '../core/secret-value';
import { TAGS } from '../core/state';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/stack';
import { startMoto } from '../local/moto';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const RUNS = 9;
const READS = 300_000;

type Counts = Record<string, number>;

/**
 * A Secrets Manager client on `endpoint` that counts the commands it sends (retries excluded) and knows whether one
 * is in flight.
 */
function countingClient(endpoint: string): { sm: SecretsManagerClient; counts: Counts; busy(): boolean } {
  const sm = new SecretsManagerClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const counts: Counts = {};
  let inFlight = 0;
  sm.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, '');
      counts[name] = (counts[name] ?? 0) + 1;
      inFlight++;
      try {
        return await next(args);
      } finally {
        inFlight--;
      }
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return { sm, counts, busy: () => inFlight > 0 };
}

/** A Secrets Manager client whose transport answers GetSecretValue in memory, with moto's JSON (no sockets). */
function memoryClient(): SecretsManagerClient {
  const decoder = new TextDecoder();
  const handle = async (request: { body?: string | Uint8Array }) => {
    const body = typeof request.body === 'string' ? request.body : decoder.decode(request.body);
    const { SecretId } = JSON.parse(body) as { SecretId: string };
    const answer = {
      ARN: `arn:aws:secretsmanager:${LOCAL_REGION}:123456789012:secret:${SecretId}-AbCdEf`,
      Name: SecretId,
      VersionId: randomUUID(),
      SecretString: formatSecretValue(benchValue(SecretId)),
      VersionStages: ['AWSCURRENT'],
      CreatedDate: Date.now() / 1000,
    };
    const headers = { 'content-type': 'application/x-amz-json-1.1' };
    return { response: { statusCode: 200, headers, body: Readable.from([Buffer.from(JSON.stringify(answer))]) } };
  };
  return new SecretsManagerClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, requestHandler: { handle } as never });
}

/** The value every bench secret holds. */
function benchValue(name: string) {
  return { apiKey: `rk_bench_${name}_${'x'.repeat(24)}`, keyId: `key_${name}`, provider: 'reference', issuedAt: '2026-11-22T10:00:00Z' };
}

const total = (counts: Counts): number => Object.values(counts).reduce((a, b) => a + b, 0);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const t0 = performance.now();
const progress = (what: string): void => void process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}\n`);

/**
 * ns per call of each read, median of RUNS runs of `n` sequential awaited reads; the variants take turns within each
 * round (after one warm-up round), so a noisy moment on a shared machine hits them alike.
 */
async function nsPerRead(reads: Record<string, () => unknown>, n: number): Promise<Record<string, { median: number; runs: number[] }>> {
  const runs: Record<string, number[]> = {};
  for (let round = -1; round < RUNS; round++) {
    for (const [label, read] of Object.entries(reads)) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await read();
      if (round >= 0) (runs[label] ??= []).push(Number(process.hrtime.bigint() - start) / n);
      await turn();
    }
  }
  return Object.fromEntries(Object.entries(runs).map(([label, r]) => [label, { median: median(r), runs: r }]));
}

/** Bytes of heap each read leaves behind before the next GC (10,000 reads between two GCs). */
async function bytesPerRead(read: () => unknown): Promise<number> {
  const n = 10_000;
  const samples: number[] = [];
  for (let r = 0; r < 5; r++) {
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < n; i++) await read();
    samples.push((process.memoryUsage().heapUsed - before) / n);
  }
  return median(samples);
}

async function main(): Promise<void> {
  const moto = await startMoto();
  const endpoint = moto.url;
  try {
    const admin = new SecretsManagerClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const create = async (name: string): Promise<void> => {
      await admin.send(
        new CreateSecretCommand({ Name: name, SecretString: formatSecretValue(benchValue(name)), Tags: [{ Key: TAGS.gracePeriod, Value: '86400' }] }),
      );
    };
    const NAME = 'bench/hot';
    await create(NAME);

    progress('moto up, secret created');
    // 1. Cached read
    const floorMap = new Map([[NAME, 'value']]);
    const clockMap = new Map([[NAME, { until: Date.now() + 3_600_000, value: Promise.resolve('value') }]]);
    const ours = createKeyClient({ secretsManager: countingClient(endpoint).sm });
    const powertools = new SecretsProvider({ awsSdkV3Client: countingClient(endpoint).sm });
    const plain = countingClient(endpoint).sm;
    const plainRead = async (): Promise<string | undefined> =>
      (await plain.send(new GetSecretValueCommand({ SecretId: NAME, VersionStage: 'AWSCURRENT' }))).SecretString;
    await ours.getApiKey(NAME);
    await powertools.get(NAME, { maxAge: 300 });
    const reads = {
      floor: () => floorMap.get(NAME),
      floorWithDateNow: () => {
        const e = clockMap.get(NAME);
        return e !== undefined && Date.now() < e.until ? e.value : undefined;
      },
      keyrelay: () => ours.getApiKey(NAME),
      powertools: () => powertools.get(NAME, { maxAge: 300 }),
    };
    const cached = { ...(await nsPerRead(reads, READS)), ...(await nsPerRead({ plainSdk: plainRead }, 100)) };
    const heapPerRead: Record<string, number> = {};
    for (const [label, read] of Object.entries(reads)) heapPerRead[label] = await bytesPerRead(read);

    progress('cached reads measured');
    // 2. 1,000 concurrent cold reads
    const cold: Record<string, { calls: number; ms: number }> = {};
    const coldRun = async (label: string, counts: Counts, read: () => Promise<unknown>): Promise<void> => {
      const start = performance.now();
      await Promise.all(Array.from({ length: 1000 }, read));
      cold[label] = { calls: total(counts), ms: performance.now() - start };
    };
    {
      const c = countingClient(endpoint);
      const client = createKeyClient({ secretsManager: c.sm });
      await coldRun('keyrelay', c.counts, () => client.getApiKey(NAME));
    }
    {
      const c = countingClient(endpoint);
      const provider = new SecretsProvider({ awsSdkV3Client: c.sm });
      await coldRun('powertools', c.counts, () => provider.get(NAME));
    }
    {
      const c = countingClient(endpoint);
      await coldRun('plainSdk', c.counts, () => c.sm.send(new GetSecretValueCommand({ SecretId: NAME, VersionStage: 'AWSCURRENT' })));
    }

    progress('cold reads measured');
    // 3. Steady 1,000 reads/s for 10 simulated minutes: the clock moves 1 ms per read; every 10 reads the event loop
    // turns, and while a backend call is in flight the clock stands still (its few ms of real latency would be a few
    // reads at 1,000 reads/s; without this, a check would span seconds of simulated time).
    const MINUTES = 10;
    const steady: Record<string, Counts> = {};
    const simulate = async (read: () => Promise<unknown>, sim: { t: number }, busy: () => boolean): Promise<void> => {
      for (let ms = 0; ms < MINUTES * 60_000; ms++) {
        while (busy()) await turn();
        sim.t++;
        await read();
        if (ms % 10 === 0) await turn();
      }
    };
    const steadyOurs = async (label: string, options: KeyClientOptions): Promise<void> => {
      const sim = { t: Date.now() };
      const clock: Clock = { now: () => sim.t, sleep: async () => undefined };
      const c = countingClient(endpoint);
      const client = createKeyClient({ secretsManager: c.sm, clock, ...options });
      await simulate(() => client.getApiKey(NAME), sim, c.busy);
      steady[label] = c.counts;
    };
    await steadyOurs('keyrelay (ttl 300 s, default)', {});
    progress('steady: keyrelay default');
    await steadyOurs('keyrelay (ttl 5 s)', { ttl: 5 });
    progress('steady: keyrelay ttl 5 s');
    {
      // Powertools reads `new Date()` and `Date.now()`: both follow the simulated clock meanwhile.
      const sim = { t: Date.now() };
      const RealDate = Date;
      class SimDate extends RealDate {
        constructor(...args: [] | [string | number | Date]) {
          if (args.length === 0) super(sim.t);
          else super(args[0]);
        }
        static override now(): number {
          return sim.t;
        }
      }
      globalThis.Date = SimDate as DateConstructor;
      try {
        const c = countingClient(endpoint);
        const provider = new SecretsProvider({ awsSdkV3Client: c.sm });
        await simulate(() => provider.get(NAME), sim, c.busy);
        steady['powertools (maxAge 5 s, default)'] = c.counts;
      } finally {
        globalThis.Date = RealDate;
      }
    }

    progress('steady load simulated');
    // 4. Heap per cached key: 5,000 secrets read once each by a fresh client, between two GCs; median of 5 rounds,
    // after a warm-up round per library (so compiled code and lazily built SDK structures are not counted). Through the
    // real SDK but an in-memory transport answering as moto does: with sockets, keep-alive buffers come and go inside
    // the measuring window and swamp a few hundred bytes per key.
    const KEYS = 5000;
    const names = Array.from({ length: KEYS }, (_, i) => `bench/key-${String(i).padStart(4, '0')}`);
    const heapPerKey: Record<string, number[]> = {};
    const measureKeys = async (label: string, read: (name: string) => Promise<unknown>, record: boolean): Promise<unknown> => {
      await read('bench/warm');
      gc();
      const before = process.memoryUsage().heapUsed;
      for (const name of names) await read(name);
      gc();
      if (record) (heapPerKey[label] ??= []).push((process.memoryUsage().heapUsed - before) / KEYS);
      return read(names[0] as string); // the cache stays reachable until the second GC
    };
    for (let round = -1; round < 5; round++) {
      const client = createKeyClient({ secretsManager: memoryClient() });
      await measureKeys('keyrelay', (name) => client.getApiKey(name), round >= 0);
      const provider = new SecretsProvider({ awsSdkV3Client: memoryClient() });
      await measureKeys('powertools', (name) => provider.get(name), round >= 0);
    }

    const f = (x: number): string => x.toFixed(0);
    console.log(`\n## Cached read, ns per call (median of ${RUNS} runs of ${READS.toLocaleString('en')} awaited reads)`);
    const floorRuns = cached.floor?.runs ?? [];
    for (const [label, r] of Object.entries(cached)) {
      // The ratio to the floor of the same round, median over rounds: steadier than a ratio of medians under load.
      const ratio = label === 'plainSdk' ? r.median / (cached.floor?.median ?? 1) : median(r.runs.map((x, i) => x / (floorRuns[i] ?? x)));
      console.log(`${label.padEnd(18)} ${f(r.median).padStart(9)} ns  x${ratio.toFixed(2)} of floor  runs: ${r.runs.map(f).join(', ')}`);
    }
    console.log('\n## Heap left per cached read, bytes (10,000 reads between GCs, median of 5)');
    for (const [label, bytes] of Object.entries(heapPerRead)) console.log(`${label.padEnd(18)} ${bytes.toFixed(1)}`);
    console.log('\n## 1,000 concurrent cold reads');
    for (const [label, r] of Object.entries(cold)) console.log(`${label.padEnd(18)} ${String(r.calls).padStart(5)} backend calls  ${r.ms.toFixed(0)} ms`);
    console.log(`\n## Steady 1,000 reads/s, ${MINUTES} simulated minutes: backend calls per minute`);
    for (const [label, counts] of Object.entries(steady)) {
      const perMinute = Object.entries(counts).map(([k, v]) => `${k} ${(v / MINUTES).toFixed(1)}`).join(', ');
      console.log(`${label.padEnd(34)} ${perMinute}  (total ${total(counts)} over ${MINUTES} min)`);
    }
    console.log('plain SDK                          GetSecretValue 60000 (one per read, by construction; not run)');
    console.log('\n## Heap per cached key, bytes (5,000 keys, median of 5 rounds)');
    for (const [label, bytes] of Object.entries(heapPerKey)) console.log(`${label.padEnd(18)} ${f(median(bytes))}  rounds: ${bytes.map(f).join(', ')}`);
  } finally {
    await moto.stop();
  }
}

await main();
