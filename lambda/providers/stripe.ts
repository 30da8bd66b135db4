import { z } from 'zod';
import { ConfigError } from '../../core/errors';
import { KeyNotFoundError, ProviderResponseError } from './errors';
import { ProviderHttp, dateMs, lazyCredential, paginate, parseAdminCredential, requireString, stringSettings, trimSlash } from './http';
import type { ProviderDefinition } from './registry';
import type { IssueRequest, IssuedKey, KeyProvider, ProviderContext, ProviderKey, VerifiedKey } from './types';

/**
 * Stripe secret keys through the private-preview IAM API (`/v2/iam/api_keys`, `Stripe-Version: 2026-09-30.preview`).
 * Optional: the API is a preview and may change.
 *
 * - Issue = `rotate` the key being replaced (or `sourceKeyId` on the first issue) with
 *   `expire_current_key_in_minutes`: Stripe's own overlap primitive. The new key has the old one's permissions by
 *   construction; it is then named with keyrelay's label (`POST /v2/iam/api_keys/{id}`; rotate takes no name). If
 *   naming fails the key is still returned (`attributes.label: "unset"`): the source cannot be rotated twice, so
 *   throwing would leave the expiring key without a successor.
 * - What keyrelay adds on top: the old key is expired (`POST …/expire`) at keyrelay's deadline, which may be sooner
 *   than Stripe's (emergencies, a grace shorter than the expiry setting), after the usage hold (`last_used`);
 *   verification of the new key before apps get it; reconcile of orphans; audit and alarms. Stripe's expiry stays
 *   as the backstop: set `expireCurrentKeyInMinutes` to at least keyrelay's grace period (at most 10080 = 7 days).
 *   Caveat: a rotation that fails after `rotate` cannot stop the old key's Stripe-side expiry.
 * - Testmode only: in livemode Stripe returns the new secret only encrypted to a public key you supply
 *   (`encrypted_secret`, JWE), which this adapter does not decrypt; a live admin key is refused before any call.
 * - Admin credential: a testmode secret or restricted key allowed to manage API keys (preview access).
 *   Admin secret: `{"secretKey": "sk_test_…"}`.
 * - Quota: not documented (error `api_key_limit_reached`). Disable: no. Last used: yes (`last_used`).
 */
export const STRIPE_API = 'Stripe API 2026-09-30.preview (v2/iam/api_keys, private preview)';

const MAX_EXPIRY_MINUTES = 10_080;

const Settings = z.object({
  sourceKeyId: z.string().regex(/^[A-Za-z0-9_]{1,128}$/).optional().describe('Key the first rotation starts from'),
  expireCurrentKeyInMinutes: z
    .string()
    .regex(/^\d+$/)
    .refine((v) => Number(v) >= 1 && Number(v) <= MAX_EXPIRY_MINUTES, `must be 1 to ${MAX_EXPIRY_MINUTES} minutes`)
    .optional()
    .describe("Stripe-side expiry of the replaced key. @default 10080 (7 days, Stripe's maximum)"),
  stripeVersion: z.string().regex(/^[0-9a-z.-]+$/).optional().describe('Stripe-Version header. @default 2026-09-30.preview'),
  baseUrl: z.url().optional().describe('API base URL. @default https://api.stripe.com'),
});

const Admin = z.object({ secretKey: z.string().min(1) });
const ADMIN_SHAPE = '{"secretKey": "<testmode key allowed to manage API keys>"}';

interface StripeKey {
  id: string;
  name?: string | null;
  status?: 'active' | 'expired';
  created?: string;
  last_used?: string | null;
  secret_key?: { token?: string | null; encrypted_secret?: unknown } | null;
}

/** Stripe secret keys via rotate. See {@link STRIPE_API}. */
export class StripeApiKeys implements KeyProvider {
  readonly type = 'stripe';
  readonly capabilities = { disable: false, lastUsed: true };
  readonly listedBy = ['stripeVersion', 'baseUrl'];
  private readonly http: ProviderHttp;
  private readonly admin: () => Promise<z.infer<typeof Admin>>;

  constructor(private readonly settings: z.infer<typeof Settings>, context: ProviderContext) {
    this.admin = lazyCredential(context.adminCredential, (t) => {
      const parsed = parseAdminCredential('stripe', t, Admin, ADMIN_SHAPE);
      if (!parsed.secretKey.startsWith('sk_test_') && !parsed.secretKey.startsWith('rk_test_')) {
        throw new ConfigError("provider 'stripe': only testmode admin keys are supported (livemode returns new secrets only encrypted)");
      }
      return parsed;
    });
    this.http = new ProviderHttp({
      provider: this.type,
      baseUrl: trimSlash(settings.baseUrl ?? 'https://api.stripe.com'),
      clock: context.clock,
      fetch: context.fetch,
      authHint: 'a testmode key with access to the IAM API keys preview',
      isQuotaError: (_s, body) => (body as { error?: { code?: unknown } } | undefined)?.error?.code === 'api_key_limit_reached',
      auth: async () => ({ authorization: `Bearer ${(await this.admin()).secretKey}`, 'stripe-version': this.version }),
    });
  }

  private get version(): string {
    return this.settings.stripeVersion ?? '2026-09-30.preview';
  }

  async issue({ label, replaces }: IssueRequest): Promise<IssuedKey> {
    const source = replaces ?? this.settings.sourceKeyId;
    if (!source) throw new ConfigError("provider 'stripe': no key to rotate from; set provider.sourceKeyId to the current secret key's id");
    await this.admin();
    const rotated = (await this.http.json({
      method: 'POST',
      path: `/v2/iam/api_keys/${encodeURIComponent(source)}/rotate`,
      json: { expire_current_key_in_minutes: Number(this.settings.expireCurrentKeyInMinutes ?? MAX_EXPIRY_MINUTES) },
      keyId: source,
      what: 'rotate API key',
    })) as StripeKey;
    const token = rotated.secret_key?.token;
    if (!token) throw new ProviderResponseError(this.type, `rotate API key '${source}': no plaintext secret in the answer (livemode?)`);
    const keyId = requireString(this.type, 'rotate API key', rotated, 'id');
    try {
      await this.http.request({ method: 'POST', path: `/v2/iam/api_keys/${encodeURIComponent(keyId)}`, json: { name: label }, keyId, what: 'name API key' });
    } catch {
      // The rotation already happened and the source key now expires on its own: a retry cannot rotate it again
      // (api_key_already_rotated), so losing this key would leave nothing to replace it. Hand it over unnamed;
      // once stored it is referenced by the secret, and the label only matters for keys stored nowhere.
      return { apiKey: token, keyId, attributes: { label: 'unset' } };
    }
    return { apiKey: token, keyId };
  }

  async verify(apiKey: string): Promise<VerifiedKey> {
    // A restricted key without permission to read the account gets 403 only after Stripe authenticated it.
    await this.http.request({ method: 'GET', path: '/v1/account', auth: { authorization: `Bearer ${apiKey}` }, accept: [403], what: 'verify API key' });
    return {};
  }

  async revoke(keyId: string): Promise<void> {
    try {
      await this.http.request({ method: 'POST', path: `/v2/iam/api_keys/${encodeURIComponent(keyId)}/expire`, keyId, what: 'expire API key' });
    } catch (err) {
      // An expired key is a deleted key for keyrelay ("already gone counts as revoked").
      if (err instanceof ProviderResponseError && err.providerCode === 'api_key_expired') {
        throw new KeyNotFoundError(this.type, `expire API key: key '${keyId}' has already expired`, { status: err.status, cause: err });
      }
      throw err;
    }
  }

  async list(): Promise<ProviderKey[]> {
    const keys = await paginate<StripeKey, string>(this.type, async (next) => {
      const res = (await this.http.json({
        method: 'GET',
        // No `limit`: the spec gives no maximum, and Stripe's default page plus next_page_url reaches every key.
        path: next ?? '/v2/iam/api_keys',
        what: 'list API keys',
      })) as { data?: StripeKey[]; next_page_url?: string | null };
      return { items: res.data ?? [], next: res.next_page_url ?? undefined };
    });
    return keys
      .filter((k) => k.status !== 'expired')
      .map((k) => ({ keyId: k.id, label: k.name ?? undefined, status: 'active' as const, createdAt: dateMs(k.created), lastUsedAt: k.last_used === null ? null : dateMs(k.last_used) }));
  }
}

/** Registry entry for `stripe`. */
export const stripeProvider: ProviderDefinition = {
  apiHosts: ['api.stripe.com'],
  type: 'stripe',
  settings: stringSettings(Settings),
  capabilities: { disable: false, lastUsed: true },
  needsAdminSecret: true,
  create: (context) => new StripeApiKeys(Settings.parse(context.settings), context),
};
