import { z } from 'zod';
import { ConfigError } from '../../core/errors';
import { ProviderResponseError } from './errors';
import { ProviderHttp, lazyCredential, paginate, parseAdminCredential, stringSettings, trimSlash, type HttpRequest } from './http';
import type { ProviderDefinition } from './registry';
import type { IssuedKey, IssueRequest, KeyProvider, ProviderContext, ProviderKey, VerifiedKey } from './types';

/**
 * The reference provider (`local/reference-provider`), HTTP API **v1** (docs/reference-provider.md).
 *
 * - Admin credential: the account's admin key; admin secret `{"adminKey": "<admin key>"}`, read once per adapter.
 * - Quota: the service's, per admin credential (disabled keys count), setting `quota` (@default "5", the service's
 *   default; the local stack fills in what it started the service with); beyond it `issue` throws `QuotaExceededError`.
 * - Disable: yes (`POST /v1/keys/{id}/disable`, `/enable`). Last used: yes, recorded whenever a key authenticates at
 *   `GET /v1/whoami`, which is also what `verify` calls (so a `verify` counts as a use).
 * - Settings: `baseUrl` (optional in the config because the local stack fills it in; required at run time),
 *   `timeoutMs` (per request, @default "10000").
 * - Errors (through `ProviderHttp`): 401/403 `ProviderAuthError`, 404 on a key `KeyNotFoundError`, 409
 *   `quota_exceeded` `QuotaExceededError`, 429 `ThrottledError` with `Retry-After`, 5xx/timeout/no connection
 *   `ProviderUnavailableError`, an answer that is not the documented JSON `ProviderResponseError`. Never logs.
 */
export const REFERENCE_API = 'reference provider HTTP API v1';

const TYPE = 'reference';
const QUOTA = 5;
/** The largest `page_size` the service allows (docs/reference-provider.md): the sweep lists once per credential. */
const PAGE_SIZE = 100;
const ADMIN_SHAPE = '{"adminKey": "<admin key>"}';

const Settings = z.object({
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. "http://127.0.0.1:43121"' })
    .optional()
    .describe('Base URL of the reference provider. @default - filled in by the local stack'),
  timeoutMs: z
    .string()
    .regex(/^[1-9]\d{0,5}$/, 'must be a whole number of milliseconds from 1 to 999999, e.g. "5000"')
    .optional()
    .describe('Per-request timeout in ms (a string: settings travel as tags). @default "10000"'),
  quota: z
    .string()
    .regex(/^[1-9]\d{0,5}$/, 'must be a whole number of keys from 1 to 999999, e.g. "1000"')
    .optional()
    .describe("Keys the service allows per admin credential. @default \"5\" (the service's default; the local stack fills it in)"),
});

const Admin = z.object({ adminKey: z.string().min(1) });

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

/** The reference provider's keys. See {@link REFERENCE_API}. */
class ReferenceKeys implements KeyProvider {
  readonly type = TYPE;
  /** Declared once, in the registry entry ({@link referenceProvider}). */
  readonly capabilities = referenceProvider.capabilities;
  readonly listedBy = ['baseUrl'];
  readonly quota: number;
  private readonly http: ProviderHttp;

  constructor(settings: z.infer<typeof Settings>, context: ProviderContext) {
    if (!settings.baseUrl) {
      throw new ConfigError(
        `provider '${TYPE}': setting 'baseUrl' is missing; set provider.baseUrl in keyrelay.config.json ` +
          `(the local stack fills it in with the reference provider's URL)`,
      );
    }
    this.quota = settings.quota === undefined ? QUOTA : Number(settings.quota);
    const admin = lazyCredential(context.adminCredential, (text) => parseAdminCredential(TYPE, text, Admin, ADMIN_SHAPE));
    this.http = new ProviderHttp({
      provider: TYPE,
      baseUrl: trimSlash(settings.baseUrl),
      clock: context.clock,
      fetch: context.fetch,
      timeoutMs: settings.timeoutMs === undefined ? undefined : Number(settings.timeoutMs),
      quota: this.quota,
      isQuotaError: (status, body) => status === 409 && errorCode(body) === 'quota_exceeded',
      authHint: `the account's admin key in ${ADMIN_SHAPE}`,
      auth: async () => ({ authorization: `Bearer ${(await admin()).adminKey}` }),
    });
  }

  /** Reference keys carry no scopes, so `replaces` has nothing to copy. */
  async issue({ label }: IssueRequest): Promise<IssuedKey> {
    const key = await this.call(CreatedKey, { method: 'POST', path: '/v1/keys', json: { name: label }, what: 'create key' });
    return { apiKey: key.key, keyId: key.id, principal: key.account };
  }

  async verify(apiKey: string): Promise<VerifiedKey> {
    const me = await this.call(WhoAmI, {
      method: 'GET',
      path: '/v1/whoami',
      auth: { authorization: `Bearer ${apiKey}` },
      what: 'verify key (whoami)',
    });
    return { principal: me.account };
  }

  async revoke(keyId: string): Promise<void> {
    await this.http.request({ method: 'DELETE', path: keyPath(keyId), keyId, what: 'delete key' });
  }

  async list(): Promise<ProviderKey[]> {
    return paginate<ProviderKey, string>(TYPE, async (pageToken) => {
      const page = await this.call(KeyPage, {
        method: 'GET',
        path: '/v1/keys',
        query: { page_size: PAGE_SIZE, page_token: pageToken },
        what: 'list keys',
      });
      return { items: page.keys.map(toProviderKey), next: page.next_page_token ?? undefined };
    });
  }

  async disable(keyId: string): Promise<void> {
    await this.call(WireKey, { method: 'POST', path: `${keyPath(keyId)}/disable`, keyId, what: 'disable key' });
  }

  async enable(keyId: string): Promise<void> {
    await this.call(WireKey, { method: 'POST', path: `${keyPath(keyId)}/enable`, keyId, what: 'enable key' });
  }

  async lastUsed(keyId: string): Promise<number | null> {
    return (await this.call(WireKey, { method: 'GET', path: keyPath(keyId), keyId, what: 'read key' })).lastUsedAt;
  }

  /** One call whose JSON answer must match `schema`; a mismatch names the field, never the value (it may be a key). */
  private async call<T>(schema: z.ZodType<T>, req: HttpRequest): Promise<T> {
    const parsed = schema.safeParse(await this.http.json(req));
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw new ProviderResponseError(
      TYPE,
      `${req.what}: the answer has an unexpected '${issue?.path.join('.') || '(body)'}': ${issue?.message ?? 'invalid'}`,
    );
  }
}

function keyPath(keyId: string): string {
  return `/v1/keys/${encodeURIComponent(keyId)}`;
}

function errorCode(body: unknown): unknown {
  return (body as { error?: { code?: unknown } } | undefined)?.error?.code;
}

function toProviderKey(key: z.infer<typeof WireKey>): ProviderKey {
  return { keyId: key.id, label: key.name, status: key.status, createdAt: key.createdAt, lastUsedAt: key.lastUsedAt };
}

/** Registry entry for `reference`. See {@link REFERENCE_API}. */
export const referenceProvider: ProviderDefinition = {
  type: TYPE,
  // No public host: the local stack allows its loopback provider explicitly (the manifest's allowedOrigins).
  apiHosts: [],
  settings: stringSettings(Settings),
  capabilities: { disable: true, lastUsed: true },
  quota: QUOTA,
  needsAdminSecret: true,
  create: (context) => new ReferenceKeys(Settings.parse(context.settings), context),
};
