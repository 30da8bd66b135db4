import type { Clock } from './clock';

/** How hard a call is retried before its caller gives up: attempts in all, and the full-jitter back-off between them. */
export interface RetryBudget {
  /** Attempts in all, the first included. */
  attempts: number;
  /** First back-off ceiling, ms; doubles each attempt (full jitter). */
  baseMs: number;
  /** Largest wait, ms (also caps a server's Retry-After). */
  maxMs: number;
}

/**
 * Every caller's default {@link RetryBudget}, side by side so their differences are deliberate. A rotation step
 * may spend longer (it has minutes, and Secrets Manager retries the whole rotation after it), the revoker waits at most
 * about 10 s (well inside its Lambda timeout, and the next sweep retries), and the CLI backs off longest because it
 * retries only throttling, on top of the SDK's own attempts, while an operator waits.
 */
export const RETRY_BUDGETS = {
  rotation: { attempts: 6, baseMs: 200, maxMs: 5_000 },
  revoker: { attempts: 5, baseMs: 200, maxMs: 5_000 },
  cli: { attempts: 6, baseMs: 500, maxMs: 20_000 },
} as const satisfies Record<string, RetryBudget>;

/** Options for {@link retry}: a budget (each field defaults: 5 attempts, 200 ms, 10,000 ms) and what to retry. */
export interface RetryOptions extends Partial<RetryBudget> {
  /** Clock used to wait between attempts. */
  clock: Clock;
  /** Whether an error is worth another attempt. @default isTransient */
  retryable?: (err: unknown) => boolean;
  /** Random source in [0, 1), injectable for tests. @default Math.random */
  random?: () => number;
  /** Called before each wait (for logs and metrics). */
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
}

/**
 * Runs `fn` until it succeeds, the error is not retryable, or attempts run out (then rethrows the last error).
 * Waits with exponential back-off and full jitter, or the server's `retryAfterMs` when the error carries one.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = options.attempts ?? 5;
  const baseMs = options.baseMs ?? 200;
  const maxMs = options.maxMs ?? 10_000;
  const retryable = options.retryable ?? isTransient;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !retryable(err)) throw err;
      const hinted = retryAfterMs(err);
      const waitMs = Math.min(maxMs, hinted ?? Math.floor(random() * baseMs * 2 ** (attempt - 1)));
      options.onRetry?.(err, attempt, waitMs);
      await options.clock.sleep(waitMs);
    }
  }
}

interface AwsLikeError {
  name?: string;
  retryAfterMs?: number;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
  code?: string;
}

/** HTTP status of an AWS SDK error or a provider error, when it has one. */
export function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as AwsLikeError & { status?: number };
  return e.$metadata?.httpStatusCode ?? e.status;
}

const THROTTLE_NAMES = new Set(['ThrottlingException', 'TooManyRequestsException', 'Throttling', 'RequestLimitExceeded']);
// Connection-level failures: a blip or an outage, never a verdict on the request (retrying is bounded anyway).
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);

/** Throttling, by name, flag or HTTP 429. */
export function isThrottling(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as AwsLikeError;
  return (
    THROTTLE_NAMES.has(e.name ?? '') || e.$retryable?.throttling === true || httpStatus(err) === 429
  );
}

/** Worth retrying: throttling, 5xx, timeouts and connection failures. Auth failures and 4xx are not. */
export function isTransient(err: unknown): boolean {
  if (isThrottling(err)) return true;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as AwsLikeError & { transient?: boolean };
  if (e.transient === true) return true;
  const status = httpStatus(err);
  if (status !== undefined) return status >= 500;
  return (
    NETWORK_CODES.has(e.code ?? '') ||
    e.name === 'TimeoutError' ||
    e.name === 'AbortError' ||
    (e instanceof TypeError && /fetch failed/i.test(e.message))
  );
}

function retryAfterMs(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const ms = (err as AwsLikeError).retryAfterMs;
  return typeof ms === 'number' && ms >= 0 ? ms : undefined;
}
