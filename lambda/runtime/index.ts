import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { systemClock, type Clock } from '../core/clock';
import { ENV } from '../core/env';
import type { EventPublisher, RevocationScheduler } from '../core/ports';
import type { ManagedSecret } from '../core/state';
import type { KeyProvider } from '../providers/types';
import { eventBridgePublisher } from './events';
import { createLogger, createMetrics } from './observability';
import { providerForSecret } from './provider';
import { eventBridgeScheduler, schedulerTargetFromEnv } from './scheduler';

/**
 * AWS wiring shared by keyrelay's functions (rotation, revoker). Handlers call {@link runtimeFromEnv} on their first
 * invocation, never at import, so the local stack and tests can import handlers without AWS. SDK clients take their
 * endpoint from the standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables (the local stack sets them).
 */

export { eventBridgePublisher, EventPublishError } from './events';
export { createLogger, createMetrics, SERVICE } from './observability';
export { providerForSecret, ProviderCache } from './provider';
export { eventBridgeScheduler, revocationScheduleName, schedulerTargetFromEnv, type SchedulerTarget } from './scheduler';

/** What every keyrelay function needs, built from the environment. */
export interface Runtime {
  sm: SecretsManagerClient;
  clock: Clock;
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
 * Builds the {@link Runtime} from `env` (see `lambda/core/env.ts` for the variables).
 * @param timeouts per-call timeouts of the SDK clients. @default AWS_TIMEOUTS
 */
export function runtimeFromEnv(env: NodeJS.ProcessEnv = process.env, timeouts: AwsTimeouts = AWS_TIMEOUTS): Runtime {
  // Without throwOnRequestTimeout the SDK only warns when requestTimeout passes, and keeps waiting.
  const config = { requestHandler: { ...timeouts, throwOnRequestTimeout: true } };
  const sm = new SecretsManagerClient(config);
  const clock = systemClock;
  return {
    sm,
    clock,
    provider: (secret) => providerForSecret(secret, sm, clock),
    scheduler: eventBridgeScheduler(new SchedulerClient(config), clock, schedulerTargetFromEnv(env)),
    events: eventBridgePublisher(new EventBridgeClient(config), env[ENV.eventBus] ?? 'default'),
    logger: createLogger(),
    metrics: createMetrics(),
  };
}
