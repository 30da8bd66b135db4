/** Longest provider error text (after redaction) that goes into a message. */
export const MAX_PROVIDER_TEXT = 200;
/** Longest provider error code kept on a {@link ProviderError}'s `providerCode`. */
const MAX_CODE = 64;
/** Sent values shorter than this are not searched for (they would blank ordinary words); the token rule still runs. */
const MIN_SENT = 4;
const REDACTED = '[redacted]';

/**
 * The one rule for "shaped like a token": a run of 16 or more characters from the alphabets keys are written in
 * (letters, digits, `_-.~+/=`) holding both a letter and a digit. API keys, admin tokens, JWTs, base64 credentials and
 * request signatures all match; English words, error codes (`api_key_limit_reached`) and numbers do not. UUIDs and
 * timestamps match too: losing them from a message costs less than a key in a log.
 */
const TOKEN_RUN = /[A-Za-z0-9_\-.~+/=]{16,}/g;
const HAS_LETTER = /[A-Za-z]/;
const HAS_DIGIT = /[0-9]/;

function looksLikeToken(text: string): boolean {
  return text.length >= 16 && HAS_LETTER.test(text) && HAS_DIGIT.test(text);
}

/**
 * A provider's error text made fit for a message: every value in `sent` (the credentials and keys that went out with
 * the request) removed, anything shaped like a token removed, control characters flattened (no forged log lines),
 * and the result cut to {@link MAX_PROVIDER_TEXT} characters. Redaction runs on the whole text before the cut, so a
 * key straddling the cut cannot leave a prefix behind.
 *
 * Trade-off: a provider's wording loses ids and timestamps that look like tokens; the status, the provider's error
 * code and the operation stay, which is what the operator acts on.
 *
 * @example
 * redactProviderText(`invalid key ${key}`, [key]) // 'invalid key [redacted]'
 */
export function redactProviderText(text: string, sent: Iterable<string>): string {
  let out = text;
  // Longest first: `user:secret` goes before `user`, so no fragment of the longer value survives.
  const values = [...new Set(sent)].filter((v) => v.length >= MIN_SENT).sort((a, b) => b.length - a.length);
  for (const value of values) out = out.split(value).join(REDACTED);
  out = out.replace(TOKEN_RUN, (run) => (looksLikeToken(run) ? REDACTED : run));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this strips from provider text.
  out = out.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return out.length > MAX_PROVIDER_TEXT ? `${out.slice(0, MAX_PROVIDER_TEXT)}…` : out;
}

/** A provider's error code, redacted like its text and bounded; undefined when there is none. */
export function redactProviderCode(code: unknown, sent: Iterable<string>): string | undefined {
  if (typeof code !== 'string' && typeof code !== 'number') return undefined;
  const text = redactProviderText(String(code), sent).slice(0, MAX_CODE);
  return text === '' ? undefined : text;
}

/**
 * Every form in which a provider could echo the credentials carried by `headers`: each header value whole, the
 * part after an auth scheme (`Bearer <token>`), and for `Basic` the decoded `user:password` with each half.
 */
export function credentialParts(headers: Record<string, string>): string[] {
  const parts: string[] = [];
  for (const value of Object.values(headers)) {
    parts.push(value);
    const scheme = /^([A-Za-z][A-Za-z0-9-]*) +(.+)$/.exec(value);
    if (!scheme?.[2]) continue;
    const [, name = '', rest] = scheme;
    parts.push(rest);
    if (name.toLowerCase() !== 'basic') continue;
    const decoded = Buffer.from(rest, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) continue;
    parts.push(decoded, decoded.slice(0, colon), decoded.slice(colon + 1));
  }
  return parts;
}
