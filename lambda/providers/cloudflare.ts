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
 * - A new token copies the `policies` (effect, resources, and permission groups with their `meta`) and `condition`
 *   (IP allow/deny lists) of the token it replaces (read by id), or of `templateTokenId` on the first issue;
 *   `expires_on`/`not_before` are not copied (a copied expiry would end the new token with the old one).
 * - Requests send only what the narrower of Cloudflare's two published schemas accepts (see {@link policyParam}):
 *   the spec in `cloudflare/api-schemas` and the parameter types of `cloudflare/cloudflare-typescript`, generated
 *   from Cloudflare's OpenAPI. Where they disagree on what must be sent, the spec wins (DELETE keeps its `{}` body,
 *   required by both the 2024 and the 2026-07-27 spec; the SDK sends none); on what may be sent, the SDK's types do
 *   (a PUT or create policy carries no policy `id` and no permission-group `name`, which are Cloudflare's own).
 * - Never uses "roll" (`PUT .../tokens/{id}/value`): it replaces the secret with no overlap.
 * - Quota: 500 account tokens per account, 50 user tokens per user. Disable: yes (`status: disabled` via PUT).
 *   Last used: `last_used_on` (the token's latest use), in the list and by id. Cloudflare documents no
 *   bound on how late it records a use, so the quiet period of a usage hold must be at least
 *   {@link CLOUDFLARE_LAST_USED_DELAY}. Rate limit: 1200 requests per 5 minutes, 429 with `Retry-After`.
 */
export const CLOUDFLARE_API = 'Cloudflare API v4 (client/v4)';

/**
 * Shortest `usageHold.quietPeriod` keyrelay accepts for Cloudflare, in seconds: a day. Cloudflare documents no update
 * interval for `last_used_on` (its examples carry minute precision, nothing about delay), so a token used
 * through its last hours could still read as quiet; a day covers any batching short of that.
 */
const CLOUDFLARE_LAST_USED_DELAY = 24 * 3600;

const Settings = z.object({
  tokenOwner: z.enum(['account', 'user']).optional().describe('Who owns the tokens. @default account'),
  accountId: z.string().regex(/^[0-9a-f]{32}$/, 'must be a 32-hex-digit Cloudflare account id').optional().describe('Account id (account tokens)'),
  templateTokenId: z.string().regex(/^[A-Za-z0-9]{1,64}$/).optional().describe('Token whose policies the first issued token copies'),
  baseUrl: z.url().optional().describe('API base URL. @default https://api.cloudflare.com/client/v4'),
});

const Admin = z.object({ apiToken: z.string().min(1) });
const ADMIN_SHAPE = '{"apiToken": "<Cloudflare API token with API Tokens Write>"}';

interface CfPolicy {
  id?: string;
  effect: string;
  resources: Record<string, unknown>;
  permission_groups: Array<{ id: string; name?: string; meta?: Record<string, unknown> }>;
}
interface CfToken {
  id: string;
  name: string;
  status: 'active' | 'disabled' | 'expired';
  policies: CfPolicy[];
  condition?: Record<string, unknown>;
  issued_on?: string;
  last_used_on?: string | null;
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
  /** Declared once, in the registry entry ({@link cloudflareProvider}). */
  readonly capabilities = cloudflareProvider.capabilities;
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
      policies: current.policies.map(policyParam),
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
          lastUsedAt: lastUsedOn(t),
        })),
        next: more && tokens.length > 0 ? page + 1 : undefined,
      };
    });
  }

  async lastUsed(keyId: string): Promise<number | null> {
    return lastUsedOn(await this.get(keyId));
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
      json: {
        name,
        policies: policies.map(policyParam),
        status,
        ...(condition ? { condition } : {}),
        ...(expires_on ? { expires_on } : {}),
        ...(not_before ? { not_before } : {}),
      },
      keyId,
      what: `set API token status to ${status}`,
    });
  }
}

/**
 * A policy as create and update take it (`TokenPolicyParam` of cloudflare-typescript 7.1.0): effect, resources,
 * and permission groups by `id` with their `meta`. The policy `id` and the groups' `name` are what Cloudflare
 * assigns and reports; the update schema takes neither.
 */
function policyParam(p: CfPolicy): CfPolicy {
  return {
    effect: p.effect,
    resources: p.resources,
    permission_groups: p.permission_groups.map((g) => ({ id: g.id, ...(g.meta ? { meta: g.meta } : {}) })),
  };
}

/** `last_used_on` in ms; null when the token was never used (Cloudflare leaves the field out, or null). */
function lastUsedOn(token: CfToken): number | null {
  return dateMs(token.last_used_on) ?? null;
}

/** Registry entry for `cloudflare`. */
export const cloudflareProvider: ProviderDefinition = {
  apiHosts: ['api.cloudflare.com'],
  type: 'cloudflare',
  settings: stringSettings(Settings),
  capabilities: { disable: true, lastUsed: true },
  lastUsedDelay: CLOUDFLARE_LAST_USED_DELAY,
  quota: 500,
  needsAdminSecret: true,
  create: (context) => new CloudflareTokens(Settings.parse(context.settings), context),
};
