import { InvokeCommand, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import type { ManagedSecret } from '../core/state';
import { TAGS } from '../core/state';
import type { RevokerRequest, RevokerResponse } from '../lambda/revoker/protocol';
import { CALLER_PROOF_FIELD, requestBinding, type CallerProof } from '../core/caller-proof';
import { withThrottleRetry } from './aws';
import type { Context } from './context';
import { isOperatorErrorCode } from '../core/error-codes';
import { CliError, foreignCode, hintFor, toCliError } from './errors';

/**
 * Sends one typed action to the revoker named on the secret (`keyrelay:revoker` tag) and returns its answer.
 * The CLI's only way to reach a provider.
 * @throws CliError `NoRevoker` when the secret names none; the revoker's own code (`errorType`) when it throws.
 */
export async function invokeRevoker(ctx: Context, secret: ManagedSecret, request: RevokerRequest): Promise<RevokerResponse> {
  const fn = secret.settings.revoker;
  if (!fn) {
    throw new CliError(
      'NoRevoker',
      `key '${secret.name}' names no revoker function (tag '${TAGS.revoker}' is missing)`,
      'deploy the keyrelay stack (it tags every managed secret), or start the local stack',
    );
  }
  // An action that records an operator carries the proof of who sent it (the revoker records the proven ARN).
  const payload = 'operator' in request ? { ...request, [CALLER_PROOF_FIELD]: await callerProof(ctx, request) } : request;
  let answer: InvokeCommandOutput;
  try {
    answer = await withThrottleRetry(ctx.clock, () =>
      ctx.clients.lambda.send(
        new InvokeCommand({ FunctionName: fn, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(JSON.stringify(payload)) }),
      ),
    );
  } catch (err) {
    const e = toCliError(err, `invoking revoker '${fn}' (${request.action}) for key '${secret.name}'`);
    if (e.code === 'UnknownKey') {
      // Lambda's ResourceNotFoundException: the function is missing, not the key.
      throw new CliError(
        'RevokerNotFound',
        `revoker function '${fn}' (named by tag '${TAGS.revoker}' of key '${secret.name}') does not exist here: ${e.message}`,
        'deploy the keyrelay stack (or start the local stack), and check --region / AWS_ENDPOINT_URL point where it runs',
        { cause: err },
      );
    }
    throw e;
  }
  const text = answer.Payload ? new TextDecoder().decode(answer.Payload) : '';
  if (answer.FunctionError) {
    const { errorType, errorMessage } = parseFunctionError(text);
    throw new CliError(
      isOperatorErrorCode(errorType) ? errorType : foreignCode(errorType),
      `revoker '${fn}' failed ${request.action} for key '${secret.name}': ${errorMessage}`,
      hintFor(errorType, `read the revoker's logs for '${secret.name}'; rerun with --debug`),
    );
  }
  try {
    const parsed = JSON.parse(text) as RevokerResponse;
    if (typeof parsed !== 'object' || parsed === null || !Array.isArray(parsed.keys)) throw new Error('no keys array');
    return parsed;
  } catch (err) {
    throw new CliError('RevokerBadResponse', `revoker '${fn}' answered ${request.action} with something that is not a RevokerResponse`, 'check the revoker is the same keyrelay version as this CLI', { cause: err });
  }
}

async function callerProof(ctx: Context, request: RevokerRequest): Promise<CallerProof> {
  try {
    return await ctx.clients.proveCaller(requestBinding(request));
  } catch (err) {
    throw new CliError(
      'NoCallerProof',
      `could not sign the proof of who you are for ${request.action} (${err instanceof Error ? err.message : String(err)})`,
      'the revoker records the AWS identity that signs this proof: configure AWS credentials (AWS_PROFILE, aws sso login) and --region',
      { cause: err },
    );
  }
}

/** Reads the `{errorType, errorMessage}` payload of a thrown Lambda error. */
export function parseFunctionError(text: string): { errorType: string; errorMessage: string } {
  try {
    const body = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
    return {
      errorType: typeof body.errorType === 'string' && body.errorType ? body.errorType : 'RevokerFailed',
      errorMessage: typeof body.errorMessage === 'string' ? body.errorMessage : 'no message',
    };
  } catch {
    return { errorType: 'RevokerFailed', errorMessage: text.slice(0, 200) || 'no message' };
  }
}
