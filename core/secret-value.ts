import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { StateError } from './errors';
import './zod-mini';

/**
 * The JSON stored in every managed secret. Applications read `apiKey`; `keyId` is the provider's handle for the key
 * and is not secret. See docs/state.md.
 */
export const SecretValueSchema = z.object({
  /** The key material applications send to the provider. */
  apiKey: z.string().check(z.minLength(1)),
  /** The provider's id for this key. */
  keyId: z.string().check(z.minLength(1)),
  /** Provider type that issued it, e.g. `reference`. */
  provider: z.string().check(z.minLength(1)),
  /** When the provider issued it (ISO-8601). */
  issuedAt: z.iso.datetime({ offset: true }),
  /** Account/principal the key acts as, when the provider says. */
  principal: z.optional(z.string()),
  /** Provider-specific public attributes (e.g. an IAM access key id). Never secret. */
  attributes: z.optional(z.record(z.string(), z.string())),
});

/** A parsed secret value. */
export type SecretValue = z.infer<typeof SecretValueSchema>;

/**
 * Parses a secret's `SecretString`. The error names the secret and the bad field and never quotes the input,
 * which may hold key material (V8's own JSON errors quote it, so they are not passed on as the cause).
 * @throws StateError
 */
export function parseSecretValue(text: string | undefined, secretName: string): SecretValue {
  if (text === undefined || text === '') {
    throw new StateError(`secret '${secretName}' has no value yet: rotate it to issue its first key`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StateError(
      `secret '${secretName}' does not hold JSON: expected {"apiKey": ..., "keyId": ..., "provider": ..., "issuedAt": ...}; ` +
        'rotate it, or import the key with `keyrelay import`',
    );
  }
  const result = SecretValueSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)';
    throw new StateError(
      `secret '${secretName}' value is invalid at '${field}': ${issue?.message ?? 'does not match the schema'}; ` +
        'rotate it, or import the key with `keyrelay import`',
    );
  }
  return result.data;
}

/** Serialises a secret value for `PutSecretValue`. */
export function formatSecretValue(value: SecretValue): string {
  return JSON.stringify(value);
}

/**
 * A short, stable, non-reversible name for a key, shown wherever the key itself would be:
 * `sha256:` and the first 12 hex digits of its SHA-256.
 */
export function fingerprint(apiKey: string): string {
  return `sha256:${createHash('sha256').update(apiKey).digest('hex').slice(0, 12)}`;
}
