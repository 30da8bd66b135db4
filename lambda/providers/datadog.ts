import { z } from 'zod';
import { parseRetryAfter } from './errors';
import { ProviderHttp, dateMs, lazyCredential, paginate, parseAdminCredential, requireString, stringSettings, trimSlash } from './http';
import type { ProviderDefinition } from './registry';
import type { IssueRequest, IssuedKey, KeyProvider, ProviderContext, ProviderKey, VerifiedKey } from './types';

/**
 * Datadog API keys, Datadog API v2 (`/api/v2/api_keys`) plus v1 `GET /api/v1/validate` to verify a key.
 *
 * - Admin credential: an API key (any) plus an application key, sent as `DD-API-KEY` and `DD-APPLICATION-KEY`.
 *   Least privilege: an application key of a service account, scoped to `api_keys_read` and `api_keys_write`.
 *   Admin secret: `{"apiKey": "<32 hex>", "applicationKey": "<40 hex>"}`.
 * - API keys carry no scopes (every API key of an org may submit the same data), but they carry
 *   `remote_config_read_enabled` (whether the Agent may fetch Remote Configuration with it) and `category`: a new key
 *   copies both from the key it replaces (`GET /api/v2/api_keys/{id}`), so a rotated key keeps Remote Config. A
 *   first issue with nothing to replace gets Datadog's defaults.
 * - Quota: 50 API keys per org; names must be unique (keyrelay's labels are). Disable: no. Last used: the list
 *   reports `date_last_used`. 429 carries `X-RateLimit-Reset` (seconds), used when `Retry-After` is absent.
 */
export const DATADOG_API = 'Datadog API v2 (api_keys) + v1 (validate)';

/** Datadog sites (regions). */
export const DATADOG_SITES = ['datadoghq.com', 'us3.datadoghq.com', 'us5.datadoghq.com', 'ap1.datadoghq.com', 'ap2.datadoghq.com', 'uk1.datadoghq.com', 'datadoghq.eu', 'ddog-gov.com', 'us2.ddog-gov.com'] as const;

const Settings = z.object({
  site: z.enum(DATADOG_SITES).optional().describe('Datadog site. @default datadoghq.com'),
  baseUrl: z.url().optional().describe('API base URL. @default https://api.<site>'),
});

const Admin = z.object({ apiKey: z.string().min(1), applicationKey: z.string().min(1) });
const ADMIN_SHAPE = '{"apiKey": "<Datadog API key>", "applicationKey": "<application key with api_keys_read, api_keys_write>"}';

interface DdKey {
  id: string;
  attributes?: { name?: string; created_at?: string; date_last_used?: string | null; key?: string; category?: string; remote_config_read_enabled?: boolean };
}

const PAGE_SIZE = 100;

/** Datadog API keys. See {@link DATADOG_API}. */
export class DatadogApiKeys implements KeyProvider {
  readonly type = 'datadog';
  /** Declared once, in the registry entry ({@link datadogProvider}). */
  readonly capabilities = datadogProvider.capabilities;
  readonly quota = 50;
  private readonly http: ProviderHttp;

  constructor(settings: z.infer<typeof Settings>, context: ProviderContext) {
    const admin = lazyCredential(context.adminCredential, (t) => parseAdminCredential('datadog', t, Admin, ADMIN_SHAPE));
    this.http = new ProviderHttp({
      provider: this.type,
      baseUrl: trimSlash(settings.baseUrl ?? `https://api.${settings.site ?? 'datadoghq.com'}`),
      clock: context.clock,
      fetch: context.fetch,
      quota: this.quota,
      authHint: 'an application key scoped to api_keys_read and api_keys_write, and a valid API key',
      // Datadog's 429 says when the window resets, in seconds from now.
      retryAfterMs: (headers, now) => parseRetryAfter(headers.get('x-ratelimit-reset'), now),
      auth: async () => {
        const { apiKey, applicationKey } = await admin();
        return { 'dd-api-key': apiKey, 'dd-application-key': applicationKey };
      },
    });
  }

  async issue({ label, replaces }: IssueRequest): Promise<IssuedKey> {
    const inherited = replaces ? await this.inherited(replaces) : {};
    const created = await this.http.json({
      method: 'POST',
      path: '/api/v2/api_keys',
      json: { data: { type: 'api_keys', attributes: { name: label, ...inherited } } },
      what: 'create API key',
    });
    return {
      apiKey: requireString(this.type, 'create API key', created, 'data.attributes.key'),
      keyId: requireString(this.type, 'create API key', created, 'data.id'),
    };
  }

  /** What a new key takes over from the key it replaces (APIKeyCreateAttributes besides `name`). */
  private async inherited(keyId: string): Promise<{ category?: string; remote_config_read_enabled?: boolean }> {
    const res = (await this.http.json({ method: 'GET', path: `/api/v2/api_keys/${encodeURIComponent(keyId)}`, keyId, what: 'read API key' })) as { data?: DdKey };
    // The answer also holds the old key's value (`attributes.key`): only these two fields are taken.
    const { category, remote_config_read_enabled } = res.data?.attributes ?? {};
    return {
      ...(typeof category === 'string' ? { category } : {}),
      ...(typeof remote_config_read_enabled === 'boolean' ? { remote_config_read_enabled } : {}),
    };
  }

  async verify(apiKey: string): Promise<VerifiedKey> {
    // 200 {"valid": true} or 403: a rejected key becomes ProviderAuthError in ProviderHttp.
    await this.http.request({ method: 'GET', path: '/api/v1/validate', auth: { 'dd-api-key': apiKey }, what: 'validate API key' });
    return {};
  }

  async revoke(keyId: string): Promise<void> {
    await this.http.request({ method: 'DELETE', path: `/api/v2/api_keys/${encodeURIComponent(keyId)}`, keyId, what: 'delete API key' });
  }

  async list(): Promise<ProviderKey[]> {
    let seen = 0;
    return paginate<ProviderKey, number>(this.type, async (page = 0) => {
      const res = (await this.http.json({
        method: 'GET',
        path: '/api/v2/api_keys',
        query: { 'page[size]': PAGE_SIZE, 'page[number]': page },
        what: 'list API keys',
      })) as { data?: DdKey[]; meta?: { page?: { total_filtered_count?: number } } };
      const data = res.data ?? [];
      const total = res.meta?.page?.total_filtered_count;
      seen += data.length;
      const more = total !== undefined ? seen < total && data.length > 0 : data.length >= PAGE_SIZE;
      return {
        items: data.map((k) => ({
          keyId: k.id,
          label: k.attributes?.name,
          status: 'active' as const,
          createdAt: dateMs(k.attributes?.created_at),
          lastUsedAt: k.attributes?.date_last_used === null ? null : dateMs(k.attributes?.date_last_used),
        })),
        next: more ? page + 1 : undefined,
      };
    });
  }
}

/** Registry entry for `datadog`. */
export const datadogProvider: ProviderDefinition = {
  apiHosts: DATADOG_SITES.map((site) => `api.${site}`),
  type: 'datadog',
  settings: stringSettings(Settings),
  capabilities: { disable: false, lastUsed: true },
  quota: 50,
  needsAdminSecret: true,
  create: (context) => new DatadogApiKeys(Settings.parse(context.settings), context),
};
