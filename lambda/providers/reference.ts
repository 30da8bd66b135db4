import { z } from 'zod';
import { ConfigError } from '../core/errors';
import { fingerprint } from '../core/secret-value';
import {
  KeyNotFoundError,
  ProviderAuthError,
  ProviderResponseError,
  ProviderUnavailableError,
  QuotaExceededError,
  ThrottledError,
  parseRetryAfter,
  type ProviderError,
} from './errors';
import type { ProviderDefinition } from './registry';
import type { IssuedKey, IssueRequest, KeyProvider, ProviderContext, ProviderKey, VerifiedKey } from './types';

const TYPE = 'reference';
/** Keys one admin credential may hold (disabled keys count), as the reference provider enforces by default. */
const QUOTA = 5;
/** @default 10 s: generous for a local service, short enough to fail a rotation step well inside Lambda's limit. */
const DEFAULT_TIMEOUT_MS = 10_000;
/** A server that keeps answering with a next page after this many is broken, not large (the quota is 5). */
const MAX_PAGES = 1_000;

const SettingsSchema = z.strictObject({
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. "http://127.0.0.1:43121"' })
    .optional()
    .describe('Base URL of the reference provider. @default - filled in by the local stack'),
  timeoutMs: z
    .string()
    .regex(/^[1-9]\d{0,5}$/, 'must be a whole number of milliseconds from 1 to 999999, e.g. "5000"')
    .optional()
    .describe('Per-request timeout in ms (a string: settings travel as tags). @default "10000"'),
});

const AdminCredentialSchema = z.object({ adminKey: z.string().min(1) });

const isoMs = z.iso.datetime({ offset: true }).transform((text) => Date.parse(text));
const WireKey = z.object({
  id: z.string().min(1),
  account: z.string().optional(),
  name: z.string(),
  status: z.enum(['active', 'disabled']),
  createdAt: isoMs,
  lastUsedAt: isoMs.nullable(),
});
const CreatedKey = WireKey.extend({ key: z.string().min(1) });
const KeyPage = z.object({ keys: z.array(WireKey), next_page_token: z.string().min(1).nullish() });
const WhoAmI = z.object({ keyId: z.string().min(1), account: z.string().min(1) });
const ErrorBody = z.object({
  error: z.object({ code: z.string().optional(), message: z.string().optional(), limit: z.number().optional() }),
});

type Operation = 'issue' | 'verify' | 'revoke' | 'list' | 'disable' | 'enable' | 'lastUsed';

interface Call {
  op: Operation;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /** Bearer token: the admin credential, or the key being verified. */
  token: string;
  body?: unknown;
  keyId?: string;
}

/**
 * Adapter for the reference provider (`local/reference-provider`), speaking its HTTP API **v1**
 * (docs/reference-provider.md).
 *
 * - Needs an admin credential: a secret whose value is `{"adminKey":"..."}`, read once per adapter instance.
 * - Quota: 5 keys per admin credential (disabled keys count); `issue` throws `QuotaExceededError` beyond it.
 * - Supports `disable`/`enable` (two-phase revocation) and last use (`lastUsed`, `list`'s `lastUsedAt`), recorded
 *   whenever a key authenticates at `GET /v1/whoami`, which is also what `verify` calls (so `verify` counts as a use).
 * - Settings: `baseUrl` (optional in the config because the local stack fills it in; required at run time),
 *   `timeoutMs` (@default "10000").
 *
 * Errors map from HTTP: 401/403 → `ProviderAuthError`, 409 `quota_exceeded` → `QuotaExceededError`, 429 →
 * `ThrottledError` (with `Retry-After`), 404 → `KeyNotFoundError`, 5xx/timeout/no connection →
 * `ProviderUnavailableError`, anything unreadable → `ProviderResponseError`. The adapter never logs.
 */
export const referenceProvider: ProviderDefinition = {
  type: TYPE,
  // Every setting is a string (settings travel as tags); the cast only widens the optional fields.
  settings: SettingsSchema as z.ZodType<Record<string, string>>,
  capabilities: { disable: true, lastUsed: true },
  quota: QUOTA,
  needsAdminSecret: true,
  create(context) {
    const parsed = SettingsSchema.safeParse(context.settings);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigError(`${TYPE} provider setting '${issue?.path.join('.') ?? '?'}': ${issue?.message ?? 'invalid'}`);
    }
    const { baseUrl, timeoutMs } = parsed.data;
    if (!baseUrl) {
      throw new ConfigError(
        `${TYPE} provider setting 'baseUrl' is missing; set provider.baseUrl in keyrelay.config.json ` +
          `(the local stack fills it in with the reference provider's URL)`,
      );
    }
    return new ReferenceKeyProvider(baseUrl.replace(/\/+$/, ''), Number(timeoutMs ?? DEFAULT_TIMEOUT_MS), context);
  },
};

class ReferenceKeyProvider implements KeyProvider {
  readonly type = TYPE;
  readonly capabilities = referenceProvider.capabilities;
  readonly quota = QUOTA;
  private readonly fetch: typeof fetch;
  private adminKey?: Promise<string>;

  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
    private readonly context: ProviderContext,
  ) {
    this.fetch = context.fetch ?? globalThis.fetch;
  }

  /** Reference keys carry no scopes, so `replaces` has nothing to copy. */
  async issue({ label }: IssueRequest): Promise<IssuedKey> {
    const token = await this.admin();
    const key = await this.call({ op: 'issue', method: 'POST', path: '/v1/keys', token, body: { name: label } }, CreatedKey);
    return { apiKey: key.key, keyId: key.id, principal: key.account };
  }

  async verify(apiKey: string): Promise<VerifiedKey> {
    const me = await this.call({ op: 'verify', method: 'GET', path: '/v1/whoami', token: apiKey }, WhoAmI);
    return { principal: me.account };
  }

  async revoke(keyId: string): Promise<void> {
    await this.call({ op: 'revoke', method: 'DELETE', ...(await this.keyCall(keyId)) });
  }

  async list(): Promise<ProviderKey[]> {
    const token = await this.admin();
    const keys: ProviderKey[] = [];
    let pageToken: string | null | undefined;
    for (let pages = 0; pages < MAX_PAGES; pages++) {
      const query = pageToken ? `?page_token=${encodeURIComponent(pageToken)}` : '';
      const page = await this.call({ op: 'list', method: 'GET', path: `/v1/keys${query}`, token }, KeyPage);
      keys.push(...page.keys.map(toProviderKey));
      pageToken = page.next_page_token;
      if (!pageToken) return keys;
    }
    throw new ProviderResponseError(TYPE, `list: still a next page after ${MAX_PAGES} pages; the provider's pagination is broken`);
  }

  async disable(keyId: string): Promise<void> {
    const call = await this.keyCall(keyId);
    await this.call({ ...call, op: 'disable', method: 'POST', path: `${call.path}/disable` }, WireKey);
  }

  async enable(keyId: string): Promise<void> {
    const call = await this.keyCall(keyId);
    await this.call({ ...call, op: 'enable', method: 'POST', path: `${call.path}/enable` }, WireKey);
  }

  async lastUsed(keyId: string): Promise<number | null> {
    const key = await this.call({ op: 'lastUsed', method: 'GET', ...(await this.keyCall(keyId)) }, WireKey);
    return key.lastUsedAt;
  }

  private async keyCall(keyId: string): Promise<{ path: string; token: string; keyId: string }> {
    return { path: `/v1/keys/${encodeURIComponent(keyId)}`, token: await this.admin(), keyId };
  }

  /** The admin key, read and validated once per adapter (a failed read is retried on the next call). */
  private admin(): Promise<string> {
    this.adminKey ??= this.context.adminCredential().then(parseAdminCredential, (err: unknown) => {
      this.adminKey = undefined;
      throw err;
    });
    return this.adminKey;
  }

  private async call(call: Call): Promise<void>;
  private async call<T>(call: Call, schema: z.ZodType<T>): Promise<T>;
  private async call<T>(call: Call, schema?: z.ZodType<T>): Promise<T | void> {
    const url = `${this.baseUrl}${call.path}`;
    const where = `${call.op} (${call.method} ${url})`;
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(url, {
        method: call.method,
        headers: {
          authorization: `Bearer ${call.token}`,
          accept: 'application/json',
          ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      throw unreachable(where, this.timeoutMs, err);
    }
    if (!response.ok) throw this.failure(call, where, response, text);
    if (!schema) return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ProviderResponseError(TYPE, `${where}: HTTP ${response.status} answer is not JSON`, { status: response.status });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      // Name the field, never the value: the body may hold a key.
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') || '(body)';
      throw new ProviderResponseError(TYPE, `${where}: HTTP ${response.status} answer has an unexpected '${field}': ${issue?.message ?? 'invalid'}`, {
        status: response.status,
      });
    }
    return parsed.data;
  }

  private failure(call: Call, where: string, response: Response, text: string): ProviderError {
    const { status } = response;
    const error = readErrorBody(text);
    const said = error?.code ? ` ${error.code}${error.message ? `: ${error.message}` : ''}` : '';
    const answer = `HTTP ${status}${said}`;
    if (status === 401 || status === 403) {
      const whose =
        call.op === 'verify'
          ? `key ${fingerprint(call.token)} rejected`
          : 'admin credential rejected; check adminKey in the admin credential secret';
      return new ProviderAuthError(TYPE, `${where}: ${whose} (${answer})`, { status });
    }
    if (status === 404) {
      const what = call.keyId ? `key '${call.keyId}' not found (deleted, or another account's)` : 'not found; check the baseUrl setting';
      return new KeyNotFoundError(TYPE, `${where}: ${what} (${answer})`, { status });
    }
    if (status === 409 && error?.code === 'quota_exceeded') {
      const quota = error.limit ?? QUOTA;
      return new QuotaExceededError(
        TYPE,
        `${where}: the admin credential already holds its quota of ${quota} keys (disabled keys count); revoke keys no secret uses (${answer})`,
        { quota, status },
      );
    }
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.context.clock.now());
      const wait = retryAfterMs === undefined ? 'no Retry-After given' : `retry after ${retryAfterMs} ms`;
      return new ThrottledError(TYPE, `${where}: throttled, ${wait} (${answer})`, { retryAfterMs, status });
    }
    if (status >= 500) return new ProviderUnavailableError(TYPE, `${where}: provider failed, retry later (${answer})`, { status });
    return new ProviderResponseError(TYPE, `${where}: unexpected answer (${answer})`, { status });
  }
}

function parseAdminCredential(text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text: never attach it, the text is a credential.
    throw new ConfigError(`${TYPE} provider admin credential secret is not JSON; store {"adminKey":"<admin key>"}`);
  }
  const parsed = AdminCredentialSchema.safeParse(json);
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path.join('.') || '(value)';
    throw new ConfigError(
      `${TYPE} provider admin credential secret: field '${field}' ${parsed.error.issues[0]?.message ?? 'is invalid'}; ` +
        `store {"adminKey":"<admin key>"}`,
    );
  }
  return parsed.data.adminKey;
}

function readErrorBody(text: string): z.infer<typeof ErrorBody>['error'] | undefined {
  try {
    return ErrorBody.parse(JSON.parse(text)).error;
  } catch {
    return undefined;
  }
}

function unreachable(where: string, timeoutMs: number, err: unknown): ProviderUnavailableError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } } | undefined;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return new ProviderUnavailableError(TYPE, `${where}: no answer within ${timeoutMs} ms; retry later or raise the timeoutMs setting`, {
      cause: err,
    });
  }
  const reason = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return new ProviderUnavailableError(TYPE, `${where}: could not reach the provider (${reason}); retry later`, { cause: err });
}

function toProviderKey(key: z.infer<typeof WireKey>): ProviderKey {
  return { keyId: key.id, label: key.name, status: key.status, createdAt: key.createdAt, lastUsedAt: key.lastUsedAt };
}
