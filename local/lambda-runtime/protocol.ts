/**
 * The wire of the local Lambda Runtime API, shared by the server (`server.ts`) and the runtime client in the
 * function's process (`bootstrap.ts`): paths and header names as AWS documents them, plus one local-only header.
 */

/** Path prefix of every Runtime API route. */
export const RUNTIME_PREFIX = '/2018-06-01/runtime';

/** Lowercase header names (Node's `IncomingMessage.headers` are lowercase). */
export const HEADER = {
  requestId: 'lambda-runtime-aws-request-id',
  deadlineMs: 'lambda-runtime-deadline-ms',
  functionArn: 'lambda-runtime-invoked-function-arn',
  traceId: 'lambda-runtime-trace-id',
  /** On `/error` and `/init/error` posts: the error's type when the body carries none. */
  errorType: 'lambda-runtime-function-error-type',
  /**
   * Local only: the local clock at the moment of the invocation, `<now ms>;<speed>`. The bootstrap sets the
   * process's `Date` from it, so the deployed code reads the local clock without knowing it exists.
   */
  localClock: 'keyrelay-local-clock',
} as const;

/** The local clock as an invocation carries it. */
export interface ClockStamp {
  /** Local clock time, ms since the epoch. */
  now: number;
  /** Times faster than real time; 0 is frozen. */
  speed: number;
}

/** `<now>;<speed>`. */
export function formatClockStamp(stamp: ClockStamp): string {
  return `${stamp.now};${stamp.speed}`;
}

/** Reads a {@link formatClockStamp} value; undefined when absent or malformed (the process keeps real time). */
export function parseClockStamp(value: string | undefined): ClockStamp | undefined {
  const [now, speed] = (value ?? '').split(';').map(Number);
  if (now === undefined || speed === undefined || !Number.isFinite(now) || !Number.isFinite(speed) || speed < 0) return undefined;
  return { now, speed };
}

/** What a runtime posts to `/invocation/{id}/error` and `/init/error`, and what a failed `Invoke` answers. */
export interface FunctionErrorPayload {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}
