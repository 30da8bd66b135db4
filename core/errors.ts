/**
 * Errors shared by every area. Branch with `instanceof` on the class, or on the stable `code`
 * (what the CLI prints). Messages say what was wrong, the value received, and what to do next.
 */

import type { ErrorCode } from './error-codes';

/**
 * The brand every keyrelay error carries, in the global symbol registry so that every copy of this module agrees on
 * it: the names of the error's classes, its own first, up to `KeyRelayError`.
 */
const CLASSES = Symbol.for('keyrelay.error.classes');

/**
 * Base of every error keyrelay throws on purpose. `Code` is one of keyrelay's own codes ({@link ErrorCode}); only
 * errors that pass on a code keyrelay does not own (an AWS exception name, a Lambda `errorType`) widen it to `string`.
 *
 * `instanceof` goes by brand, not by prototype: an app can hold several copies of these classes (the ESM and the
 * CommonJS build of `@keyrelay/client`, or that package beside `keyrelay`), and an error thrown by one copy is still
 * `instanceof` the same-named class of another.
 */
export class KeyRelayError<Code extends string = ErrorCode> extends Error {
  /** Stable machine-readable code, e.g. `ConfigInvalid`. */
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    const classes: string[] = [];
    for (let c: unknown = new.target; c !== Error && typeof c === 'function'; c = Object.getPrototypeOf(c)) classes.push(c.name);
    Object.defineProperty(this, CLASSES, { value: classes });
  }

  /** Whether `value` is an error of this class, thrown by any copy of keyrelay's code (see the class comment). */
  static override [Symbol.hasInstance]<T>(this: abstract new (...args: never[]) => T, value: unknown): value is T {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `instanceof` asks about (a subclass too), not KeyRelayError.
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    const classes = typeof value === 'object' && value !== null ? (value as { [CLASSES]?: unknown })[CLASSES] : undefined;
    // biome-ignore lint/complexity/noThisInStatic: as above.
    return Array.isArray(classes) && classes.includes(this.name);
  }
}

/** `keyrelay.config.json` (or the settings derived from it) is invalid. */
export class ConfigError extends KeyRelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ConfigInvalid', message, options);
  }
}

/** A secret's value or tags do not match the state contract (docs/state.md). */
export class StateError extends KeyRelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('StateInvalid', message, options);
  }
}

/** A rotation event or the secret's versions are not in a state the step can act on. */
export class RotationStateError extends KeyRelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RotationState', message, options);
  }
}

/** Wording of `unknown` thrown values for messages, without assuming they are `Error`s. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
