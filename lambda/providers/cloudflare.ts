import { z } from 'zod';
import { ConfigError } from '../../core/errors';
import { ProviderAuthError, ProviderResponseError } from './errors';
import { ProviderHttp, dateMs, lazyCredential, paginate, parseAdminCredential, requireString, stringSettings, trimSlash } from './http';
import type { ProviderDefinition } from './registry';
import type { IssueRequest, IssuedKey, KeyProvider, ProviderContext, ProviderKey, VerifiedKey } from './types';

/**
 * Cloudflare API tokens, Cloudflare API v4 (`https://api.cloudflare.com/client/v4`), account-owned tokens
 * (`/accounts/{account_id}/tokens`) by default, user tokens (`/user/tokens`) with `tokenOwner: "user"`.
 *
 * - Admin credential: an API token allowed to manage tokens: for account tokens the account permission
 *   "Account API Tokens Write" (nothing else); for user tokens the user permission "API Tokens Write". It must hold
 *   every permission it copies onto new tokens. Admin secret: `{"apiToken": "<token>"}`.
 * - A new token copies the `policies` (permission groups and resources) and `condition` (IP allow/deny lists) of the
 *   token it replaces (read by id), or of `templateTokenId` on the first issue; `expires_on`/`not_before` are not
 *   copied (a copied expiry would end the new token with the old one).
 * - Never uses "roll" (`PUT .../tokens/{id}/value`): it replaces the secret with no overlap.
 * - Quota: 500 account tokens per account, 50 user tokens per user. Disable: yes (`status: disabled` via PUT).
 *   Last used: not in the v4 token schema this adapter speaks. Rate limit: 1200 requests per 5 minutes, 429 with
 *   `Retry-After`.
 */
export const CLOUDFLARE_API = 'Cloudflare API v4 (client/v4)';

const Settings = z.object({
  tokenOwner: z.enum(['account', 'user']).optional().describe('Who owns the tokens. @default account'),
  accountId: z.string().regex(/^[0-9a-f]{32}$/, 'must be a 32-hex-digit Cloudflare account id').optional().describe('Account id (account tokens)'),
  templateTokenId: z.string().regex(/^[A-Za-z0-9]{1,64}$/).optional().describe('Token whose policies the first issued token copies'),
  baseUrl: z.url().optional().describe('API base URL. @default https://api.cloudflare.com/client/v4'),
});

const Admin = z.object({ apiToken: z.string().min(1) });
const ADMIN_SHAPE = '{"apiToken": "<Cloudflare API token with API Tokens Write>"}';

interface CfPolicy {
  effect: string;
  resources: Record<string, unknown>;
  permission_groups: Array<{ id: string }>;
}
interface CfToken {
  id: string;
  name: string;
  status: 'active' | 'disabled' | 'expired';
  policies: CfPolicy[];
  condition?: Record<string, unknown>;
  issued_on?: string;
  expires_on?: string;
  not_before?: string;
}
interface CfEnvelope<T> {
  result: T;
  result_info?: { page?: number; per_page?: number; count?: number; total_count?: number };
}

const PER_PAGE = 50;

/** Cloudflare API tokens. See {@link CLOUDFLARE_API}. */
export class CloudflareTokens implements KeyProvider {
  readonly type = 'cloudflare';
  readonly capabilities = { disable: true, lastUsed: false };
  readonly listedBy = ['tokenOwner', 'accountId', 'baseUrl'];
  /** 1,200 requests per 5 minutes per user (Cloudflare API docs, "Rate limits"). */
  readonly rateLimit = { requests: 1200, perMs: 300_000 };
  readonly quota: number;
  private readonly http: ProviderHttp;
  private readonly base: string;
  private readonly verifyPath: string;

  constructor(private readonly settings: z.infer<typeof Settings>, context: ProviderContext) {
    const owner = settings.tokenOwner ?? 'account';
    if (owner === 'account' && !settings.accountId) {
      throw new ConfigError("provider 'cloudflare': accountId is required for account-owned tokens (or set tokenOwner to user)");
    }
    this.quota = owner === 'account' ? 500 : 50;
    this.base = owner === 'account' ? `/accounts/${settings.accountId}/tokens` : '/user/tokens';
    this.verifyPath = `${this.base}/verify`;
    const admin = lazyCredential(context.adminCredential, (t) => parseAdminCredential('cloudflare', t, Admin, ADMIN_SHAPE));
    this.http = new ProviderHttp({
      provider: this.type,
      baseUrl: trimSlash(settings.baseUrl ?? 'https://api.cloudflare.com/client/v4'),
      clock: context.clock,
      fetch: context.fetch,
      quota: this.quota,
      authHint: owner === 'account' ? 'the "Account API Tokens Write" permission' : 'the "API Tokens Write" permission',
      auth: async () => ({ authorization: `Bearer ${(await admin()).apiToken}` }),
    });
  }

  async issue({ label, replaces }: IssueRequest): Promise<IssuedKey> {
    const source = replaces ?? this.settings.templateTokenId;
    if (!source) {
      throw new ConfigError(
        "provider 'cloudflare': no token to copy policies from; set provider.templateTokenId to the id of a token with the wanted policies",
      );
    }
    const current = await this.get(source);
    const body = {
      name: label,
      policies: current.policies.map((p) => ({
        effect: p.effect,
        resources: p.resources,
        permission_groups: p.permission_groups.map((g) => ({ id: g.id })),
      })),
      ...(current.condition && Object.keys(current.condition).length > 0 ? { condition: current.condition } : {}),
    };
    const created = (await this.http.json({ method: 'POST', path: this.base, json: body, what: 'create API token' })) as CfEnvelope<unknown>;
    return {
      apiKey: requireString(this.type, 'create API token', created, 'result.value'),
      keyId: requireString(this.type, 'create API token', created, 'result.id'),
      principal: this.settings.accountId,
    };
  }

  async verify(apiKey: string): Promise<VerifiedKey> {
    const res = (await this.http.json({
      method: 'GET',
      path: this.verifyPath,
      auth: { authorization: `Bearer ${apiKey}` },
      what: 'verify API token',
    })) as CfEnvelope<{ status?: string }>;
    if (res.result?.status !== 'active') {
      throw new ProviderAuthError(this.type, `verify API token: token status is '${String(res.result?.status)}', not active`);
    }
    return { principal: this.settings.accountId };
  }

  async revoke(keyId: string): Promise<void> {
    // The spec marks the DELETE body as required (an empty JSON object).
    await this.http.request({ method: 'DELETE', path: `${this.base}/${encodeURIComponent(keyId)}`, json: {}, keyId, what: 'delete API token' });
  }

  async list(): Promise<ProviderKey[]> {
    return paginate<ProviderKey, number>(this.type, async (page = 1) => {
      const res = (await this.http.json({
        method: 'GET',
        path: this.base,
        query: { page, per_page: PER_PAGE },
        what: 'list API tokens',
      })) as CfEnvelope<CfToken[] | null>;
      const tokens = res.result ?? [];
      const info = res.result_info ?? {};
      const perPage = info.per_page ?? PER_PAGE;
      const more = info.total_count !== undefined ? page * perPage < info.total_count : tokens.length >= perPage;
      return {
        items: tokens.map((t) => ({
          keyId: t.id,
          label: t.name,
          status: t.status === 'active' ? 'active' : 'disabled',
          createdAt: dateMs(t.issued_on),
        })),
        next: more && tokens.length > 0 ? page + 1 : undefined,
      };
    });
  }

  async disable(keyId: string): Promise<void> {
    await this.setStatus(keyId, 'disabled');
  }

  async enable(keyId: string): Promise<void> {
    await this.setStatus(keyId, 'active');
  }

  private async get(keyId: string): Promise<CfToken> {
    const res = (await this.http.json({
      method: 'GET',
      path: `${this.base}/${encodeURIComponent(keyId)}`,
      keyId,
      what: 'read API token',
    })) as CfEnvelope<CfToken>;
    if (!Array.isArray(res.result?.policies)) {
      throw new ProviderResponseError(this.type, `read API token '${keyId}': the answer has no policies`);
    }
    return res.result;
  }

  private async setStatus(keyId: string, status: 'active' | 'disabled'): Promise<void> {
    const token = await this.get(keyId);
    // PUT replaces the whole token: send back what was read, so only the status changes (a dropped expires_on
    // would let a restored token live forever).
    const { name, policies, condition, expires_on, not_before } = token;
    await this.http.request({
      method: 'PUT',
      path: `${this.base}/${encodeURIComponent(keyId)}`,
      json: { name, policies, status, ...(condition ? { condition } : {}), ...(expires_on ? { expires_on } : {}), ...(not_before ? { not_before } : {}) },
      keyId,
      what: `set API token status to ${status}`,
    });
  }
}

/** Registry entry for `cloudflare`. */
export const cloudflareProvider: ProviderDefinition = {
  apiHosts: ['api.cloudflare.com'],
  type: 'cloudflare',
  settings: stringSettings(Settings),
  capabilities: { disable: true, lastUsed: false },
  quota: 500,
  needsAdminSecret: true,
  create: (context) => new CloudflareTokens(Settings.parse(context.settings), context),
};
