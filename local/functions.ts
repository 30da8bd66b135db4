import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KeyRelayError } from '../core/errors';
import { bundleDir, LAMBDA_ENTRIES, type LambdaName } from '../lib/bundles';
import type { LocalClock } from './clock';
import type { FunctionSettings } from './function-settings';
import { LambdaRuntime, type BundleFunction, type OutputSink } from './lambda-runtime';

/**
 * keyrelay's own Lambda functions, run in-process by the local stack. moto's Lambda (without Docker) only echoes a
 * payload, so the local endpoint answers `Invoke` for these names itself and forwards every other name to moto.
 * The registry is open: the revoker (or any later function) slots in with `register`.
 */

/** What Lambda tells a function about its invocation (the part keyrelay's functions read). */
export interface LocalInvocation {
  /** The ARN the caller named, with its qualifier when it named one (an alias). */
  invokedFunctionArn: string;
  getRemainingTimeInMillis(): number;
}

/** A function body: the handler's event in, its result out; throwing is a function error. */
export type LocalFunction = (event: unknown, invocation: LocalInvocation) => Promise<unknown>;

/** An AWS service invoking a function on its own (not a signed request, which the endpoint judged already). */
export type ServiceInvoker = 'secretsmanager.amazonaws.com' | 'scheduler.amazonaws.com' | 'events.amazonaws.com';

/**
 * What runs before a function does, as Lambda's own checks: that `invoker` (when a service) may invoke it, and that
 * its role may write its logs. Throws to refuse the invocation.
 */
export type InvokeGuard = (name: string, invoker: ServiceInvoker | undefined, qualifier?: string) => Promise<void>;

/** Names and in-process bodies of keyrelay's functions. */
export class FunctionRegistry {
  private readonly functions = new Map<string, LocalFunction>();
  private guard?: InvokeGuard;

  constructor(
    readonly region: string,
    readonly accountId: string,
  ) {}

  /** Adds or replaces a function. */
  register(name: string, fn: LocalFunction): void {
    this.functions.set(name, fn);
  }

  /** Whether `nameOrArn` (name, full or partial ARN, optionally `:qualifier`) names a registered function. */
  has(nameOrArn: string): boolean {
    return this.functions.has(functionName(nameOrArn));
  }

  /** Sets the check every invocation passes first (the local IAM's). */
  setGuard(guard: InvokeGuard): void {
    this.guard = guard;
  }

  /** Registered names. */
  names(): string[] {
    return [...this.functions.keys()];
  }

  /** The ARN a registered function has locally. */
  arn(name: string): string {
    return `arn:aws:lambda:${this.region}:${this.accountId}:function:${name}`;
  }

  /**
   * Runs a registered function; `invoker` names the AWS service invoking it on its own.
   * @throws whatever it or the guard throws; KeyRelayError `FunctionNotFound` when none is registered.
   */
  async invoke(nameOrArn: string, event: unknown, invoker?: ServiceInvoker): Promise<unknown> {
    const name = functionName(nameOrArn);
    const fn = this.functions.get(name);
    if (!fn) {
      throw new KeyRelayError(
        'FunctionNotFound',
        `no local function '${nameOrArn}'; registered: ${this.names().join(', ') || '(none)'}`,
      );
    }
    const qualifier = functionQualifier(nameOrArn);
    await this.guard?.(name, invoker, qualifier);
    // No deadline in process: the bundles' runtime enforces the template's timeout.
    return fn(event, { invokedFunctionArn: `${this.arn(name)}${qualifier ? `:${qualifier}` : ''}`, getRemainingTimeInMillis: () => Number.MAX_SAFE_INTEGER });
  }
}

/**
 * The function name in any form Lambda accepts: `name`, `name:qualifier`, `123456789012:function:name`,
 * `arn:aws:lambda:region:acct:function:name[:qualifier]`.
 */
export function functionName(nameOrArn: string): string {
  const parts = decodeURIComponent(nameOrArn).split(':');
  const at = parts.indexOf('function');
  if (at >= 0) return parts[at + 1] ?? '';
  return parts[0] ?? '';
}

/** The qualifier (alias or version) in any form Lambda accepts, when there is one. */
export function functionQualifier(nameOrArn: string): string | undefined {
  const parts = decodeURIComponent(nameOrArn).split(':');
  const at = parts.indexOf('function');
  return (at >= 0 ? parts[at + 2] : parts.length === 2 ? parts[1] : undefined) || undefined;
}

/** A thrown value as Lambda's Node.js runtime reports it: `errorType` is the error's stable `code` when it has one. */
export function lambdaErrorPayload(err: unknown): { errorType: string; errorMessage: string; trace: string[] } {
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    return { errorType: typeof code === 'string' && code ? code : err.name, errorMessage: err.message, trace: [] };
  }
  return { errorType: 'Error', errorMessage: String(err), trace: [] };
}

/**
 * How the local stack runs keyrelay's functions: `bundle`, the deployed bundles as Node 24 processes behind a local
 * Lambda Runtime API (`local/lambda-runtime/`); `in-process`, the TypeScript handlers imported into this process
 * (tests that hook into a step from inside, e.g. right after the provider issued a key).
 */
export type FunctionMode = 'bundle' | 'in-process';

/** Credentials a function's process signs its calls with. */
export interface FunctionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What {@link startBundleFunctions} needs to run keyrelay's bundles. */
export interface BundleFunctionsOptions {
  registry: FunctionRegistry;
  /** Local names of the functions. */
  names: Record<LambdaName, string>;
  /** The local AWS endpoint. */
  endpoint: string;
  clock: LocalClock;
  /** What the synthesized template sets on each function (`function-settings.ts`). */
  settings: Record<LambdaName, FunctionSettings>;
  /** Each function's role credentials: the endpoint attributes its calls by this access key. */
  credentials(fn: LambdaName): FunctionCredentials;
  /** Where the bundles are (`buildLambdaBundles()` output). @default - `dist/lambda` of this package */
  bundlesDir?: string;
  /** Variables added to every function's environment (local only, e.g. `POWERTOOLS_LOG_LEVEL`). */
  environment?: Record<string, string>;
  poolSize?: number;
  output?: OutputSink;
}

// Variables of this process passed on to the functions: local log and metric switches only.
const PASSED_ON = ['POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_METRICS_DISABLED', 'POWERTOOLS_DEV'] as const;

/**
 * Starts the local Lambda runtime for keyrelay's bundles (rotation, revoker) with the settings their template gives
 * them, and returns it; invoking is `runtime.invoke(name, event)`.
 * @throws KeyRelayError `BundleMissing` when a bundle has not been built (`npm run build:lambda`).
 */
export function startBundleFunctions(options: BundleFunctionsOptions): LambdaRuntime {
  const { registry, names } = options;
  const missing = (Object.keys(LAMBDA_ENTRIES) as LambdaName[]).find((fn) => !existsSync(join(bundleDir(fn, options.bundlesDir), 'index.js')));
  if (missing) {
    throw new KeyRelayError('BundleMissing', `no bundle of the ${missing} function at ${bundleDir(missing, options.bundlesDir)}: build them with \`npm run build:lambda\``);
  }
  const runtime = new LambdaRuntime({
    region: registry.region,
    accountId: registry.accountId,
    endpoint: options.endpoint,
    clock: () => ({ now: options.clock.now(), speed: options.clock.speed }),
    poolSize: options.poolSize,
    output: options.output,
  });
  if (runtime.node.warning) process.stderr.write(`keyrelay local: ${runtime.node.warning}\n`);
  const passed = Object.fromEntries(PASSED_ON.flatMap((k) => (process.env[k] !== undefined ? [[k, process.env[k] as string]] : [])));
  for (const fn of Object.keys(LAMBDA_ENTRIES) as LambdaName[]) {
    const { environment, ...limits } = options.settings[fn];
    const spec: BundleFunction = {
      name: names[fn],
      bundleDir: bundleDir(fn, options.bundlesDir),
      ...limits,
      environment: { ...environment, ...passed, ...options.environment },
      credentials: options.credentials(fn),
    };
    runtime.define(spec);
  }
  return runtime;
}
