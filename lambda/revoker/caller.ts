import type { GetCallerIdentityCommandOutput, STSClient } from '@aws-sdk/client-sts';
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { CALLER_PROOF_FIELD, CALLER_PROOF_HEADER, CALLER_PROOF_TTL_S, requestBinding, type CallerProof } from '../../core/caller-proof';
import { describeError } from '../../core/errors';
import { CallerNotProvenError } from './errors';

/**
 * Who asked: the recorded operator is the verified caller, never a request field (docs/security.md, "Who did it").
 * The payload carries a presigned STS `GetCallerIdentity` request (`core/caller-proof.ts`) bound to the action
 * by a signed header; the revoker sends it to STS, which checks the signature and answers the signer's ARN.
 */

/** Proves who signed a caller proof. */
export interface CallerVerifier {
  /**
   * The ARN STS answers for `proof`, sent with `binding` as its {@link CALLER_PROOF_HEADER}.
   * @throws CallerNotProvenError when the proof is malformed, not bound to `binding`, or STS rejects it.
   */
  verify(proof: unknown, binding: string): Promise<string>;
}

/** An event split into the action payload and the proof it carried (if any). */
export interface ProvenEvent {
  payload: unknown;
  proof?: unknown;
  /** {@link requestBinding} of `payload`. */
  binding: string;
}

/** Takes the proof field off an `Invoke` payload; what remains is the action the proof must be bound to. */
export function splitProof(event: unknown): ProvenEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return { payload: event, binding: '' };
  const { [CALLER_PROOF_FIELD]: proof, ...payload } = event as Record<string, unknown>;
  return { payload, proof, binding: requestBinding(payload) };
}

function isProof(value: unknown): value is CallerProof {
  const v = value as Partial<CallerProof> | null;
  return typeof v === 'object' && v !== null && typeof v.url === 'string' && typeof v.headers === 'object' && v.headers !== null;
}

const UPGRADE = 'run the action with a current keyrelay CLI (it proves who you are with a presigned sts:GetCallerIdentity); an older CLI must be upgraded';

/** Checks a proof's shape and binding before anything is sent. @returns its query parameters. */
export function checkProof(proof: unknown, binding: string): URLSearchParams {
  if (proof === undefined) throw new CallerNotProvenError(`the request carries no caller proof ('${CALLER_PROOF_FIELD}'): ${UPGRADE}`);
  if (!isProof(proof)) throw new CallerNotProvenError(`the caller proof is malformed (expected { url, headers }): ${UPGRADE}`);
  let url: URL;
  try {
    url = new URL(proof.url);
  } catch {
    throw new CallerNotProvenError(`the caller proof's url is not a URL: ${UPGRADE}`);
  }
  const query = url.searchParams;
  if (query.get('Action') !== 'GetCallerIdentity' || !query.get('X-Amz-Signature')) {
    throw new CallerNotProvenError(`the caller proof is not a presigned sts:GetCallerIdentity request: ${UPGRADE}`);
  }
  // STS honours presigned URLs for up to 7 days: the replay bound (docs/security.md) is the revoker's to keep.
  const expires = Number(query.get('X-Amz-Expires'));
  if (!Number.isInteger(expires) || expires <= 0 || expires > CALLER_PROOF_TTL_S) {
    throw new CallerNotProvenError(`the caller proof must expire within ${CALLER_PROOF_TTL_S} s (X-Amz-Expires was '${query.get('X-Amz-Expires') ?? ''}'): ${UPGRADE}`);
  }
  const signed = (query.get('X-Amz-SignedHeaders') ?? '').split(';');
  if (!signed.includes(CALLER_PROOF_HEADER) || proof.headers[CALLER_PROOF_HEADER] !== binding) {
    throw new CallerNotProvenError(
      `the caller proof is not bound to this request (its signed '${CALLER_PROOF_HEADER}' header is another payload's): send the action again from the CLI, unchanged`,
    );
  }
  return query;
}

/**
 * A {@link CallerVerifier} sending proofs through `sts` (an STS client: the SDK's endpoint resolution, including
 * `AWS_ENDPOINT_URL_STS`, its timeouts, no redirects). The client's own signature is replaced by the proof's query
 * string and header, so STS judges the caller's signature, not the revoker's; `GetCallerIdentity` needs no IAM
 * permission.
 */
export function stsCallerVerifier(sts: STSClient): CallerVerifier {
  return {
    async verify(proof, binding) {
      const query = checkProof(proof, binding);
      // Loaded on first use: only on-call actions need it (cold start of the shared bundle).
      const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
      const command = new GetCallerIdentityCommand({});
      // After the SDK signed: its signature gives way to the proof's (query string and bound header).
      const sendProof: FinalizeRequestMiddleware<object, GetCallerIdentityCommandOutput> = (next) => async (args) => {
        const request = args.request as { method: string; headers: Record<string, string>; query: Record<string, string>; body?: unknown };
        request.method = 'GET';
        request.body = undefined;
        request.query = Object.fromEntries(query);
        const host = request.headers.host;
        request.headers = { [CALLER_PROOF_HEADER]: binding, ...(host ? { host } : {}) };
        return next(args);
      };
      command.middlewareStack.addRelativeTo(sendProof, { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'keyrelayCallerProof' });
      let arn: string | undefined;
      try {
        arn = (await sts.send(command)).Arn;
      } catch (err) {
        throw new CallerNotProvenError(
          `STS rejected the caller proof (${describeError(err)}): it expires ${CALLER_PROOF_TTL_S / 60} minutes after the CLI signed it and proves only the payload it was made for; run the action again from the CLI`,
          { cause: err },
        );
      }
      if (!arn) throw new CallerNotProvenError('STS answered the caller proof without an Arn; run the action again from the CLI');
      return arn;
    },
  };
}
