import { z } from 'zod';
import { ConfigError } from '../../core/errors';
import { ProviderResponseError, RevocationRefusedError } from './errors';
import { ProviderHttp, lazyCredential, paginate, parseAdminCredential, requireString, stringSettings, trimSlash, words } from './http';
import type { ProviderDefinition } from './registry';
import type { IssueRequest, IssuedKey, KeyProvider, ProviderContext, ProviderKey, VerifiedKey } from './types';

/**
 * OpenAI API keys through the Administration API (`https://api.openai.com/v1/organization/...`, OpenAPI 2.3.0).
 *
 * Two kinds, by `keyType`:
 * - `service-account` (default): project keys of one existing service account, added with
 *   `POST /organization/projects/{project_id}/service_accounts/{service_account_id}/api_keys`. A service account can
 *   hold several keys, so old and new overlap, and every key of it has the account's role in the project: nothing to
 *   copy, nothing widened. (Creating a new service account per rotation would also give a fresh key, but a new
 *   principal each time, with its role to re-grant: not a clean rotation.) Optional `scopes` (space-separated) are
 *   sent on every create, because OpenAI does not return a key's scopes to copy. Verified with `GET /models`
 *   (200, or a scoped key without model read refused with "insufficient permissions … Missing scopes", as 401 or
 *   403: the key authenticated). Revoke: a 400 on a service account's key (the spec's documented answer) is a
 *   {@link RevocationRefusedError} naming where to delete it by hand.
 * - `admin`: organization admin keys (`/organization/admin_api_keys`), verified by listing admin keys with the new key.
 *
 * - Admin credential: an organization admin API key (only organization owners can make one).
 *   Admin secret: `{"adminKey": "sk-admin-…"}`.
 * - Quota: none documented. Disable: no. Last used: yes (`last_used_at`). Errors: `{"error": {message, type, code}}`.
 */
export const OPENAI_API = 'OpenAI API v1 (Administration API, spec 2.3.0)';

const Settings = z.object({
  keyType: z.enum(['service-account', 'admin']).optional().describe('Which keys to rotate. @default service-account'),
  projectId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional().describe('Project id (service-account keys)'),
  serviceAccountId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional().describe('Service account id (service-account keys)'),
  scopes: z.string().regex(/^[a-z0-9_.:\- ]+$/).optional().describe('Space-separated scopes of every new service-account key'),
  baseUrl: z.url().optional().describe('API base URL. @default https://api.openai.com/v1'),
});

const Admin = z.object({ adminKey: z.string().min(1) });
const ADMIN_SHAPE = '{"adminKey": "<OpenAI admin API key>"}';

interface OaKey {
  id: string;
  name?: string | null;
  created_at?: number;
  last_used_at?: number | null;
  owner?: { service_account?: { id?: string } };
}
interface OaList {
  data?: OaKey[];
  has_more?: boolean;
  last_id?: string | null;
}

const LIMIT = 100;
const seconds = (s: number | null | undefined) => (typeof s === 'number' ? s * 1000 : s === null ? null : undefined);

/** OpenAI admin or service-account keys. See {@link OPENAI_API}. */
export class OpenAiKeys implements KeyProvider {
  readonly type = 'openai';
  /** Declared once, in the registry entry ({@link openaiProvider}). */
  readonly capabilities = openaiProvider.capabilities;
  readonly listedBy = ['keyType', 'projectId', 'serviceAccountId', 'baseUrl'];
  private readonly http: ProviderHttp;
  private readonly admin: boolean;
  private readonly keysPath: string;
  private readonly createPath: string;

  constructor(private readonly settings: z.infer<typeof Settings>, context: ProviderContext) {
    this.admin = settings.keyType === 'admin';
    if (!this.admin && (!settings.projectId || !settings.serviceAccountId)) {
      throw new ConfigError("provider 'openai': projectId and serviceAccountId are required for service-account keys (or set keyType to admin)");
    }
    const project = `/organization/projects/${settings.projectId}`;
    this.keysPath = this.admin ? '/organization/admin_api_keys' : `${project}/api_keys`;
    this.createPath = this.admin ? this.keysPath : `${project}/service_accounts/${settings.serviceAccountId}/api_keys`;
    const credential = lazyCredential(context.adminCredential, (t) => parseAdminCredential('openai', t, Admin, ADMIN_SHAPE));
    this.http = new ProviderHttp({
      provider: this.type,
      baseUrl: trimSlash(settings.baseUrl ?? 'https://api.openai.com/v1'),
      clock: context.clock,
      fetch: context.fetch,
      authHint: 'an organization admin API key',
      auth: async () => ({ authorization: `Bearer ${(await credential()).adminKey}` }),
    });
  }

  async issue({ label }: IssueRequest): Promise<IssuedKey> {
    const scopes = words(this.settings.scopes);
    const body = this.admin || scopes.length === 0 ? { name: label } : { name: label, scopes };
    const created = await this.http.json({ method: 'POST', path: this.createPath, json: body, what: 'create API key' });
    return {
      apiKey: requireString(this.type, 'create API key', created, 'value'),
      keyId: requireString(this.type, 'create API key', created, 'id'),
      principal: this.admin ? undefined : this.settings.projectId,
    };
  }

  async verify(apiKey: string): Promise<VerifiedKey> {
    await this.http.request({
      method: 'GET',
      path: this.admin ? this.keysPath : '/models',
      query: this.admin ? { limit: 1 } : undefined,
      auth: { authorization: `Bearer ${apiKey}` },
      accept: authenticatedButScoped,
      what: 'verify API key',
    });
    return { principal: this.admin ? undefined : this.settings.projectId };
  }

  async revoke(keyId: string): Promise<void> {
    try {
      await this.http.request({ method: 'DELETE', path: `${this.keysPath}/${encodeURIComponent(keyId)}`, keyId, what: 'delete API key' });
    } catch (err) {
      // The spec (2.3.0) documents 400 for this DELETE: "an error if the key belonged to a service account". Newer
      // docs say such keys can be deleted (200, handled above); where OpenAI still refuses, only a person can.
      if (!this.admin && err instanceof ProviderResponseError && err.status === 400) {
        throw new RevocationRefusedError(
          this.type,
          `delete API key: OpenAI refused to delete service-account key '${keyId}' (HTTP 400); delete it in the OpenAI dashboard (project ${this.settings.projectId} > API keys), keyrelay's next reconcile sees it gone`,
          { status: err.status, providerCode: err.providerCode },
        );
      }
      throw err;
    }
  }

  async list(): Promise<ProviderKey[]> {
    const keys = await paginate<OaKey, string>(this.type, async (after) => {
      const res = (await this.http.json({
        method: 'GET',
        path: this.keysPath,
        query: { limit: LIMIT, after, ...(this.admin ? { order: 'asc' } : {}) },
        what: 'list API keys',
      })) as OaList;
      const data = res.data ?? [];
      return { items: data, next: res.has_more && data.length > 0 ? (res.last_id ?? data[data.length - 1]?.id) : undefined };
    });
    // A project lists every member's keys: only this service account's are keyrelay's to manage.
    const mine = this.admin ? keys : keys.filter((k) => k.owner?.service_account?.id === this.settings.serviceAccountId);
    return mine.map((k) => ({
      keyId: k.id,
      label: k.name ?? undefined,
      status: 'active' as const,
      createdAt: seconds(k.created_at) ?? undefined,
      lastUsedAt: seconds(k.last_used_at),
    }));
  }

  async lastUsed(keyId: string): Promise<number | null> {
    const key = (await this.http.json({ method: 'GET', path: `${this.keysPath}/${encodeURIComponent(keyId)}`, keyId, what: 'read API key' })) as OaKey;
    return seconds(key.last_used_at) ?? null;
  }
}

/**
 * Whether a refused verify call still proves the key authenticated: OpenAI answers a valid key that lacks a scope
 * with 401 or 403 and "You have insufficient permissions for this operation. Missing scopes: …" (public reports:
 * microsoft/PowerToys#32989, continuedev/continue#10059). Its `code` is `missing_scope` in some answers and null in
 * others, so the wording decides; a wrong key gets 401 "Incorrect API key provided".
 */
function authenticatedButScoped(status: number, body: unknown): boolean {
  if (status === 403) return true;
  const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return status === 401 && typeof message === 'string' && /insufficient permissions/i.test(message) && /missing scopes/i.test(message);
}

/** Registry entry for `openai`. */
export const openaiProvider: ProviderDefinition = {
  apiHosts: ['api.openai.com'],
  type: 'openai',
  settings: stringSettings(Settings),
  capabilities: { disable: false, lastUsed: true },
  needsAdminSecret: true,
  create: (context) => new OpenAiKeys(Settings.parse(context.settings), context),
};
