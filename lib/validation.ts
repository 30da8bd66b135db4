import { type Duration, ValidationError } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { RECONCILE_EVERY_SECONDS } from './config';

/** The name aws-cdk-lib's `ValidationError` takes (a literal, so error names stay greppable). */
type ErrorName = ConstructorParameters<typeof ValidationError>[0];

/**
 * Throws aws-cdk-lib's `ValidationError` for `scope`: the message names the construct path, as aws-cdk-lib's own
 * constructs do ("… must be …, got …").
 *
 * @example
 * if (memorySize < 128) refuse(this, 'MemorySizeOutOfRange', `memorySize must be at least 128 MiB, got ${memorySize}`);
 */
export function refuse(scope: IConstruct, name: string, message: string): never {
  throw new ValidationError(name as ErrorName, message, scope);
}

/** Refuses a `reconcileEvery` that is not whole minutes within the config's limits (`RECONCILE_EVERY_SECONDS`). */
export function checkReconcileEvery(scope: IConstruct, every: Duration): void {
  const seconds = every.toSeconds();
  if (seconds < RECONCILE_EVERY_SECONDS.min || seconds > RECONCILE_EVERY_SECONDS.max || seconds % 60 !== 0) {
    refuse(scope, 'ReconcileEveryOutOfRange', `reconcileEvery must be whole minutes from 5 minutes to 1 day, got ${every.toHumanString()}`);
  }
}
