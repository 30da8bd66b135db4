import { isOperatorErrorCode, type ErrorCode, type OperatorErrorCode } from '../core/error-codes';
import { KeyRelayError } from '../core/errors';
import { httpStatus, isThrottling } from '../core/retry';

/**
 * Exit codes, stable for scripts: `attention` is `status`/`plan` finding something to look at; `refused` is a
 * declined or missing confirmation.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, attention: 3, refused: 4 } as const;

/** An exit code. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The codes the CLI raises itself (stable for scripts: printed, and `error.code` in `--json`). */
export const CLI_CODES = [
  'AccessDenied',
  'ConfirmationRefused',
  'CurrentKeyMoved',
  'EndpointUnreachable',
  'NoCallerProof',
  'NoCredentials',
  'NoKeyValue',
  'NoKeysSelected',
  'NoPreviousKey',
  'NoRegion',
  'NoRevoker',
  'NotManaged',
  'NothingRevoked',
  'NothingToRestore',
  'RevokerBadResponse',
  'RevokerNotFound',
  'RotationFailed',
  'RotationInProgress',
  'RotationTimeout',
  'SecretFrozen',
  'Throttled',
  'Unexpected',
  'UnknownKey',
  'UsageError',
] as const;

/** A code keyrelay does not own, passed through as the operator would see it elsewhere (an AWS exception name, a Lambda `errorType`). */
export type ForeignCode = string & { readonly foreignCode: true };

/** Marks `name` as a {@link ForeignCode}: the only way a code outside keyrelay's unions reaches a {@link CliError}. */
export function foreignCode(name: string): ForeignCode {
  return name as ForeignCode;
}

/** The code of a {@link CliError}: the CLI's own, one of keyrelay's errors', or a foreign one. */
export type CliCode = (typeof CLI_CODES)[number] | ErrorCode | ForeignCode;

/**
 * An error the CLI reports: a stable `code` (printed, and `error.code` in `--json`), a message naming the input and
 * the value received, and `hint`, the next step for the operator.
 */
export class CliError extends KeyRelayError<CliCode> {
  /** What to do next, as a command where there is one. */
  readonly hint: string;
  /** @default EXIT.failed */
  readonly exitCode: ExitCode;

  constructor(code: CliCode, message: string, hint: string, options?: { cause?: unknown; exitCode?: ExitCode }) {
    super(code, message, options);
    this.hint = hint;
    this.exitCode = options?.exitCode ?? EXIT.failed;
  }
}

/**
 * The next step for every error the core and the revoker raise (the revoker's own and its providers'), by code: one
 * table for errors met in process and for the revoker's `errorType`. The compiler refuses a code without a hint.
 */
export const HINTS = {
  ConfigInvalid: 'fix keyrelay.config.json as the message says and deploy',
  StateInvalid: "fix the secret's tags or value as the message says (docs/state.md), or `keyrelay import NAME`",
  RotationState: '`keyrelay status NAME` shows which version holds which label; `keyrelay cancel NAME` abandons a stuck rotation',
  SecretNotDeclared: 'add the key to keyrelay.config.json and deploy: the functions act only on declared keys',
  ProviderUnavailable:
    'the provider is down: `keyrelay freeze NAME --reason "provider outage"` until it is back; for a leaked current key, ' +
    '`keyrelay rotate --emergency NAME --revoke-without-replacement`',
  ProviderThrottled: 'the provider is rate limiting: retry in a minute',
  ProviderAuthFailed: "the provider rejected keyrelay's admin credential: fix the admin secret, then retry",
  ProviderQuotaFull: '`keyrelay plan NAME` lists the keys holding the quota; `keyrelay revoke NAME --key-id ID` frees one',
  ProviderKeyNotFound: 'the key is already gone at the provider; `keyrelay status NAME` to see what remains',
  ProviderRevokeRefused: "the provider refused to revoke the key: read the message, then revoke it in the provider's console",
  ProviderBadResponse: "the provider answered something keyrelay does not understand: retry; if it persists, read the revoker's logs",
  RevokerRequestInvalid: 'the revoker refused the request as malformed: use a keyrelay CLI of the same version as the deployed stack',
  CallerNotProven:
    'the revoker records who you are from a presigned sts:GetCallerIdentity: upgrade the keyrelay CLI, check your AWS ' +
    'credentials, and run the command again',
  RevocationFailed:
    'the key may still be alive: check the provider and its admin credential, then `keyrelay revoke NAME --key-id ID` ' +
    '(the reconcile sweep also retries)',
  KeyInUse: '`keyrelay status NAME` shows which label references the key: rotate first (`keyrelay rotate NAME`), then revoke it',
  NothingToDo: 'nothing was changed: `keyrelay status NAME` shows the current state',
  KeyMoved: "`keyrelay history NAME` shows the confirmed key's id: revoke that key by id (`keyrelay revoke NAME --key-id ID`)",
  CanaryFailed: "the canary could not judge some keys: read the revoker's logs; the next canary run checks them again",
  UntrustedEvent: 'AWS events are acted on only through the deployed EventBridge rule; invoke actions with the keyrelay CLI',
  NoPreviousKey: '`keyrelay history NAME` shows the versions; there is nothing to roll back to',
  PreviousKeyNotValid: 'the previous key no longer works: rotate instead (`keyrelay rotate NAME`)',
  RotationInProgress: '`keyrelay status NAME` shows the rotation; wait for it, or `keyrelay cancel NAME`',
  ImportInvalid: 'check the key and its id as the message says, then `keyrelay import NAME` again',
} as const satisfies Record<OperatorErrorCode, string>;

/** The hint for a code, or `fallback` when keyrelay has none (a foreign code). */
export function hintFor(code: string, fallback = 'rerun with --debug for details'): string {
  return isOperatorErrorCode(code) ? HINTS[code] : fallback;
}

function awsName(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const name = (err as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Turns anything thrown into a {@link CliError}: AWS SDK errors by name or status (unknown secret, access denied,
 * throttling, no credentials, endpoint down), keyrelay errors with the hint for their code.
 * @param subject - what was being worked on, e.g. `key 'payments/api'`, for the message.
 */
export function toCliError(err: unknown, subject?: string): CliError {
  if (err instanceof CliError) return err;
  const about = subject ? `${subject}: ` : '';
  if (err instanceof KeyRelayError) {
    return new CliError(err.code as CliCode, `${about}${err.message}`, hintFor(err.code), { cause: err.cause ?? err });
  }
  const name = awsName(err);
  const message = err instanceof Error ? err.message : String(err);
  if (name === 'ResourceNotFoundException') {
    return new CliError('UnknownKey', `${about}not found (${message})`, '`keyrelay status` lists the managed keys', { cause: err });
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new CliError(
      'NoCredentials',
      `${about}no AWS credentials found`,
      'set AWS_PROFILE or run `aws sso login`; for the local stack set AWS_ENDPOINT_URL (or --endpoint-url)',
      { cause: err },
    );
  }
  if (/Region is missing/i.test(message)) {
    return new CliError('NoRegion', `${about}no AWS region configured`, 'set AWS_REGION or pass --region', { cause: err });
  }
  const status = httpStatus(err);
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || status === 403) {
    // The on-call policy is scoped by a tag condition, so AWS refuses a name that no managed secret has (or another
    // deployment's) before telling whether it exists: a denial on a key is most often a wrong name.
    const hint = subject
      ? '`keyrelay status` lists the keys this deployment manages (on-call is refused, not told "not found", for any other ' +
        'name); if the name is right, check who you are with `aws sts get-caller-identity`: the on-call policy from the keyrelay stack has the permissions'
      : 'check who you are with `aws sts get-caller-identity`; the on-call policy from the keyrelay stack has the permissions';
    return new CliError('AccessDenied', `${about}access denied (${name ?? status}: ${message})`, hint, { cause: err });
  }
  if (isThrottling(err)) {
    return new CliError('Throttled', `${about}AWS kept throttling (${name})`, 'retry in a minute, or lower --concurrency', { cause: err });
  }
  const net = networkCode(err);
  if (net) {
    return new CliError(
      'EndpointUnreachable',
      `${about}cannot reach AWS (${net})`,
      'check the network; for the local stack check that `npm run local` is running and AWS_ENDPOINT_URL matches',
      { cause: err },
    );
  }
  return new CliError(name && name !== 'Error' ? foreignCode(name) : 'Unexpected', `${about}${message}`, 'rerun with --debug for details', { cause: err });
}
