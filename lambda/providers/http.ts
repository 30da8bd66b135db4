import type { z } from 'zod';
import type { Clock } from '../../core/clock';
import { ConfigError } from '../../core/errors';
import {
  KeyNotFoundError,
  ProviderAuthError,
  type ProviderError,
  ProviderResponseError,
  ProviderUnavailableError,
  QuotaExceededError,
  ThrottledError,
  parseRetryAfter,
} from './errors';
import { credentialParts, redactProviderCode, redactProviderText } from './redact';

/**
 * The HTTP plumbing every SaaS adapter shares: one `fetch` with a timeout, provider answers mapped onto the typed
 * errors of `./errors`, pagination that follows every page, and admin-credential parsing. Adapters only describe
 * paths, bodies and where the provider puts its error text.
 *
 * Trade-off: adapters never retry on their own. A 429 becomes a {@link ThrottledError} carrying `retryAfterMs` and
 * the caller (the rotation steps, through `retry` in `core/retry.ts`) decides how long a rotation may wait.
 *
 * @example
 * const http = new ProviderHttp({ provider: 'sendgrid', baseUrl, clock, auth: async () => ({ authorization: `Bearer ${token}` }) });
 * const { body } = await http.request({ method: 'GET', path: '/v3/api_keys', what: 'list API keys' });
 */

/** One call to the provider. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the base URL, or an absolute URL on the same origin (a provider's `next` link). */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Extra headers. */
  headers?: Record<string, string>;
  /** JSON body. */
  json?: unknown;
  /** `application/x-www-form-urlencoded` body. */
  form?: Record<string, string | undefined>;
  /** What the call does, for error messages: "create API key". */
  what: string;
  /** Key the call is about: a 404 becomes {@link KeyNotFoundError} naming it. */
  keyId?: string;
  /**
   * Authentication for this call instead of the admin credential (e.g. `verify` with the new key).
   * @default - the adapter's admin credential
   */
  auth?: Record<string, string>;
  /**
   * Non-2xx answers that count as an answer rather than an error (e.g. 403 "authenticated but not allowed"): the
   * statuses, or a test of status and parsed body for providers that say so only in their wording.
   */
  accept?: number[] | ((status: number, body: unknown) => boolean);
}

/** The provider's answer to a successful call. */
export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON body; undefined when empty or not JSON. */
  body: unknown;
}

/** How one provider talks HTTP. */
export interface ProviderHttpOptions {
  /** Provider type, for errors. */
  provider: string;
  /** Base URL every path hangs below, without a trailing slash, e.g. `https://api.sendgrid.com`. */
  baseUrl: string;
  clock: Clock;
  /** Headers that authenticate the admin credential; called once per request (the credential reader caches). */
  auth: () => Promise<Record<string, string>>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Per-request timeout in ms. @default 10_000 */
  timeoutMs?: number;
  /**
   * Extracts the provider's error text from an error body. What it returns is redacted (`./redact.ts`) before any
   * message carries it. @default errorText
   */
  errorDetail?: (body: unknown) => string | undefined;
  /**
   * Whether a non-429 4xx answer means "no more keys" (providers signal their key quota in their own words).
   * `detail` is the provider's unredacted text: decide with it, never quote it.
   * @default - a 4xx whose error text mentions a quota, or a limit/maximum of keys or tokens
   */
  isQuotaError?: (status: number, body: unknown, detail: string) => boolean;
  /** The provider's key quota, reported in {@link QuotaExceededError}. */
  quota?: number;
  /** What the admin credential needs, appended to auth errors: "an API key with api_keys.* scopes". */
  authHint?: string;
  /**
   * How long a 429 asks to wait, in ms, from its headers (providers differ: Datadog's `X-RateLimit-Reset` counts
   * seconds, SendGrid's is an epoch time).
   * @default - `Retry-After` (seconds or an HTTP date)
   */
  retryAfterMs?: (headers: Headers, nowMs: number) => number | undefined;
}

const DEFAULT_TIMEOUT_MS = 10_000;
// A quota answer talks about keys or tokens and a limit; "limit must be <= 100" (a bad parameter) does not.
const QUOTA_WORDS = /quota|\b(keys?|tokens?)\b[^.;]*\b(limit|maximum)\b|\b(limit|maximum|max(imum)? number|too many)\b[^.;]*\b(keys?|tokens?)\b/i;

/** What a {@link QuotaExceededError} tells the operator to do, whichever answer revealed the full quota. */
export const QUOTA_ADVICE = "delete keys nothing uses, or let keyrelay's reconcile sweep revoke orphans";

/** A provider's HTTP API, with answers mapped onto typed errors. */
export class ProviderHttp {
  private readonly fetchFn: typeof fetch;
  private readonly origin: string;

  constructor(private readonly options: ProviderHttpOptions) {
    this.fetchFn = options.fetch ?? globalThis.fetch;
    this.origin = new URL(options.baseUrl).origin;
  }

  /**
   * Sends one request. Resolves for 2xx; otherwise throws: 401/403 {@link ProviderAuthError}, 404
   * {@link KeyNotFoundError}, 429 {@link ThrottledError}, quota {@link QuotaExceededError}, 5xx, timeouts and
   * connection failures {@link ProviderUnavailableError}, anything else (a 3xx redirect included: never followed)
   * {@link ProviderResponseError}.
   */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const { provider } = this.options;
    const url = this.url(req);
    const credentials = req.auth ?? (await this.options.auth());
    const headers: Record<string, string> = { accept: 'application/json', ...credentials, ...req.headers };
    let body: string | undefined;
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.json);
    } else if (req.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      const form = new URLSearchParams();
      for (const [k, v] of Object.entries(req.form)) if (v !== undefined) form.append(k, v);
      body = form.toString();
    }
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        method: req.method,
        headers,
        body,
        // fetch drops only Authorization on a cross-origin redirect: DD-API-KEY, on-behalf-of or a generic-http
        // header would follow the redirect to another host. Never follow; a redirect is an error naming its target.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (err) {
      throw new ProviderUnavailableError(
        provider,
        `${req.what}: no answer from ${this.origin} (${err instanceof Error ? err.name : 'error'}); the provider is down or unreachable, retry later`,
        { cause: err },
      );
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      const target = redirectOrigin(res.headers.get('location'), url);
      throw new ProviderResponseError(
        provider,
        `${req.what}: HTTP ${res.status} redirect to ${target}, not followed (credentials stay with ${this.origin}); set the provider's baseUrl to the API's final URL`,
        { status: res.status },
      );
    }
    const text = await res.text().catch(() => '');
    const parsed = parseJson(text);
    if (res.ok || accepted(req.accept, res.status, parsed)) return { status: res.status, headers: res.headers, body: parsed };
    throw this.error(req, res.status, res.headers, parsed, credentialParts(credentials));
  }

  /** Like {@link request}, for calls whose answer must be JSON: throws {@link ProviderResponseError} otherwise. */
  async json(req: HttpRequest): Promise<unknown> {
    const { body, status } = await this.request(req);
    if (body === undefined) {
      throw new ProviderResponseError(this.options.provider, `${req.what}: HTTP ${status} without a JSON body`, { status });
    }
    return body;
  }

  private url(req: HttpRequest): URL {
    const absolute = /^https?:\/\//.test(req.path);
    const url = new URL(absolute ? req.path : `${this.options.baseUrl}${req.path}`);
    // The admin credential goes only to the provider's own origin, whatever a `next` link says.
    if (url.origin !== this.origin) {
      throw new ProviderResponseError(this.options.provider, `${req.what}: refusing to follow a link to ${url.origin} (expected ${this.origin})`);
    }
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /**
   * The typed error for a non-2xx answer. The provider's text and code are redacted of `sent` (every credential that
   * went out with the request) and of token shapes: a provider that echoes the key never puts it in a message.
   */
  private error(req: HttpRequest, status: number, headers: Headers, body: unknown, sent: string[]): ProviderError {
    const { provider } = this.options;
    const raw = (this.options.errorDetail ?? errorText)(body) ?? '';
    const detail = redactProviderText(raw, sent);
    const said = `${req.what}: HTTP ${status}${detail ? ` (${detail})` : ''}`;
    const options = { status, providerCode: redactProviderCode(errorCode(body), sent) };
    if (status === 429) {
      const now = this.options.clock.now();
      const retryAfterMs = parseRetryAfter(headers.get('retry-after'), now) ?? this.options.retryAfterMs?.(headers, now);
      const wait = retryAfterMs === undefined ? 'no Retry-After given' : `retry after ${Math.ceil(retryAfterMs / 1000)} s`;
      return new ThrottledError(provider, `${said}: rate limited, ${wait}`, { ...options, retryAfterMs });
    }
    if (status >= 500) return new ProviderUnavailableError(provider, `${said}: provider error, retry later`, options);
    if (status === 401 || status === 403) {
      const whose = req.auth ? 'the key was rejected' : `the admin credential was rejected${this.options.authHint ? `; it needs ${this.options.authHint}` : ''}`;
      return new ProviderAuthError(provider, `${said}: ${whose}`, options);
    }
    if (status === 404) {
      const what = req.keyId ? `key '${req.keyId}' does not exist (already deleted?)` : 'not found: check the provider settings (account/project ids, base URL)';
      return req.keyId ? new KeyNotFoundError(provider, `${said}: ${what}`, options) : new ProviderResponseError(provider, `${said}: ${what}`, options);
    }
    const isQuota = this.options.isQuotaError ?? ((_s: number, _b: unknown, d: string) => QUOTA_WORDS.test(d));
    if (status >= 400 && isQuota(status, body, raw)) {
      const limit = this.options.quota === undefined ? '' : ` of ${this.options.quota} keys`;
      return new QuotaExceededError(provider, `${said}: key quota${limit} reached; ${QUOTA_ADVICE}`, { ...options, quota: this.options.quota });
    }
    return new ProviderResponseError(provider, `${said}: unexpected answer`, options);
  }
}

function accepted(accept: HttpRequest['accept'], status: number, body: unknown): boolean {
  return typeof accept === 'function' ? accept(status, body) : (accept?.includes(status) ?? false);
}

/** Origin and path of a redirect's Location (never its query, which may carry tokens). */
function redirectOrigin(location: string | null, from: URL): string {
  if (!location) return 'nowhere (no Location)';
  try {
    const to = new URL(location, from);
    return `${to.origin}${to.pathname}`;
  } catch {
    return 'an invalid Location';
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The error text of the common JSON error shapes: `{errors: [{message}|string]}` (Cloudflare, SendGrid, Datadog),
 * `{error: {message}}` (OpenAI, Stripe), `{message}` (Twilio, generic).
 */
export function errorText(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { errors?: unknown; error?: unknown; message?: unknown; code?: unknown };
  const parts: string[] = [];
  if (Array.isArray(b.errors)) {
    for (const e of b.errors) {
      if (typeof e === 'string') parts.push(e);
      else if (typeof e === 'object' && e !== null) {
        const { code, message } = e as { code?: unknown; message?: unknown };
        if (typeof message === 'string') parts.push(code === undefined ? message : `${String(code)}: ${message}`);
      }
    }
  }
  if (typeof b.error === 'object' && b.error !== null) {
    const { code, message } = b.error as { code?: unknown; message?: unknown };
    if (typeof message === 'string') parts.push(typeof code === 'string' ? `${code}: ${message}` : message);
  }
  if (typeof b.message === 'string') parts.push(b.code === undefined ? b.message : `${String(b.code)}: ${b.message}`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/**
 * The provider's error code in the common JSON error shapes (`{error: {code}}`, `{errors: [{code}]}`, `{code}`),
 * unredacted: {@link ProviderHttp} redacts it before it reaches an error.
 */
function errorCode(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { errors?: unknown; error?: unknown; code?: unknown };
  if (typeof b.error === 'object' && b.error !== null) return (b.error as { code?: unknown }).code;
  if (Array.isArray(b.errors)) {
    const first: unknown = b.errors[0];
    if (typeof first === 'object' && first !== null) return (first as { code?: unknown }).code;
  }
  return b.code;
}

/** The most pages {@link paginate} follows before deciding the provider loops. */
export const MAX_PAGES = 1000;

/**
 * Collects every item of a paginated listing. `page(cursor)` fetches one page (cursor undefined for the first) and
 * says where the next one is; pagination ends when it does not.
 * @throws ProviderResponseError when the provider hands back the same cursor twice or pages without end
 */
export async function paginate<T, C>(
  provider: string,
  page: (cursor: C | undefined) => Promise<{ items: T[]; next?: C }>,
): Promise<T[]> {
  const all: T[] = [];
  const seen = new Set<string>();
  let cursor: C | undefined;
  for (let n = 0; n < MAX_PAGES; n++) {
    const { items, next } = await page(cursor);
    all.push(...items);
    if (next === undefined || next === null) return all;
    const key = JSON.stringify(next);
    if (seen.has(key)) throw new ProviderResponseError(provider, `list keys: the provider returned page cursor ${key} twice`);
    seen.add(key);
    cursor = next;
  }
  throw new ProviderResponseError(provider, `list keys: more than ${MAX_PAGES} pages; narrow the listing`);
}

/**
 * Parses the admin credential (the admin secret's JSON) with `schema`. Errors name the fields expected and never
 * quote the value.
 * @throws ConfigError
 */
export function parseAdminCredential<T>(provider: string, text: string, schema: z.ZodType<T>, shape: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`provider '${provider}': the admin secret does not hold JSON; expected ${shape}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      `provider '${provider}': the admin secret is invalid at '${issue?.path.join('.') || '(root)'}': ${issue?.message ?? 'invalid'}; expected ${shape}`,
    );
  }
  return parsed.data;
}

/** Reads and parses the admin credential once, on first use. */
export function lazyCredential<T>(read: () => Promise<string>, parse: (text: string) => T): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= read().then(parse);
    // A failed read (AWS throttled) must not poison later calls.
    value.catch(() => {
      value = undefined;
    });
    return value;
  };
}

/** `Authorization: Basic` header value. */
export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Value at a dot path (`data.attributes.key`; array indexes as numbers, `items.0.id`), or undefined. */
export function jsonPath(value: unknown, path: string): unknown {
  if (path === '' || path === '.') return value;
  let cur = value;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** A string at `path` of a provider answer, or a {@link ProviderResponseError} naming the field. */
export function requireString(provider: string, what: string, value: unknown, path: string): string {
  const found = jsonPath(value, path);
  if (typeof found === 'string' && found !== '') return found;
  if (typeof found === 'number') return String(found);
  throw new ProviderResponseError(provider, `${what}: the answer has no '${path}' (got ${found === undefined ? 'nothing' : typeof found})`);
}

/** Milliseconds since the epoch of an ISO/RFC date string, or undefined. */
export function dateMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Base URL without its trailing slash. */
export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * A settings schema for a {@link ProviderDefinition}: an object of string settings, unknown settings rejected
 * (a typo in the config fails at synth, not at 3 a.m.).
 */
export function stringSettings<T extends z.ZodRawShape>(schema: z.ZodObject<T>): z.ZodType<Record<string, string>> {
  return schema.strict() as unknown as z.ZodType<Record<string, string>>;
}

/** Split of a space-separated setting (scopes, ids): settings travel as tags, which allow no commas or JSON. */
export function words(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter((w) => w !== '');
}
