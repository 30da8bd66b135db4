/**
 * The reconcile sweep at scale on the local stack (moto + proxy + reference provider + the revoker in-process): one
 * admin credential holding `size` keys, one key per managed secret, 1% of the secrets with an orphan (a key labelled
 * for them that no version references: a crashed first attempt).
 * Usage: npx tsx bench/sweep.ts [sizes=100,300,1000]
 *
 * Set-up, the cheapest honest one: each secret is created as `npm run local` creates it (tags, admin secret), then
 * given the state a finished first rotation leaves, without running one: a key issued at the reference provider with
 * the label createSecret gives it, stored as `AWSCURRENT` under that token, and finishSecret's `keyrelay:current`
 * note. No rotation rules: the clock stays frozen, so nothing but the sweeps runs.
 *
 * Per size, three `reconcile` sweeps of every secret, each one invocation of the revoker:
 * 1. first sighting: the orphans get a grace record (and a revocation schedule);
 * 2. steady state, the clock unchanged: nothing is due;
 * 3. after the grace period: the orphans are revoked by the sweep (the revoker's schedules are counted, not armed,
 *    as if they had been missed: the sweep is the safety net).
 * Printed per sweep: provider HTTP calls, Secrets Manager calls by operation, schedules arranged, wall time.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { ListSecretsCommand, PutSecretValueCommand, TagResourceCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { fingerprint, formatSecretValue } from '../core/secret-value';
import { currentKeyTag, providerKeyLabel, TAGS } from '../core/state';
import { metricsFrom } from '../lambda/revoker/deps';
import { createRevokerHandler } from '../lambda/revoker/handler';
import { resolveConfig } from '../lib/config';
import { LOCAL_FUNCTIONS, startLocalStack, type LocalStack } from '../local/stack';

const HOUR = 3_600_000;
const ADMIN_SECRET = 'keyrelay/admin/bench-sweep';

/** Counts provider HTTP requests (every adapter call is one `fetch` per page or action) by path. */
class ProviderCalls {
  count = 0;
  private base = '';

  install(): void {
    const real = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      if (this.base && String(input instanceof Request ? input.url : input).startsWith(this.base)) this.count++;
      return real(input, init);
    };
  }

  watch(base: string): void {
    this.base = base;
  }
}

/** Counts Secrets Manager calls by operation on one client. */
function countCalls(sm: SecretsManagerClient): Map<string, number> {
  const counts = new Map<string, number>();
  sm.middlewareStack.add(
    (next, context) => async (args) => {
      const op = context.commandName?.replace(/Command$/, '') ?? '?';
      counts.set(op, (counts.get(op) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'benchSweepCount' },
  );
  return counts;
}

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

async function issue(stack: LocalStack, label: string): Promise<{ key: string; id: string; account: string }> {
  const res = await fetch(`${stack.providerUrl}/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.provider.adminKeys[0] ?? ''}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: label }),
  });
  if (res.status !== 201) throw new Error(`issue failed: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as { key: string; id: string; account: string };
}

/** `size` managed secrets as a finished first rotation leaves them, and 1% orphans. @returns set-up wall time, ms */
async function populate(stack: LocalStack, size: number): Promise<number> {
  const started = performance.now();
  const config = resolveConfig({
    defaults: { provider: { type: 'reference' }, adminSecret: ADMIN_SECRET, rotateEvery: '7d', gracePeriod: '1h' },
    keys: Object.fromEntries(Array.from({ length: size }, (_, i) => [`bench/sweep-${String(i).padStart(5, '0')}`, {}])),
  });
  const [firstKey, ...rest] = config.keys;
  if (firstKey) await stack.addKey(firstKey, { issue: false }); // creates the admin secret once
  await pool(rest, 8, (key) => stack.addKey(key, { issue: false }));
  const sm = stack.secretsManager();
  const secrets: Array<{ arn: string; name: string }> = [];
  let NextToken: string | undefined;
  do {
    const page = await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'tag-key', Values: [TAGS.managed] }], MaxResults: 100, NextToken }));
    for (const s of page.SecretList ?? []) if (s.ARN && s.Name) secrets.push({ arn: s.ARN, name: s.Name });
    NextToken = page.NextToken;
  } while (NextToken);
  await pool(secrets, 8, async (secret) => {
    const token = randomUUID();
    const key = await issue(stack, providerKeyLabel(secret, token));
    const value = { apiKey: key.key, keyId: key.id, provider: 'reference', issuedAt: new Date(stack.clock.now()).toISOString(), principal: key.account };
    await sm.send(new PutSecretValueCommand({ SecretId: secret.arn, ClientRequestToken: token, SecretString: formatSecretValue(value), VersionStages: ['AWSCURRENT'] }));
    await sm.send(new TagResourceCommand({ SecretId: secret.arn, Tags: [currentKeyTag({ versionId: token, keyId: key.id, fingerprint: fingerprint(key.key) })] }));
  });
  for (let i = 0; i < secrets.length; i += 100) await issue(stack, providerKeyLabel(secrets[i]!, `crashed-${randomUUID()}`));
  sm.destroy();
  return performance.now() - started;
}

async function benchSize(size: number, provider: ProviderCalls): Promise<void> {
  let sm: SecretsManagerClient | undefined;
  let counts = new Map<string, number>();
  let schedules = 0;
  const stack = await startLocalStack({
    config: resolveConfig({ keys: {} }),
    speed: 0,
    quota: 2 * size,
    reconcileEveryMs: 0,
    logger: new Logger({ serviceName: 'keyrelay', logLevel: 'ERROR' }),
    functions: (deps) => {
      sm = deps.sm;
      counts = countCalls(deps.sm);
      const scheduler = { scheduleRevocation: async () => void schedules++ };
      return { [LOCAL_FUNCTIONS.revoker]: createRevokerHandler({ ...deps, scheduler, metrics: metricsFrom(deps.metrics) }) };
    },
  });
  try {
    if (!sm) throw new Error('the local stack did not hand its Secrets Manager client to the functions factory');
    provider.watch(stack.providerUrl);
    const setupMs = await populate(stack, size);
    console.log(`${size} keys: set-up ${(setupMs / 1000).toFixed(1)} s (${(setupMs / size).toFixed(1)} ms a key)`);
    await stack.advance(2 * HOUR); // every key older than the rotation window
    for (const [sweep, advanceMs] of [['first sighting', 0], ['steady state', 0], ['after grace', HOUR + 1000]] as const) {
      await stack.advance(advanceMs);
      counts.clear();
      provider.count = 0;
      schedules = 0;
      const started = performance.now();
      const response = (await stack.functions.invoke(LOCAL_FUNCTIONS.revoker, { action: 'reconcile' })) as { keys: unknown[] };
      const wall = performance.now() - started;
      const smTotal = [...counts.values()].reduce((a, b) => a + b, 0);
      const byOp = [...counts].sort().map(([op, n]) => `${op} ${n}`).join(', ');
      console.log(
        `  ${sweep.padEnd(14)} provider calls ${String(provider.count).padStart(6)} | Secrets Manager calls ${String(smTotal).padStart(5)} (${byOp}) | ` +
          `schedules ${schedules} | ${response.keys.length} key outcomes | wall ${(wall / 1000).toFixed(2)} s`,
      );
    }
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true'; // EMF lines on stdout would bury the figures
  const sizes = (process.argv[2] ?? '100,300,1000').split(',').map(Number);
  const provider = new ProviderCalls();
  provider.install();
  for (const size of sizes) await benchSize(size, provider);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exitCode = 1;
});
