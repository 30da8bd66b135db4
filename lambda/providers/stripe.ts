import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../../core/errors';
import { KeyNotFoundError, ProviderResponseError } from './errors';
import { ProviderHttp, dateMs, lazyCredential, paginate, parseAdminCredential, requireString, stringSettings, trimSlash } from './http';
import { JweError, decryptCompactJwe, newRecipientKey } from './jwe';
import type { ProviderDefinition } from './registry';
import type { IssueRequest, IssuedKey, KeyProvider, ProviderContext, ProviderKey, VerifiedKey } from './types';

/**
 * Stripe secret keys through the private-preview IAM API (`/v2/iam/api_keys`, `Stripe-Version: 2026-09-30.preview`),
 * as a Stripe App acting on the account it is installed on. Optional: the API is a preview and may change.
 *
 * - Admin credential: an installed Stripe App's secret key holding `api_key_write`, plus the id of the account it
 *   acts on. Every admin call sends `Stripe-Context: <account id>`: the spec documents
 *   `api_key_direct_operation_not_supported` ("thrown when a request is made on a direct account") for every
 *   operation, and all its samples set that header. Admin secret: `{"appSecretKey": "sk_…", "accountId": "acct_…"}`.
 * - Issue = `rotate` the key being replaced (or `sourceKeyId` on the first issue) with
 *   `expire_current_key_in_minutes` and a `public_key` ("A public key is required when rotating secret keys"): a
 *   one-use RSA key pair made for this call (`./jwe.ts`). The new secret comes back as `secret_key.token` (testmode)
 *   or only as `secret_key.encrypted_secret`, a compact JWE (RSA-OAEP-256, A256GCM in Stripe's sample) that the
 *   private key opens; the pair is then dropped. The new key has the old one's permissions by construction; it is
 *   then named with keyrelay's label (`POST /v2/iam/api_keys/{id}`; rotate takes no name). If naming fails the key
 *   is still returned (`attributes.label: "unset"`): the source cannot be rotated twice.
 * - Verify: `GET /v2/iam/api_keys` with the new key alone, no `Stripe-Context`: the key is the account's own, so
 *   Stripe answers `api_key_direct_operation_not_supported`, which it can only say after knowing whose key it is;
 *   a revoked or unknown key is a 401.
 * - What keyrelay adds on top: the old key is expired (`POST …/expire`) at keyrelay's deadline, after the usage
 *   hold (`last_used`); reconcile of orphans; audit and alarms. Stripe's expiry stays as the backstop: set
 *   `expireCurrentKeyInMinutes` to at least keyrelay's grace period (at most 10080 = 7 days). Caveat: a rotation
 *   that fails after `rotate` cannot stop the old key's Stripe-side expiry.
 * - `mode: live` is refused at synth ({@link stripeDeployProblem}): see there for what is missing.
 * - Quota: not documented (error `api_key_limit_reached`). Disable: no. Last used: yes (`last_used`).
 */
export const STRIPE_API = 'Stripe API 2026-09-30.preview (v2/iam/api_keys, private preview), as a Stripe App';

const MAX_EXPIRY_MINUTES = 10_080;

const Settings = z.object({
  mode: z.enum(['test', 'live']).describe("Stripe mode of the keys: the app key's mode must match ('live' is refused at synth for now)"),
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

const Admin = z.object({
  appSecretKey: z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9]+$/, 'must be a Stripe secret or restricted key (sk_… or rk_…)'),
  accountId: z.string().regex(/^acct_[A-Za-z0-9]+$/, 'must be a Stripe account id (acct_…)'),
});
const ADMIN_SHAPE = '{"appSecretKey": "<secret key of a Stripe App holding api_key_write>", "accountId": "acct_<account the app is installed on>"}';

interface StripeKey {
  id: string;
  name?: string | null;
  status?: 'active' | 'expired';
  created?: string;
  last_used?: string | null;
  secret_key?: { token?: string | null; encrypted_secret?: { ciphertext?: string; format?: string; recipient_key_id?: string } | null } | null;
}

/** Stripe secret keys via rotate. See {@link STRIPE_API}. */
export class StripeApiKeys implements KeyProvider {
  readonly type = 'stripe';
  /** Declared once, in the registry entry ({@link stripeProvider}). */
  readonly capabilities = stripeProvider.capabilities;
  readonly listedBy = ['mode', 'stripeVersion', 'baseUrl'];
  private readonly http: ProviderHttp;
  private readonly admin: () => Promise<z.infer<typeof Admin>>;

  constructor(private readonly settings: z.infer<typeof Settings>, context: ProviderContext) {
    this.admin = lazyCredential(context.adminCredential, (t) => {
      const parsed = parseAdminCredential('stripe', t, Admin, ADMIN_SHAPE);
      if (!parsed.appSecretKey.includes(`_${settings.mode}_`)) {
        throw new ConfigError(`provider 'stripe': the admin secret's appSecretKey is not a ${settings.mode}mode key, as provider.mode '${settings.mode}' requires`);
      }
      return parsed;
    });
    this.http = new ProviderHttp({
      provider: this.type,
      baseUrl: trimSlash(settings.baseUrl ?? 'https://api.stripe.com'),
      clock: context.clock,
      fetch: context.fetch,
      authHint: "an installed Stripe App's key holding api_key_write, with the account id it is installed on",
      isQuotaError: (_s, body) => stripeErrorCode(body) === 'api_key_limit_reached',
      auth: async () => {
        const { appSecretKey, accountId } = await this.admin();
        return { authorization: `Bearer ${appSecretKey}`, 'stripe-version': this.version, 'stripe-context': accountId };
      },
    });
  }

  private get version(): string {
    return this.settings.stripeVersion ?? '2026-09-30.preview';
  }

  async issue({ label, replaces }: IssueRequest): Promise<IssuedKey> {
    const source = replaces ?? this.settings.sourceKeyId;
    if (!source) throw new ConfigError("provider 'stripe': no key to rotate from; set provider.sourceKeyId to the current secret key's id");
    await this.admin();
    const recipient = await newRecipientKey();
    const rotated = (await this.http.json({
      method: 'POST',
      path: `/v2/iam/api_keys/${encodeURIComponent(source)}/rotate`,
      json: {
        expire_current_key_in_minutes: Number(this.settings.expireCurrentKeyInMinutes ?? MAX_EXPIRY_MINUTES),
        public_key: { id: label, pem_key: { algorithm: 'rsa', data: recipient.publicPem } },
      },
      keyId: source,
      what: 'rotate API key',
    })) as StripeKey;
    const keyId = requireString(this.type, 'rotate API key', rotated, 'id');
    const apiKey = this.secretOf(rotated, label, recipient.privateKey, source);
    try {
      await this.http.request({ method: 'POST', path: `/v2/iam/api_keys/${encodeURIComponent(keyId)}`, json: { name: label }, keyId, what: 'name API key' });
    } catch {
      // The rotation already happened and the source key now expires on its own: a retry cannot rotate it again
      // (api_key_already_rotated), so losing this key would leave nothing to replace it. Hand it over unnamed;
      // once stored it is referenced by the secret, and the label only matters for keys stored nowhere.
      return { apiKey, keyId, attributes: { label: 'unset' } };
    }
    return { apiKey, keyId };
  }

  /** The new key's secret: the testmode plaintext, else the JWE opened with the one-use private key. */
  private secretOf(rotated: StripeKey, label: string, privateKey: KeyObject, source: string): string {
    const what = `rotate API key '${source}'`;
    const token = rotated.secret_key?.token;
    if (token) return token;
    const sealed = rotated.secret_key?.encrypted_secret;
    if (!sealed?.ciphertext) throw new ProviderResponseError(this.type, `${what}: the answer holds neither secret_key.token nor secret_key.encrypted_secret`);
    if (sealed.format !== 'jwe_compact') throw new ProviderResponseError(this.type, `${what}: encrypted_secret format '${String(sealed.format)}' is not jwe_compact`);
    if (sealed.recipient_key_id !== undefined && sealed.recipient_key_id !== label) {
      throw new ProviderResponseError(this.type, `${what}: encrypted_secret is for public key '${sealed.recipient_key_id}', not the one this rotation sent`);
    }
    let secret: string;
    try {
      secret = decryptCompactJwe(sealed.ciphertext, privateKey);
    } catch (err) {
      throw new ProviderResponseError(this.type, `${what}: ${err instanceof JweError ? err.message : 'the encrypted secret could not be opened'}`);
    }
    if (!/^(sk|rk)_(test|live)_[A-Za-z0-9]+$/.test(secret)) {
      throw new ProviderResponseError(this.type, `${what}: the decrypted secret is not a Stripe secret key (sk_… or rk_…)`);
    }
    return secret;
  }

  async verify(apiKey: string): Promise<VerifiedKey> {
    // The key alone, without Stripe-Context: Stripe can only say "direct account" about a key it has recognized.
    await this.http.request({
      method: 'GET',
      path: '/v2/iam/api_keys',
      query: { limit: 1 },
      auth: { authorization: `Bearer ${apiKey}`, 'stripe-version': this.version },
      accept: (status, body) => status === 403 || (status === 400 && stripeErrorCode(body) === 'api_key_direct_operation_not_supported'),
      what: 'verify API key',
    });
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

function stripeErrorCode(body: unknown): unknown {
  return (body as { error?: { code?: unknown } } | undefined)?.error?.code;
}

/**
 * Why a Stripe key cannot be deployed yet, or undefined. `mode: live` is refused: livemode returns the new secret
 * only as `secret_key.encrypted_secret`. The adapter opens the JWE Stripe's sample shows (RSA-OAEP-256, A256GCM) with
 * Node's crypto and expects the bare key inside; the samples' ciphertexts are 107 bytes, the length of an
 * `sk_live_` key, which fits, but no document states the plaintext and the samples cannot be opened without
 * Stripe's private key. A wrong guess would show only after `rotate` had set the old key's expiry.
 */
function stripeDeployProblem(settings: Readonly<Record<string, string>>): string | undefined {
  if (settings.mode !== 'live') return undefined;
  return (
    "mode 'live' is refused: Stripe returns a livemode secret only inside secret_key.encrypted_secret (a JWE, RSA-OAEP-256 + A256GCM " +
    "in Stripe's sample), and what that JWE's plaintext holds is not documented (the samples' 107-byte ciphertexts suggest the bare " +
    'sk_live_ key, which keyrelay expects, but cannot be opened to check), so keyrelay cannot know it decrypts to a usable key before ' +
    "rotate has started the old key's expiry; use mode 'test' (testmode returns secret_key.token) until one livemode answer is verified"
  );
}

/** Registry entry for `stripe`. */
export const stripeProvider: ProviderDefinition = {
  apiHosts: ['api.stripe.com'],
  type: 'stripe',
  settings: stringSettings(Settings),
  capabilities: { disable: false, lastUsed: true },
  needsAdminSecret: true,
  deployProblem: stripeDeployProblem,
  create: (context) => new StripeApiKeys(Settings.parse(context.settings), context),
};
