import { z } from 'zod';
import { ConfigError } from '../../core/errors';
import { ProviderAuthError, ProviderResponseError, QuotaExceededError } from './errors';
import { ProviderHttp, QUOTA_ADVICE, lazyCredential, parseAdminCredential, requireString, stringSettings, trimSlash, words } from './http';
import type { ProviderDefinition } from './registry';
import type { IssueRequest, IssuedKey, KeyProvider, ProviderContext, ProviderKey, VerifiedKey } from './types';

/**
 * Twilio SendGrid API keys, Web API v3 (`/v3/api_keys`; `/v3/scopes` to verify a key).
 *
 * - Admin credential: an API key with the "API Keys" permission (scopes `api_keys.create`, `api_keys.read`,
 *   `api_keys.delete`); the first such key must be made in the SendGrid app. It can only grant scopes it holds
 *   itself. Admin secret: `{"apiKey": "SG.…"}`.
 * - Scopes of a new key, first match wins: the `scopes` setting (space-separated, when the list fits a tag); else
 *   the scopes of the key being replaced, read with `GET /v3/api_keys/{id}`; else those of `templateKeyId`.
 *   Scopes SendGrid assigns by itself ({@link isSelfAssignedScope}) are left out of the copy: SendGrid adds them to
 *   the new key as it did to the old one.
 * - `onBehalfOf` (a subuser) goes only with the parent's admin key; `verify` authenticates as the new key alone.
 * - Listing has no pagination (only `limit`): the adapter asks for the account's whole quota at once.
 * - Quota: 100 API keys per account; at the limit, create answers 403 (spec, create API keys), so a 403 on create
 *   is checked against the key count: a full account is {@link QuotaExceededError}, anything else the admin
 *   credential's {@link ProviderAuthError}.
 * - Disable: no. Last used: no. 429 carries `X-RateLimit-Reset` (epoch seconds).
 */
export const SENDGRID_API = 'SendGrid Web API v3 (api_keys)';

const Settings = z.object({
  region: z.enum(['global', 'eu']).optional().describe('Data residency: eu uses api.eu.sendgrid.com. @default global'),
  scopes: z.string().regex(/^[a-z0-9_.\- ]+$/, 'must be space-separated SendGrid scopes').optional().describe('Scopes of every new key'),
  templateKeyId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional().describe('Key whose scopes the first issued key copies'),
  onBehalfOf: z.string().max(256).optional().describe('Subuser to manage keys for (on-behalf-of header)'),
  baseUrl: z.url().optional().describe('API base URL. @default https://api.sendgrid.com'),
});

const Admin = z.object({ apiKey: z.string().min(1) });
const ADMIN_SHAPE = '{"apiKey": "<SendGrid API key with the API Keys permission>"}';
const QUOTA = 100;

/** SendGrid API keys. See {@link SENDGRID_API}. */
export class SendGridApiKeys implements KeyProvider {
  readonly type = 'sendgrid';
  /** Declared once, in the registry entry ({@link sendgridProvider}). */
  readonly capabilities = sendgridProvider.capabilities;
  readonly listedBy = ['region', 'onBehalfOf', 'baseUrl'];
  readonly quota = QUOTA;
  private readonly http: ProviderHttp;
  private readonly subuser: Record<string, string>;

  constructor(private readonly settings: z.infer<typeof Settings>, context: ProviderContext) {
    const admin = lazyCredential(context.adminCredential, (t) => parseAdminCredential('sendgrid', t, Admin, ADMIN_SHAPE));
    const host = settings.region === 'eu' ? 'https://api.eu.sendgrid.com' : 'https://api.sendgrid.com';
    this.subuser = settings.onBehalfOf ? { 'on-behalf-of': settings.onBehalfOf } : {};
    this.http = new ProviderHttp({
      provider: this.type,
      baseUrl: trimSlash(settings.baseUrl ?? host),
      clock: context.clock,
      fetch: context.fetch,
      quota: QUOTA,
      authHint: 'the "API Keys" permission (api_keys.create, api_keys.read, api_keys.delete)',
      // SendGrid's X-RateLimit-Reset is the epoch second the window reopens.
      retryAfterMs: (headers, now) => {
        const reset = Number(headers.get('x-ratelimit-reset'));
        return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : undefined;
      },
      auth: async () => ({ authorization: `Bearer ${(await admin()).apiKey}`, ...this.subuser }),
    });
  }

  async issue({ label, replaces }: IssueRequest): Promise<IssuedKey> {
    const scopes = await this.scopesFor(replaces);
    const created = await this.http
      .json({ method: 'POST', path: '/v3/api_keys', json: { name: label, scopes }, what: 'create API key' })
      .catch((err: unknown) => this.quotaOr(err));
    return {
      apiKey: requireString(this.type, 'create API key', created, 'api_key'),
      keyId: requireString(this.type, 'create API key', created, 'api_key_id'),
    };
  }

  async verify(apiKey: string): Promise<VerifiedKey> {
    // Every valid key may read its own scopes; a revoked or unknown key gets 401.
    // Without on-behalf-of: that header lets a parent's key act for a subuser; the new key is the subuser's own.
    await this.http.request({ method: 'GET', path: '/v3/scopes', auth: { authorization: `Bearer ${apiKey}` }, what: 'verify API key' });
    return {};
  }

  async revoke(keyId: string): Promise<void> {
    await this.http.request({ method: 'DELETE', path: `/v3/api_keys/${encodeURIComponent(keyId)}`, keyId, what: 'delete API key' });
  }

  async list(): Promise<ProviderKey[]> {
    // The endpoint has no cursor: one call with a limit of the whole quota returns every key.
    const res = (await this.http.json({ method: 'GET', path: '/v3/api_keys', query: { limit: QUOTA }, what: 'list API keys' })) as {
      result?: Array<{ api_key_id: string; name?: string }>;
    };
    return (res.result ?? []).map((k) => ({ keyId: k.api_key_id, label: k.name, status: 'active' as const }));
  }

  private async scopesFor(replaces: string | undefined): Promise<string[]> {
    if (this.settings.scopes) return words(this.settings.scopes);
    const source = replaces ?? this.settings.templateKeyId;
    if (!source) {
      throw new ConfigError("provider 'sendgrid': no scopes for the new key; set provider.scopes, or provider.templateKeyId to a key with the wanted scopes");
    }
    // GET by id answers {"result": [ ... ]}: an array even for one key.
    const res = (await this.http.json({ method: 'GET', path: `/v3/api_keys/${encodeURIComponent(source)}`, keyId: source, what: 'read API key scopes' })) as {
      result?: Array<{ scopes?: string[] }>;
    };
    const scopes = res.result?.[0]?.scopes?.filter((s) => !isSelfAssignedScope(s));
    if (!Array.isArray(scopes) || scopes.length === 0) {
      throw new ProviderResponseError(this.type, `read API key scopes: key '${source}' has no scopes in the answer; set provider.scopes`);
    }
    return scopes;
  }

  /** The error for a failed create: a 403 while the account holds its whole quota is the quota, not the credential. */
  private async quotaOr(err: unknown): Promise<never> {
    if (!(err instanceof ProviderAuthError) || err.status !== 403) throw err;
    const held = await this.list().then(
      (keys) => keys.length,
      () => undefined,
    );
    if (held === undefined || held < QUOTA) throw err;
    throw new QuotaExceededError(
      this.type,
      `create API key: HTTP 403 with ${held} keys held: key quota of ${QUOTA} reached; ${QUOTA_ADVICE}`,
      { status: 403, providerCode: err.providerCode, quota: QUOTA },
    );
  }
}

/**
 * Scopes SendGrid gives keys by itself, whatever the create request says (`2fa_required`,
 * `sender_verification_eligible`, `sender_verification_exempt`; kenzo0107/terraform-provider-sendgrid#118 treats the
 * same set as unmanaged). A copy leaves them to SendGrid rather than asking for them.
 */
function isSelfAssignedScope(scope: string): boolean {
  return scope === '2fa_required' || scope.startsWith('sender_verification_');
}

/** Registry entry for `sendgrid`. */
export const sendgridProvider: ProviderDefinition = {
  apiHosts: ['api.sendgrid.com', 'api.eu.sendgrid.com'],
  type: 'sendgrid',
  settings: stringSettings(Settings),
  capabilities: { disable: false, lastUsed: false },
  quota: QUOTA,
  needsAdminSecret: true,
  create: (context) => new SendGridApiKeys(Settings.parse(context.settings), context),
};
