import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import type { CallerProof } from '../core/caller-proof';
import type { Clock } from '../core/clock';
import { proveCaller } from './caller-proof';
import { isThrottling, retry, RETRY_BUDGETS } from '../core/retry';

/** The AWS clients the CLI uses. It never talks to a provider: provider work goes through the revoker (Lambda). */
export interface Clients {
  sm: SecretsManagerClient;
  lambda: LambdaClient;
  cloudwatch: CloudWatchClient;
  sts: STSClient;
  /** Secrets Manager in another region, as the same caller (the replicas of replicated keys). @default - replicas unread */
  smIn?(region: string): SecretsManagerClient;
  /** Signs the caller proof bound to `binding` (`proveCaller` with `sts`): what on-call actions carry to the revoker. */
  proveCaller(binding: string): Promise<CallerProof>;
}

/** Where and as whom to reach AWS. */
export interface ClientOptions {
  /** `--endpoint-url`, else `AWS_ENDPOINT_URL`. @default - the AWS endpoint of the region */
  endpoint?: string;
  /** `--region`, else `AWS_REGION` / `AWS_DEFAULT_REGION`. @default - the SDK's chain (profile), or us-east-1 for a local endpoint */
  region?: string;
  env: Record<string, string | undefined>;
}

/** Builds clients for `--endpoint-url`/`--region`, tests inject their own (aws-sdk-client-mock or counting middleware). */
export type ClientFactory = (options: ClientOptions) => Clients;

const LOCAL = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/;

/** Resolves endpoint and region from options then environment (an explicit flag wins). */
export function resolveClientConfig(options: ClientOptions): { endpoint?: string; region?: string; local: boolean } {
  const endpoint = options.endpoint ?? options.env.AWS_ENDPOINT_URL;
  const local = endpoint !== undefined && LOCAL.test(endpoint);
  const region = options.region ?? options.env.AWS_REGION ?? options.env.AWS_DEFAULT_REGION ?? (local ? 'us-east-1' : undefined);
  return { endpoint, region, local };
}

/**
 * The standard credential chain and region, or the local stack's endpoint. A local endpoint without credentials
 * in the environment gets dummy ones (moto accepts anything), so `AWS_ENDPOINT_URL=... keyrelay status` just works.
 */
export const createClients: ClientFactory = (options) => {
  const { endpoint, region, local } = resolveClientConfig(options);
  const env = options.env;
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
      : local
        ? { accessKeyId: 'keyrelay-local', secretAccessKey: 'keyrelay-local' }
        : undefined;
  const config = { endpoint, region, credentials, maxAttempts: 5 };
  const sts = new STSClient(config);
  const regional = new Map<string, SecretsManagerClient>();
  return {
    sm: new SecretsManagerClient(config),
    smIn(other) {
      let client = regional.get(other);
      if (!client) {
        client = new SecretsManagerClient({ ...config, region: other });
        regional.set(other, client);
      }
      return client;
    },
    lambda: new LambdaClient(config),
    cloudwatch: new CloudWatchClient(config),
    sts,
    proveCaller: (binding) => proveCaller(sts, binding),
  };
};

/** Retries AWS throttling with jittered back-off on the injected clock (on top of the SDK's own attempts). */
export function withThrottleRetry<T>(clock: Clock, fn: () => Promise<T>): Promise<T> {
  return retry(fn, { clock, ...RETRY_BUDGETS.cli, retryable: isThrottling });
}

/**
 * Maps `items` through `fn` with at most `limit` calls in flight, keeping order. Bounded concurrency is how the CLI
 * stays under Secrets Manager's rate limits when it works on many keys.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
