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

/** Builds the {@link Runtime} from `env` (see `lambda/core/env.ts` for the variables). */
export function runtimeFromEnv(env: NodeJS.ProcessEnv = process.env): Runtime {
  const sm = new SecretsManagerClient({});
  const clock = systemClock;
  return {
    sm,
    clock,
    provider: (secret) => providerForSecret(secret, sm, clock),
    scheduler: eventBridgeScheduler(new SchedulerClient({}), clock, schedulerTargetFromEnv(env)),
    events: eventBridgePublisher(new EventBridgeClient({}), env[ENV.eventBus] ?? 'default'),
    logger: createLogger(),
    metrics: createMetrics(),
  };
}
