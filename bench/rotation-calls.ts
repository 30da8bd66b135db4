/**
 * Secrets Manager calls per full rotation, by type, counted through SDK middleware (one count per `send`, retries
 * excluded) while the real rotation handler runs the four steps against moto_server; plus the rotation function's
 * bundle size and cold import time. Compare with AWS's sample rotation template: 10 calls (5 DescribeSecret), with
 * its setSecret/testSecret empty.
 *
 * Run: npx tsx bench/rotation-calls.ts   (needs moto_server on PATH or in ./.venv; starts and stops its own on a free port: local/moto.ts)
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../core/clock';
import { formatSecretValue } from '../core/secret-value';
import { settingsToTags } from '../core/state';
import { createRotationHandler, ROTATION_STEPS, type RotationDeps } from '../lambda/rotation';
import { startMoto } from '../local/moto';
import { FakeProvider } from '../test/support/fake-provider';

const ROTATIONS = 5;
const IMPORT_RUNS = 15;
// AWS's SecretsManagerRotationTemplate: DescribeSecret in every step and again in finishSecret; createSecret reads
// AWSCURRENT and the pending version, calls GetRandomPassword, then PutSecretValue; finishSecret moves the label.
const AWS_TEMPLATE = { DescribeSecret: 5, GetSecretValue: 2, GetRandomPassword: 1, PutSecretValue: 1, UpdateSecretVersionStage: 1 };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function countCalls(endpoint: string): Promise<void> {
  await fetch(`${endpoint}/moto-api/config`, { method: 'POST', body: JSON.stringify({ lambda: { use_docker: false } }) });
  const aws = { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  const sm = new SecretsManagerClient(aws);
  const counts = new Map<string, number>();
  sm.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context.commandName ?? '?').replace(/Command$/, '');
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countSecretsManagerCalls' },
  );
  // moto's RotateSecret needs a function to "invoke" (its four calls are no-ops in simple mode); it then leaves the
  // value-less AWSPENDING placeholder the real service leaves, and our handler runs the steps.
  const role = await new IAMClient(aws).send(
    new CreateRoleCommand({ RoleName: `bench-${randomUUID().slice(0, 8)}`, AssumeRolePolicyDocument: '{}' }),
  );
  const fn = await new LambdaClient(aws).send(
    new CreateFunctionCommand({
      FunctionName: `bench-${randomUUID().slice(0, 8)}`,
      Runtime: 'nodejs20.x',
      Role: role.Role?.Arn,
      Handler: 'index.handler',
      Code: { ZipFile: new Uint8Array([0]) },
    }),
  );
  const provider = new FakeProvider(systemClock, 1000);
  const deps = (): RotationDeps => ({
    sm,
    provider: async () => provider,
    clock: systemClock,
    scheduler: { scheduleRevocation: async () => undefined },
    events: { keyRotated: async () => undefined },
    logger: new Logger({ serviceName: 'keyrelay', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'keyrelay', serviceName: 'keyrelay' }),
  });
  const tags = settingsToTags({ provider: 'fake', providerSettings: {}, gracePeriod: 86_400 });

  for (const mode of ['warm', 'cold'] as const) {
    const perRotation: Array<Map<string, number>> = [];
    for (let i = 0; i < ROTATIONS; i++) {
      const issued = await provider.issue({ label: 'initial' });
      const value = formatSecretValue({ ...issued, provider: 'fake', issuedAt: '2026-11-01T00:00:00Z' });
      const created = await sm.send(new CreateSecretCommand({ Name: `bench/${mode}-${i}-${randomUUID().slice(0, 6)}`, SecretString: value, Tags: tags }));
      const token = randomUUID();
      await sm.send(
        new RotateSecretCommand({
          SecretId: created.ARN,
          ClientRequestToken: token,
          RotationLambdaARN: fn.FunctionArn,
          RotationRules: { AutomaticallyAfterDays: 1 },
          RotateImmediately: true,
        }),
      );
      counts.clear();
      const warm = createRotationHandler(deps());
      for (const Step of ROTATION_STEPS) {
        // cold: every step in a fresh container (new handler, empty version cache)
        const handler = mode === 'warm' ? warm : createRotationHandler(deps());
        await handler({ Step, SecretId: created.ARN, ClientRequestToken: token });
      }
      perRotation.push(new Map(counts));
      // Sanity: the rotation really happened (moto answered the move).
      if (!perRotation.at(-1)?.get('UpdateSecretVersionStage')) {
        throw new Error('rotation did not reach finishSecret');
      }
    }
    const names = [...new Set(perRotation.flatMap((m) => [...m.keys()]))].sort();
    const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    const same = perRotation.every((m) => total(m) === total(perRotation[0] ?? new Map()));
    console.log(`\n${mode} container (${ROTATIONS} rotations against moto, ${same ? 'identical counts' : 'counts varied'}):`);
    console.log('| call | keyrelay | AWS sample template |');
    console.log('|---|---|---|');
    for (const name of new Set([...names, ...Object.keys(AWS_TEMPLATE)])) {
      const ours = perRotation[0]?.get(name) ?? 0;
      console.log(`| ${name} | ${ours} | ${AWS_TEMPLATE[name as keyof typeof AWS_TEMPLATE] ?? 0} |`);
    }
    console.log(`| **total** | **${total(perRotation[0] ?? new Map())}** | **10** |`);
  }
}

function bundle(): void {
  const outDir = join(process.cwd(), '.keyrelay', 'bench');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, 'rotation.mjs');
  const built = spawnSync(
    'npx',
    ['esbuild', 'lambda/rotation/handler.ts', '--bundle', '--minify', '--platform=node', '--target=node20', '--format=esm',
      '--external:@aws-sdk/*', `--outfile=${out}`, '--log-level=warning'],
    { stdio: 'inherit' },
  );
  if (built.status !== 0) throw new Error('esbuild failed');
  const times: number[] = [];
  for (let i = 0; i < IMPORT_RUNS; i++) {
    const run = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `const t=performance.now();await import(${JSON.stringify(out)});console.log(performance.now()-t)`],
      { encoding: 'utf8' },
    );
    times.push(Number(run.stdout.trim()));
  }
  times.sort((a, b) => a - b);
  console.log(`\nrotation function bundle (esbuild --minify, @aws-sdk/* external): ${(statSync(out).size / 1024).toFixed(1)} KiB`);
  console.log(
    `cold import of the bundle (fresh node process, ${IMPORT_RUNS} runs): median ${percentile(times, 50).toFixed(1)} ms, ` +
      `p95 ${percentile(times, 95).toFixed(1)} ms`,
  );
}

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const moto = await startMoto({ install: false });
try {
  await countCalls(moto.url);
} finally {
  await moto.stop();
}
bundle();
