/**
 * Errors shared by every area. Branch with `instanceof` on the class, or on the stable `code`
 * (what the CLI prints). Messages say what was wrong, the value received, and what to do next.
 */

import type { ErrorCode } from './error-codes';

/**
 * Base of every error keyrelay throws on purpose. `Code` is one of keyrelay's own codes ({@link ErrorCode}); only
 * errors that pass on a code keyrelay does not own (an AWS exception name, a Lambda `errorType`) widen it to `string`.
 */
export class KeyRelayError<Code extends string = ErrorCode> extends Error {
  /** Stable machine-readable code, e.g. `ConfigInvalid`. */
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
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
