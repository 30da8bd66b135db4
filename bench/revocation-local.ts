/**
 * Revocation latency on the local stack (moto + proxy + reference provider + the revoker in-process).
 * Usage: npx tsx bench/revocation-local.ts [runs=20] [speed=60]
 *
 * 1. Deadline to revocation: the clock runs `speed` times faster than real time; for each of `runs` keys (grace 1 min)
 *    a rotation is made, then the provider's key list is watched until the old key is deleted. Reported: the delay
 *    after the deadline in local-clock time and in wall time (median, p95).
 * 2. Emergency: RotateSecret, wait for AWSCURRENT to move (DescribeSecret polls), Invoke `revokeNow {previous}`:
 *    wall time from the call until the leaked key answers 401 (median over `runs`).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeSecretCommand, GetSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { proveCaller } from '../cli/caller-proof';
import { CALLER_PROOF_FIELD, requestBinding } from '../core/caller-proof';
import { parseSecretValue } from '../core/secret-value';
import { readManagedSecret } from '../core/state';
import { metricsFrom } from '../lambda/revoker/deps';
import { createRevokerHandler } from '../lambda/revoker/handler';
import { resolveConfig } from '../lib/config';
import { LOCAL_CREDENTIALS, LOCAL_FUNCTIONS, LOCAL_REGION, startLocalStack, type LocalStack } from '../local/stack';

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

async function rotateAndWait(stack: LocalStack, name: string): Promise<{ oldKey: string; oldKeyId: string }> {
  const sm = stack.secretsManager();
  const old = parseSecretValue((await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }))).SecretString, name);
  const { VersionId } = await sm.send(new RotateSecretCommand({ SecretId: name }));
  for (;;) {
    const stages = (await sm.send(new DescribeSecretCommand({ SecretId: name }))).VersionIdsToStages ?? {};
    if (stages[VersionId ?? '']?.includes('AWSCURRENT')) break;
  }
  sm.destroy();
  return { oldKey: old.apiKey, oldKeyId: old.keyId };
}

async function main(): Promise<void> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true'; // EMF lines on stdout would bury the figures
  const runs = Number(process.argv[2] ?? 20);
  const speed = Number(process.argv[3] ?? 60);
  const names = Array.from({ length: runs }, (_, i) => `bench/revoke-${i}`);
  const config = resolveConfig({
    defaults: { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/bench', rotateEvery: '7d', gracePeriod: '1m' },
    keys: Object.fromEntries(names.map((n) => [n, {}])),
  });
  const stack = await startLocalStack({
    config,
    speed,
    quota: 1000,
    reconcileEveryMs: 0,
    logger: new Logger({ serviceName: 'keyrelay', logLevel: 'ERROR' }),
    functions: (deps) => ({ [LOCAL_FUNCTIONS.revoker]: createRevokerHandler({ ...deps, metrics: metricsFrom(deps.metrics) }) }),
  });
  const lambda = new LambdaClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: stack.endpoint });
  const sts = new STSClient({ region: LOCAL_REGION, credentials: { ...LOCAL_CREDENTIALS }, endpoint: stack.endpoint });
  try {
    const localDelay: number[] = [];
    const wallDelay: number[] = [];
    for (const name of names) {
      const { oldKeyId } = await rotateAndWait(stack, name);
      const sm = stack.secretsManager();
      const record = (await readManagedSecret(sm, name)).records.find((r) => r.keyId === oldKeyId);
      sm.destroy();
      if (record?.phase !== 'grace') throw new Error(`no grace record for ${name} key ${oldKeyId}: ${JSON.stringify(record)}`);
      // The schedule carries the deadline in ms; the record keeps whole seconds.
      const deadline = stack.scheduler.revocations.find((r) => r.keyId === oldKeyId)?.due ?? record.due;
      let wallAtDeadline: number | undefined;
      for (;;) {
        if (wallAtDeadline === undefined && stack.clock.now() >= deadline) wallAtDeadline = performance.now();
        if (stack.provider.keys().find((k) => k.id === oldKeyId)?.status === 'deleted') break;
        await tick();
      }
      localDelay.push(stack.clock.now() - deadline);
      wallDelay.push(performance.now() - (wallAtDeadline ?? performance.now()));
    }
    const emergency: number[] = [];
    for (const name of names) {
      const started = performance.now();
      const { oldKey } = await rotateAndWait(stack, name);
      // As the CLI sends it: with the proof of its caller (signing it is part of the on-call path measured).
      const request = { action: 'revokeNow', secretId: name, previous: true, reason: 'bench', operator: 'bench' };
      const payload = { ...request, [CALLER_PROOF_FIELD]: await proveCaller(sts, requestBinding(request)) };
      const out = await lambda.send(new InvokeCommand({ FunctionName: LOCAL_FUNCTIONS.revoker, Payload: JSON.stringify(payload) }));
      if (out.FunctionError) throw new Error(`revokeNow failed for ${name}: ${new TextDecoder().decode(out.Payload)}`);
      const res = await fetch(`${stack.providerUrl}/v1/whoami`, { headers: { authorization: `Bearer ${oldKey}` } });
      await res.arrayBuffer();
      if (res.status !== 401) throw new Error(`leaked key of ${name} still answers ${res.status}`);
      emergency.push(performance.now() - started);
    }
    const fmt = (xs: number[], unit = 'ms') => `median ${quantile(xs, 0.5).toFixed(0)} ${unit}, p95 ${quantile(xs, 0.95).toFixed(0)} ${unit}`;
    console.log(`deadline to revocation (${runs} keys, clock speed ${speed}x): local clock ${fmt(localDelay)}; wall ${fmt(wallDelay)}`);
    console.log(`emergency call to leaked key answering 401 (${runs} runs): wall ${fmt(emergency)}`);
  } finally {
    lambda.destroy();
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
