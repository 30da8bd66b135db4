import { KeyRelayError } from '../lambda/core/errors';

/**
 * keyrelay's own Lambda functions, run in-process by the local stack. moto's Lambda (without Docker) only echoes a
 * payload, so the local endpoint answers `Invoke` for these names itself and forwards every other name to moto.
 * The registry is open: the revoker (or any later function) slots in with `register`.
 */

/** A function body: the handler's event in, its result out; throwing is a function error. */
export type LocalFunction = (event: unknown) => Promise<unknown>;

/** Names and in-process bodies of keyrelay's functions. */
export class FunctionRegistry {
  private readonly functions = new Map<string, LocalFunction>();

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

  /** Registered names. */
  names(): string[] {
    return [...this.functions.keys()];
  }

  /** The ARN a registered function has locally. */
  arn(name: string): string {
    return `arn:aws:lambda:${this.region}:${this.accountId}:function:${name}`;
  }

  /** Runs a registered function. @throws whatever it throws; KeyRelayError `FunctionNotFound` when none is registered. */
  async invoke(nameOrArn: string, event: unknown): Promise<unknown> {
    const fn = this.functions.get(functionName(nameOrArn));
    if (!fn) {
      throw new KeyRelayError(
        'FunctionNotFound',
        `no local function '${nameOrArn}'; registered: ${this.names().join(', ') || '(none)'}`,
      );
    }
    return fn(event);
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

/** A thrown value as Lambda's Node.js runtime reports it: `errorType` is the error's stable `code` when it has one. */
export function lambdaErrorPayload(err: unknown): { errorType: string; errorMessage: string; trace: string[] } {
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    return { errorType: typeof code === 'string' && code ? code : err.name, errorMessage: err.message, trace: [] };
  }
  return { errorType: 'Error', errorMessage: String(err), trace: [] };
}
