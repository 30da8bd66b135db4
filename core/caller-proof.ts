import { createHash } from 'node:crypto';

/**
 * The wire format of the caller proof (docs/security.md, "Who did it"): the CLI presigns an STS `GetCallerIdentity`
 * request whose signed header {@link CALLER_PROOF_HEADER} carries {@link requestBinding} of the action it sends, and
 * puts the URL in the payload's {@link CALLER_PROOF_FIELD}; the revoker sends that request to STS and records the ARN
 * STS answers as the operator. One owner for both sides.
 */

/** The payload field carrying the proof. */
export const CALLER_PROOF_FIELD = 'callerProof';

/** The signed header binding the proof to one action payload. */
export const CALLER_PROOF_HEADER = 'x-keyrelay-request';

/** How long a proof is valid (SigV4 presign `X-Amz-Expires`, s): STS refuses it afterwards. */
export const CALLER_PROOF_TTL_S = 900;

/** A presigned STS `GetCallerIdentity` request: its URL and the signed headers the sender must send with it. */
export interface CallerProof {
  url: string;
  headers: Record<string, string>;
}

/** The binding of a proof to an action payload (without the proof): hex SHA-256 of its JSON. */
export function requestBinding(payload: object): string {
  return createHash('sha256').update(JSON.stringify(payload)).digest('hex');
}
