/**
 * Every stable `code` keyrelay's own errors carry, by the area that raises them: one typed union, so a code is
 * written once and a typo does not compile. The CLI's hint table covers every {@link OperatorErrorCode}
 * (`cli/errors.ts`, checked by the compiler).
 */
export const ERROR_CODES = {
  /** The config, the state contract and the manifest. */
  core: ['ConfigInvalid', 'StateInvalid', 'RotationState', 'SecretNotDeclared'],
  /** Provider adapters (`lambda/providers/errors.ts`). */
  provider: [
    'ProviderAuthFailed',
    'ProviderQuotaFull',
    'ProviderThrottled',
    'ProviderKeyNotFound',
    'ProviderUnavailable',
    'ProviderRevokeRefused',
    'ProviderBadResponse',
  ],
  /** The revoker's refusals and failures (`lambda/revoker/errors.ts`): the `errorType` of its failed invocations. */
  revoker: [
    'RevokerRequestInvalid',
    'CallerNotProven',
    'RevocationFailed',
    'KeyInUse',
    'NothingToDo',
    'KeyMoved',
    'CanaryFailed',
    'UntrustedEvent',
    'NoPreviousKey',
    'PreviousKeyNotValid',
    'RotationInProgress',
    'ImportInvalid',
  ],
  /** The rotation function's steps (`lambda/rotation/errors.ts`, `lambda/runtime/events.ts`): Secrets Manager sees them. */
  rotation: [
    'RotationEventInvalid',
    'RotationFrozen',
    'RotationQuotaFull',
    'PrincipalMismatch',
    'PendingKeyRejected',
    'PendingValueConflict',
    'RotationCancelled',
    'EventPublishFailed',
  ],
  /** The application client (`client/errors.ts`). */
  client: ['ClientOptionsInvalid', 'SecretNotFound', 'SecretAccessDenied', 'SecretUnavailable', 'SecretReadFailed'],
  /** The constructs' prebuilt Lambda bundles (`lib/bundles.ts`). */
  constructs: ['LambdaBundleMissing'],
  /** The local stack (`local/`). */
  local: ['FunctionSettings', 'MotoUnavailable', 'InjectedCrash', 'LocalStackSetup', 'FunctionNotFound', 'RuntimeStopped', 'BundleMissing'],
} as const;

/** A code of one of keyrelay's own errors. */
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES][number];

/** The codes an operator meets through the CLI: raised in process (core) or by the revoker (its own and its providers'). */
export type OperatorErrorCode = (typeof ERROR_CODES)['core' | 'provider' | 'revoker'][number];

const OPERATOR_CODES: ReadonlySet<string> = new Set<OperatorErrorCode>([...ERROR_CODES.core, ...ERROR_CODES.provider, ...ERROR_CODES.revoker]);

/** Whether `code` (e.g. a Lambda `errorType` read off the wire) is an {@link OperatorErrorCode}. */
export function isOperatorErrorCode(code: string): code is OperatorErrorCode {
  return OPERATOR_CODES.has(code);
}
