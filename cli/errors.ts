import { KeyRelayError } from '../core/errors';
import { httpStatus, isThrottling } from '../core/retry';

/**
 * Exit codes, stable for scripts: `attention` is `status`/`plan` finding something to look at; `refused` is a
 * declined or missing confirmation.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, attention: 3, refused: 4 } as const;

/** An exit code. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * An error the CLI reports: a stable `code` (printed, and `error.code` in `--json`), a message naming the input and
 * the value received, and `hint`, the next step for the operator.
 */
export class CliError extends KeyRelayError {
  /** What to do next, as a command where there is one. */
  readonly hint: string;
  /** @default EXIT.failed */
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, hint: string, options?: { cause?: unknown; exitCode?: ExitCode }) {
    super(code, message, options);
    this.hint = hint;
    this.exitCode = options?.exitCode ?? EXIT.failed;
  }
}

/** Next steps for errors raised outside the CLI (core, revoker, providers), by code. */
const HINTS: Record<string, string> = {
  StateInvalid: "fix the secret's tags or value as the message says (docs/state.md), or `keyrelay import NAME`",
  ConfigInvalid: 'fix keyrelay.config.json as the message says and deploy',
  RotationState: '`keyrelay status NAME` shows the versions; `keyrelay cancel NAME` abandons a stuck rotation',
  ProviderUnavailable: 'the provider is down: `keyrelay freeze NAME --reason "provider outage"` until it is back',
  ProviderThrottled: 'the provider is rate limiting: retry in a minute',
  ProviderAuthFailed: "the provider rejected keyrelay's admin credential: fix the admin secret, then retry",
  ProviderQuotaFull: '`keyrelay plan NAME` lists the keys holding the quota; `keyrelay revoke NAME --key-id ID` frees one',
  ProviderKeyNotFound: 'the key is already gone at the provider; `keyrelay status NAME` to see what remains',
};

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
    return new CliError(err.code, `${about}${err.message}`, HINTS[err.code] ?? 'rerun with --debug for details', { cause: err.cause ?? err });
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
  return new CliError(name && name !== 'Error' ? name : 'Unexpected', `${about}${message}`, 'rerun with --debug for details', { cause: err });
}
