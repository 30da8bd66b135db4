import * as z from 'zod/mini';
import '../../core/zod-mini';
import { RevokerRequestError } from './errors';
import type { RevokerRequest } from './protocol';

const secretId = z.string().check(z.minLength(1, 'must name a secret (name or ARN)'));
// Audit fields travel into log lines only (never into tags), so free text is fine; bound it.
const text = z.string().check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(1000));
const keyId = z.optional(z.string().check(z.minLength(1)));
/** What the operator confirmed in an emergency: the revoker refuses when the key it would revoke is another. */
const confirmed = { expectedKeyId: keyId, expectedVersionId: z.optional(z.string().check(z.minLength(1))) };

/** zod schema (`zod/mini`: cold start) of {@link RevokerRequest}; unknown fields are dropped. */
export const RevokerRequestSchema: z.ZodMiniType<RevokerRequest> = z.discriminatedUnion('action', [
  z.object({ action: z.literal('revokeDue'), secretId }),
  z.object({ action: z.literal('reconcile'), secretId: z.optional(secretId) }),
  z.object({ action: z.literal('canary'), secretId: z.optional(secretId) }),
  z.object({
    action: z.literal('revokeNow'),
    secretId,
    keyId,
    previous: z.optional(z.boolean()),
    ...confirmed,
    reason: text,
    operator: text,
  }),
  z.object({
    action: z.literal('revokeWithoutReplacement'),
    secretId,
    ...confirmed,
    reason: text,
    operator: text,
    acceptDowntime: z.literal(true, 'must be true: this revokes the current key and the apps using it fail until the next rotation'),
  }),
  z.object({ action: z.literal('cancel'), secretId, reason: z.optional(text), operator: text }),
  z.object({ action: z.literal('restore'), secretId, keyId, reason: z.optional(text), operator: text }),
  z.object({ action: z.literal('rollback'), secretId, reason: z.optional(text), operator: text }),
  z.object({
    action: z.literal('import'),
    secretId,
    // It names the key's lifecycle record (a tag key): the characters tags allow.
    keyId: z.string().check(z.regex(/^[\p{L}\p{N}_.:/=+\-@]{1,100}$/u, "must be the provider's key id (letters, digits and _ . : / = + - @)")),
    apiKey: z.string().check(z.minLength(1, 'must not be empty'), z.maxLength(8192)),
    reason: z.optional(text),
    operator: text,
  }),
  z.object({ action: z.literal('retire'), secretId, handOver: z.boolean(), reason: z.optional(text), operator: text }),
  z.object({ action: z.literal('inspect'), secretId }),
]) as z.ZodMiniType<RevokerRequest>;

/**
 * Validates an `Invoke` payload.
 * @throws RevokerRequestError naming the field, what it got and the actions that exist.
 */
export function parseRevokerRequest(payload: unknown): RevokerRequest {
  const parsed = RevokerRequestSchema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(payload)';
    const got = field === '(payload)' ? JSON.stringify(payload)?.slice(0, 120) : undefined;
    throw new RevokerRequestError(
      `revoker request invalid at '${field}': ${issue?.message ?? 'does not match the protocol'}` +
        (got ? ` (got ${got})` : '') +
        '; expected { action: revokeDue | reconcile | canary | revokeNow | revokeWithoutReplacement | cancel | restore | rollback | import | retire | inspect, secretId, ... }',
    );
  }
  const request = parsed.data;
  if (request.action === 'revokeNow' && (request.keyId === undefined) === (request.previous !== true)) {
    throw new RevokerRequestError(
      `revoker request invalid: revokeNow needs exactly one of 'keyId' or 'previous: true' (got keyId=${request.keyId ?? 'none'}, previous=${String(request.previous ?? false)})`,
    );
  }
  return request;
}
