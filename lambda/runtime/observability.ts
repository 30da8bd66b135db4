import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC_NAMESPACE } from '../../core/metrics';

/** Service name on every log line and metric. */
export const SERVICE = 'keyrelay';

/** Powertools Logger for keyrelay's functions (level from `POWERTOOLS_LOG_LEVEL`, @default INFO). */
export function createLogger(): Logger {
  return new Logger({ serviceName: SERVICE });
}

/** Powertools Metrics (EMF) in namespace `keyrelay`, dimension `service`=`keyrelay`. */
export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRIC_NAMESPACE, serviceName: SERVICE });
}
