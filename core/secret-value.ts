import { createHash } from 'node:crypto';
import { StateError } from './errors';

/**
 * The JSON stored in every managed secret. Applications read `apiKey`; `keyId` is the provider's handle for the key
 * and is not secret. See docs/state.md.
 */
export interface SecretValue {
  /** The key material applications send to the provider. */
  apiKey: string;
  /** The provider's id for this key. */
  keyId: string;
  /** Provider type that issued it, e.g. `reference`. */
  provider: string;
  /** When the provider issued it (ISO-8601, with a zone offset or `Z`). */
  issuedAt: string;
  /** Account/principal the key acts as, when the provider says. */
  principal?: string;
  /** Provider-specific public attributes (e.g. an IAM access key id). Never secret. */
  attributes?: Record<string, string>;
}

/** ISO-8601 date and time with a zone (`Z` or `±hh:mm`), seconds and fraction optional. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * Checks the parsed JSON field by field. Written out rather than with the config's schema library: this module is part
 * of `@keyrelay/client`, whose installed size stays small (zod would triple it).
 * @returns the first problem as `[field, what was expected]`, or the value with only its known fields.
 */
function checkSecretValue(json: unknown): SecretValue | [field: string, problem: string] {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return ['(root)', 'expected a JSON object'];
  const o = json as Record<string, unknown>;
  for (const field of ['apiKey', 'keyId', 'provider'] as const) {
    if (typeof o[field] !== 'string' || o[field] === '') return [field, 'expected a non-empty string'];
  }
  const issuedAt = o.issuedAt;
  if (typeof issuedAt !== 'string' || !ISO_DATE_TIME.test(issuedAt) || Number.isNaN(Date.parse(issuedAt))) {
    return ['issuedAt', 'expected an ISO-8601 date and time with a zone, e.g. 2026-11-22T10:00:00Z'];
  }
  const value: SecretValue = { apiKey: o.apiKey as string, keyId: o.keyId as string, provider: o.provider as string, issuedAt };
  if (o.principal !== undefined) {
    if (typeof o.principal !== 'string') return ['principal', 'expected a string'];
    value.principal = o.principal;
  }
  if (o.attributes !== undefined) {
    const attributes = o.attributes;
    if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) return ['attributes', 'expected an object of strings'];
    for (const [name, text] of Object.entries(attributes)) if (typeof text !== 'string') return [`attributes.${name}`, 'expected a string'];
    value.attributes = { ...(attributes as Record<string, string>) };
  }
  return value;
}

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
  const checked = checkSecretValue(json);
  if (Array.isArray(checked)) {
    const [field, problem] = checked;
    throw new StateError(`secret '${secretName}' value is invalid at '${field}': ${problem}; rotate it, or import the key with \`keyrelay import\``);
  }
  return checked;
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
