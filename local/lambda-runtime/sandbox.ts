import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { FunctionErrorPayload } from './protocol';
import { RuntimeApi, type Invocation, type InvocationOutcome } from './server';

/**
 * One Lambda sandbox: a Node process running the runtime client against its own Runtime API. It serves one
 * invocation at a time and stays warm between them; a timeout, a crash or an init failure ends it (the pool starts
 * a fresh one, as Lambda does).
 */

/** Where a function's output goes, chunk by chunk, as the process wrote it. */
export type OutputSink = (stream: 'stdout' | 'stderr', chunk: Buffer) => void;

/** Arms a real-time timer; returns its cancel. Injectable so tests fire timeouts without waiting. */
export type SetTimer = (ms: number, fire: () => void) => () => void;

/** `setTimeout`. */
export const realTimer: SetTimer = (ms, fire) => {
  const timer = setTimeout(fire, ms);
  return () => clearTimeout(timer);
};

/** How to start a sandbox. */
export interface SandboxSpec {
  /** Node binary. */
  node: string;
  /** The runtime client script (`bootstrap.cjs`). */
  bootstrap: string;
  /** The process's whole environment (nothing is inherited), without `AWS_LAMBDA_RUNTIME_API`. */
  environment: Record<string, string>;
  /** Working directory (Lambda's is the task root). */
  cwd: string;
  output: OutputSink;
}

/** A running sandbox. */
export class Sandbox {
  /** True while the pool has it claimed for an invocation. */
  busy = false;
  /** True once the process has ended (or is being ended); never reused. */
  dead = false;
  private current?: string;
  private initError?: FunctionErrorPayload;
  private exitError?: FunctionErrorPayload;

  private constructor(
    private readonly api: RuntimeApi,
    private readonly child: ChildProcess,
  ) {
    api.onInitError = (error) => {
      this.initError = error;
      if (this.current) api.fail(this.current, error);
    };
    child.once('exit', (code, signal) => {
      this.dead = true;
      const error = this.initError ?? {
        errorType: 'Runtime.ExitError',
        errorMessage: `Runtime exited ${signal ? `with signal: ${signal}` : `with error: exit status ${String(code)}`}`,
      };
      this.exitError = error;
      if (this.current) api.fail(this.current, { ...error, errorMessage: `RequestId: ${this.current} Error: ${error.errorMessage}` });
      void api.stop(error);
    });
  }

  /** The process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts the Runtime API and the process (its init runs before its first `next`). */
  static async start(spec: SandboxSpec): Promise<Sandbox> {
    const api = await RuntimeApi.start();
    const child = spawn(spec.node, [spec.bootstrap], {
      cwd: spec.cwd,
      env: { ...spec.environment, AWS_LAMBDA_RUNTIME_API: api.address },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (c: Buffer) => spec.output('stdout', c));
    child.stderr?.on('data', (c: Buffer) => spec.output('stderr', c));
    child.once('error', () => undefined); // a spawn failure also ends in 'exit'
    return new Sandbox(api, child);
  }

  /**
   * Runs one invocation. Past `timeoutMs` of real time the process is killed and the outcome is Lambda's
   * `Sandbox.Timedout` error, `Task timed out after N.NN seconds`.
   */
  async invoke(invocation: Omit<Invocation, 'deadline'>, timeoutMs: number, setTimer: SetTimer = realTimer): Promise<InvocationOutcome> {
    if (this.dead) {
      this.busy = false;
      return { ok: false, error: this.exitError ?? { errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited' } };
    }
    const { id, outcome } = this.api.submit({ ...invocation, deadline: Date.now() + timeoutMs });
    this.current = id;
    if (this.initError) this.api.fail(id, this.initError);
    const cancel = setTimer(timeoutMs, () => {
      this.dead = true;
      this.child.kill('SIGKILL');
      this.api.fail(id, {
        errorType: 'Sandbox.Timedout',
        errorMessage: `RequestId: ${id} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
      });
    });
    try {
      return await outcome;
    } finally {
      cancel();
      this.current = undefined;
      this.busy = false;
    }
  }

  /** Ends the process and the Runtime API. */
  async stop(): Promise<void> {
    this.dead = true;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGKILL');
      await exited;
    }
    await this.api.stop();
  }
}
