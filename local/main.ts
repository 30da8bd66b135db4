import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeError, KeyRelayError } from '../core/errors';
import { buildLambdaBundles } from '../lib/build';
import { canaryRuleEvery, loadConfig } from '../lib/config';
import type { FunctionMode } from './functions';
import { onShutdown } from './shutdown';
import { startLocalStack } from './stack';

/**
 * `npm run local [-- --config FILE] [--speed N] [--seed N] [--quota N] [--functions bundle|in-process] [--out FILE]`: starts
 * the local AWS (moto behind keyrelay's proxy, the reference provider, keyrelay's functions: by default their bundles,
 * built now, as Node 24 processes behind a local Lambda Runtime API), prints one line `keyrelay local ready <json>` (the same JSON goes to
 * `.keyrelay/local.json`, or `--out`) and stays up until SIGINT/SIGTERM, then stops everything it started.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', default: 'keyrelay.config.json' },
      speed: { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      quota: { type: 'string', default: '5' },
      functions: { type: 'string', default: 'bundle' },
      out: { type: 'string', default: '.keyrelay/local.json' },
    },
    strict: true,
  });
  const speed = Number(values.speed);
  if (!Number.isFinite(speed) || speed < 0) {
    process.stderr.write(`keyrelay local: --speed must be a number >= 0 (1 = real time, 3600 = an hour per second), got '${values.speed}'\n`);
    return 2;
  }
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) {
    process.stderr.write(`keyrelay local: --seed must be a whole number, got '${values.seed}'\n`);
    return 2;
  }
  const quota = Number(values.quota);
  if (!Number.isInteger(quota) || quota < 1) {
    process.stderr.write(`keyrelay local: --quota must be a whole number >= 1 (reference provider keys per admin credential), got '${values.quota}'\n`);
    return 2;
  }
  const functionMode = values.functions as FunctionMode;
  if (functionMode !== 'bundle' && functionMode !== 'in-process') {
    process.stderr.write(`keyrelay local: --functions must be 'bundle' (the deployed bundles on Node 24) or 'in-process', got '${values.functions}'\n`);
    return 2;
  }
  // EMF metric lines would drown the terminal; nothing reads them locally (passed on to the function processes too).
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  if (functionMode === 'bundle') buildLambdaBundles();
  const config = loadConfig(resolve(values.config));
  // The canary rule as a deploy makes it (the shortest canary interval of the keys).
  const canaryEveryMs = (canaryRuleEvery(config.keys) ?? 0) * 1000;
  const stack = await startLocalStack({ config, speed, seed, quota, functionMode, canaryEveryMs });

  const done = new Promise<void>((resolveDone) => {
    onShutdown((reason) => {
      process.stderr.write(`keyrelay local: ${reason}, stopping\n`);
      void stack.stop().then(resolveDone);
    });
  });

  const file = resolve(values.out);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(stack.info, null, 2)}\n`);
  process.stdout.write(`keyrelay local ready ${JSON.stringify(stack.info)}\n`);
  await done;
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`keyrelay local: ${describeError(err)}\n`);
    if (err instanceof KeyRelayError) process.stderr.write(`(${err.code})\n`);
    process.exitCode = 1;
  },
);
