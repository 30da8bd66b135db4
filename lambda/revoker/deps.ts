import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock } from '../../core/clock';
import type { SecretTrust } from '../../core/manifest';
import type { RegionalSecretsManager } from '../../core/replicas';
import type { RetryBudget } from '../../core/retry';
import type { RevocationScheduler } from '../../core/ports';
import type { ManagedSecret } from '../../core/state';
import type { KeyProvider } from '../providers/types';
import type { CallerVerifier } from './caller';

/** The slice of Powertools Logger the revoker uses (a Powertools `Logger` satisfies it). */
export interface RevokerLogger {
  info(message: string, ...attributes: Array<Record<string, unknown>>): void;
  warn(message: string, ...attributes: Array<Record<string, unknown>>): void;
  error(message: string, ...attributes: Array<Record<string, unknown>>): void;
}

/**
 * Where the revoker's data points go. Each one must be published on its own (Powertools: `singleMetric()`, see
 * {@link metricsFrom}), so `freeQuota` running inside the rotation function loses nothing and concurrent
 * in-process invocations (the local stack) do not mix.
 */
export interface RevokerMetrics {
  addMetric(name: string, unit: 'Count' | 'Seconds', value: number): void;
}

/** Adapts Powertools Metrics: every data point flushed at once through `singleMetric()`. */
export function metricsFrom(metrics: Metrics): RevokerMetrics {
  return { addMetric: (name, unit, value) => void metrics.singleMetric().addMetric(name, unit, value) };
}

/** Everything the revoker talks to, injected so the same code runs on AWS, locally and under fakes. */
export interface RevokerDeps {
  sm: SecretsManagerClient;
  /**
   * A client for another region: the replicas of replicated secrets (`core/replicas.ts`). @default - none: a
   * replicated secret's revocations are held (its replicas cannot be read)
   */
  smIn?: RegionalSecretsManager;
  /** The provider adapter for a managed secret (settings as {@link RevokerDeps.trust} settled them). */
  provider(secret: ManagedSecret): Promise<KeyProvider>;
  /**
   * The deploy's manifest: which secrets this deployment manages and their settings (tags are only a mirror). The
   * deployed and local functions always have one. @default - settings from the tags (unit tests)
   */
  trust?: SecretTrust;
  /**
   * Proves who sent an on-call action (the recorded operator). The deployed and local revokers always have one; without
   * it an action fails with `CallerNotProven` when it carries no valid proof. @default - the request's `operator`
   * field is recorded (unit and property tests of the actions)
   */
  callers?: CallerVerifier;
  clock: Clock;
  scheduler: RevocationScheduler;
  logger: RevokerLogger;
  metrics: RevokerMetrics;
  /** How hard a provider call is retried before the revoker gives up and fails loudly. @default RETRY_BUDGETS.revoker */
  retry?: Partial<RetryBudget>;
  /** Jitter source in [0, 1). @default Math.random */
  random?: () => number;
  /**
   * Time left in this invocation, ms (Lambda's `context.getRemainingTimeInMillis`, set per invocation by the handler):
   * the reconcile sweep starts no new work inside its last `SWEEP_RESERVE_MS`. @default - no limit
   */
  remainingMs?: () => number;
  /**
   * Starts a rotation of the secret with `token` (the automatic emergency; the rotation function does the work).
   * @default - `RotateSecret` through {@link RevokerDeps.sm}
   */
  rotateSecret?: (secretArn: string, token: string) => Promise<void>;
}
