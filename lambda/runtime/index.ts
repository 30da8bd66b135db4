import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { systemClock, type Clock } from '../../core/clock';
import { ENV } from '../../core/env';
import { ConfigError } from '../../core/errors';
import { MANIFEST_FILE, manifestTrust, parseManifest, type SecretTrust } from '../../core/manifest';
import { METRICS } from '../../core/metrics';
import type { EventPublisher, RevocationScheduler } from '../../core/ports';
import type { RegionalSecretsManager } from '../../core/replicas';
import type { ManagedSecret } from '../../core/state';
import type { KeyProvider } from '../providers/types';
import { createLogger, createMetrics } from './observability';
import { providerForSecret } from './provider';

/**
 * AWS wiring shared by keyrelay's functions (rotation, revoker). Handlers call {@link runtimeFromEnv} on their first
 * invocation, never at import, so the local stack and tests can import handlers without AWS. SDK clients take their
 * endpoint from the standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables (the local stack sets them).
 *
 * Cold start: only Secrets Manager, which every invocation uses, loads with the function. The clients only some
 * invocations use (Scheduler and EventBridge here, IAM and STS in the `aws-iam` adapter) load on first use, with the
 * provider adapters (`./provider`), so the bundle's init stays near the Secrets Manager client's own
 * (`bench/cold-start.ts`). `./events` and `./scheduler` are therefore not re-exported here: import them directly.
 */

export { createLogger, createMetrics, SERVICE } from './observability';
export { providerForSecret, ProviderCache } from './provider';

/** What every keyrelay function needs, built from the environment. */
export interface Runtime {
  sm: SecretsManagerClient;
  /** Clients for other regions, made on first use (the replicas of replicated secrets). */
  smIn: RegionalSecretsManager;
  clock: Clock;
  /** The deployed manifest: the only source of settings. */
  trust: SecretTrust;
  provider(secret: ManagedSecret): Promise<KeyProvider>;
  scheduler: RevocationScheduler;
  events: EventPublisher;
  logger: Logger;
  metrics: Metrics;
}

/** Per-call timeouts of the AWS SDK clients, ms (each SDK attempt; the SDK and the steps retry on top). */
export interface AwsTimeouts {
  /** Time to open the connection. */
  connectionTimeout: number;
  /** Time for the answer once connected. */
  requestTimeout: number;
}

/**
 * The SDK sets no timeout: without one, a function with no network path to AWS (a VPC without an endpoint or NAT)
 * waits in its first call until Lambda kills it, and nothing says which call hung. With these a call fails with a
 * transient `TimeoutError` that the steps retry within their deadline and then report.
 */
export const AWS_TIMEOUTS: AwsTimeouts = { connectionTimeout: 3_000, requestTimeout: 10_000 };

/**
 * Builds the {@link Runtime} from `env` (see `core/env.ts` for the variables).
 * @param timeouts per-call timeouts of the SDK clients. @default AWS_TIMEOUTS
 */
export function runtimeFromEnv(env: NodeJS.ProcessEnv = process.env, timeouts: AwsTimeouts = AWS_TIMEOUTS): Runtime {
  const config = awsClientConfig(timeouts);
  const sm = new SecretsManagerClient(config);
  const regional = new Map<string, SecretsManagerClient>();
  const smIn: RegionalSecretsManager = (region) => {
    let client = regional.get(region);
    if (!client) {
      client = new SecretsManagerClient({ ...config, region });
      regional.set(region, client);
    }
    return client;
  };
  const clock = systemClock;
  const scheduler = onFirstUse(async () => {
    const [{ SchedulerClient }, { eventBridgeScheduler, schedulerTargetFromEnv }] = await Promise.all([
      import('@aws-sdk/client-scheduler'),
      import('./scheduler'),
    ]);
    return eventBridgeScheduler(new SchedulerClient(config), clock, schedulerTargetFromEnv(env));
  });
  const events = onFirstUse(async () => {
    const [{ EventBridgeClient }, { eventBridgePublisher }] = await Promise.all([import('@aws-sdk/client-eventbridge'), import('./events')]);
    return eventBridgePublisher(new EventBridgeClient(config), env[ENV.eventBus] ?? 'default');
  });
  const logger = createLogger();
  const metrics = createMetrics();
  return {
    sm,
    smIn,
    clock,
    trust: trustFromEnv(env, settingsMismatchReporter(logger, metrics)),
    provider: (secret) => providerForSecret(secret, sm, clock),
    scheduler: { scheduleRevocation: async (request) => (await scheduler()).scheduleRevocation(request) },
    events: { keyRotated: async (detail) => (await events()).keyRotated(detail) },
    logger,
    metrics,
  };
}

/**
 * The SDK client config of every function client: the per-call timeouts, and `throwOnRequestTimeout` (without it the
 * SDK only warns when requestTimeout passes, and keeps waiting).
 */
export function awsClientConfig(timeouts: AwsTimeouts = AWS_TIMEOUTS) {
  return { requestHandler: { ...timeouts, throwOnRequestTimeout: true } };
}

/**
 * How a function reports a secret whose settings tags differ from the manifest (the manifest is obeyed): an error
 * log line and the `SettingsMismatch` metric, which the alarm of that name watches. The deployed and local functions
 * both report through it.
 */
export function settingsMismatchReporter(logger: Logger, metrics: Metrics): (secret: string, fields: string[]) => void {
  return (secret, fields) => {
    logger.error('settings tags differ from the deployed manifest: the manifest is obeyed, the tags are not', { secret, fields });
    metrics.singleMetric().addMetric(METRICS.settingsMismatch, MetricUnit.Count, 1);
  };
}

/** `load` run once, on the first call; later calls share its promise (a failed load is retried on the next call). */
export function onFirstUse<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((err: unknown) => {
      loading = undefined;
      throw err;
    });
    return loading;
  };
}

/**
 * Names another manifest file than the one beside the bundle: tests, and function processes the local stack starts.
 * Not set on AWS (the deploy ships the manifest inside the code).
 */
export const MANIFEST_PATH_ENV = 'KEYRELAY_MANIFEST';

/**
 * The deployed manifest (`manifest.json` beside the bundle, or the file `KEYRELAY_MANIFEST` names), trusted for
 * secrets of this function's own account and region (read from the revoker's ARN). Fails closed: without a manifest
 * the functions act on nothing.
 * @throws ConfigError when the manifest is missing or invalid.
 */
export function trustFromEnv(env: NodeJS.ProcessEnv, onMismatch: (secret: string, fields: string[]) => void): SecretTrust {
  // __dirname exists in the deployed CommonJS bundle; the source runs as ESM only in tests and the local stack.
  const path = env[MANIFEST_PATH_ENV] ?? join(typeof __dirname === 'string' ? __dirname : process.cwd(), MANIFEST_FILE);
  const arn = /^arn:[^:]+:lambda:([^:]+):(\d{12}):/.exec(env[ENV.revokerArn] ?? '');
  const home = { region: arn?.[1] ?? env.AWS_REGION, account: arn?.[2] };
  // Read again when the file changes: never on AWS (the code is immutable), each added key of the local stack.
  let loaded: { stamp: string; trust: SecretTrust } | undefined;
  const current = (): SecretTrust => {
    let stamp: string;
    let text: string;
    try {
      const stat = statSync(path);
      stamp = `${stat.mtimeMs} ${stat.size}`;
      if (loaded?.stamp === stamp) return loaded.trust;
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`no keyrelay manifest at '${path}': the functions act only on the keys a deploy declares; redeploy keyrelay`, { cause: err });
    }
    loaded = { stamp, trust: manifestTrust(parseManifest(text, path), home, onMismatch) };
    return loaded.trust;
  };
  current();
  return { settle: (secret) => current().settle(secret), declares: (name) => current().declares(name) };
}
