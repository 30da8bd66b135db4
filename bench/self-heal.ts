/**
 * Time to heal a key revoked behind keyrelay's back, on the local stack (moto + proxy + reference provider + the
 * revoker in-process, IAM enforced). Usage: npx tsx bench/self-heal.ts [runs=10]
 *
 * For each of `runs` keys (canary 5m): an application calls the provider every 5 real ms through `withApiKey`; the
 * reference provider revokes the key's current key on its own (`scannerRevoke`, a secret-scanning partner's report);
 * the local clock (frozen) is then advanced to the canary rule's next run, which finds the key dead and starts the
 * automatic emergency. Reported, in wall time from the revocation: until the new key was current, and until the
 * application's requests worked again (median, p90, max), and the requests that failed meanwhile. On AWS add the detection delay:
 * up to the key's canary interval after the revocation (5 minutes by default), 2.5 minutes on average.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createKeyClient } from '../client/key-client';
import { parseSecretValue } from '../core/secret-value';
import { AUTO_EMERGENCY_LIMIT_MS } from '../lambda/revoker/automatic';
import { resolveConfig } from '../lib/config';
import { startLocalStack } from '../local/stack';

const CANARY_MS = 300_000;
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true'; // EMF lines on stdout would bury the figures
  const runs = Number(process.argv[2] ?? 10);
  const names = Array.from({ length: runs }, (_, i) => `bench/heal-${i}`);
  const config = resolveConfig({
    defaults: { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/bench', rotateEvery: '7d', gracePeriod: '1h', canary: '5m' },
    keys: Object.fromEntries(names.map((n) => [n, {}])),
  });
  const stack = await startLocalStack({
    config,
    speed: 0,
    quota: 1000,
    reconcileEveryMs: 0,
    canaryEveryMs: CANARY_MS,
    logger: new Logger({ serviceName: 'keyrelay', logLevel: 'CRITICAL' }),
  });
  const sm = stack.secretsManager();
  const results = { current: [] as number[], working: [] as number[], failed: [] as number[] };
  try {
    for (const [i, name] of names.entries()) {
      // An hour apart: the breaker (three dead keys of one provider within the hour) would hold the third.
      if (i > 0) await stack.advance(AUTO_EMERGENCY_LIMIT_MS);
      const dead = parseSecretValue((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString, name);
      const client = createKeyClient({ secretsManager: sm, clock: stack.clock });
      await client.getApiKey(name);
      let failed = 0;
      let workingAt: number | undefined;
      let revokedAt = 0;
      let stop = false;
      // The application: a call every 5 ms, refreshed and retried once on a 401 by withApiKey.
      const app = (async () => {
        while (!stop) {
          try {
            await client.withApiKey(name, async (key) => {
              const res = await fetch(`${stack.providerUrl}/v1/whoami`, { headers: { authorization: `Bearer ${key}` } });
              await res.arrayBuffer();
              if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
            });
            if (revokedAt > 0 && failed > 0 && workingAt === undefined) workingAt = performance.now();
          } catch {
            if (revokedAt > 0) failed++;
          }
          await wait(5);
        }
      })();
      await wait(50);
      process.stderr.write(`${name}: revoking\n`);
      revokedAt = performance.now();
      stack.provider.scannerRevoke({ id: dead.keyId });
      // The canary rule's next run (the rotation's waits fall inside the span).
      const runsBefore = stack.scheduler.canaryRuns.length;
      const advancing = stack.advance(CANARY_MS + 60_000);
      let currentAt: number | undefined;
      while (currentAt === undefined || workingAt === undefined) {
        const stages = (await sm.send(new DescribeSecretCommand({ SecretId: name }))).VersionIdsToStages ?? {};
        const now = Object.entries(stages).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
        if (currentAt === undefined && now !== undefined && (await sm.send(new GetSecretValueCommand({ SecretId: name, VersionId: now }))).SecretString?.includes(dead.keyId) === false) {
          currentAt = performance.now();
        }
        if (performance.now() - revokedAt > 120_000) throw new Error(`${name}: not healed after 120 s`);
        await wait(5);
      }
      await advancing;
      process.stderr.write(`${name}: healed\n`);
      stop = true;
      await app;
      if (stack.scheduler.canaryRuns.length === runsBefore) throw new Error(`${name}: the canary did not run`);
      results.current.push(currentAt - revokedAt);
      results.working.push(workingAt - revokedAt);
      results.failed.push(failed);
    }
  } finally {
    sm.destroy();
    await stack.stop();
  }
  const row = (label: string, xs: number[], unit = 'ms') =>
    `  ${label.padEnd(44)} median ${quantile(xs, 0.5).toFixed(0)} ${unit}, p90 ${quantile(xs, 0.9).toFixed(0)} ${unit}, max ${Math.max(...xs).toFixed(0)} ${unit}`;
  process.stdout.write(
    [
      `self-heal on the local stack, ${runs} keys (wall time from the provider revoking the key; the frozen clock jumps to the canary run)`,
      row('revocation -> new key current', results.current),
      row('revocation -> the app works again', results.working),
      row('requests that failed meanwhile (every 5 ms)', results.failed, 'req'),
      `  detection on AWS: + up to the canary interval (5 min by default; 2.5 min on average)`,
      '',
    ].join('\n'),
  );
}

await main();
