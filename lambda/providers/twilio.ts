import { z } from 'zod';
import { ConfigError } from '../../core/errors';
import { ProviderAuthError } from './errors';
import { ProviderHttp, basicAuth, dateMs, lazyCredential, paginate, parseAdminCredential, requireString, stringSettings, trimSlash } from './http';
import type { ProviderDefinition } from './registry';
import type { IssueRequest, IssuedKey, KeyProvider, ProviderContext, ProviderKey, VerifiedKey } from './types';

/**
 * Twilio API keys, IAM v1 Key resource (`https://iam.twilio.com/v1/Keys`): HTTP Basic auth, form-encoded bodies.
 *
 * - Admin credential: a Main API key (only the Twilio Console can make one; Standard keys cannot manage keys), or
 *   the account's Auth Token. Admin secret: `{"apiKeySid": "SK…", "apiKeySecret": "…"}` or
 *   `{"accountSid": "AC…", "authToken": "…"}`. Twilio documents a Restricted key with `/twilio/iam/api-keys/create`
 *   as able to create keys, but not the read and delete permissions this adapter also needs, so the Main key is the
 *   least privilege documented for the whole job.
 * - A new key is Restricted with the same `Policy` when the key it replaces (or `templateKeySid`) has one, read with
 *   `GET /v1/Keys/{Sid}`; otherwise Standard, like the key it replaces.
 * - The key value keyrelay stores is `<key SID>:<secret>` (Twilio authenticates with the pair, as Basic auth user and
 *   password; apps split on the first `:`); the SID alone is also in the secret value's `attributes.apiKeySid`.
 * - Verify: `GET https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Messages.json` with the new key, a resource
 *   both kinds of key the adapter issues may read: Standard keys reach "all Twilio API resources, except for Accounts
 *   (/Accounts) or Keys" (Twilio docs, "Key resource v1", types of keys), and a Restricted key reaches it with
 *   {@link VERIFY_PERMISSION}, which `issue` requires of a Restricted policy. The Account resource itself is no use:
 *   a Standard key reading it gets 401 with error 20003, the same answer as a wrong secret (twilio/twilio-python#259).
 *   The filter `DateSent<` before Twilio existed keeps the page empty, so no message content is read.
 * - Friendly names hold at most 64 characters, less than `keyrelay/<secret>/<uuid token>` often needs: the label is
 *   written reversibly compacted (`kr/<secret>/<token as 22 base64url chars>`, see {@link compactLabel}) and `list`
 *   expands it back, so secret names up to 38 characters fit. A label still too long is refused rather than cut (a
 *   cut label no longer names its secret and token, so reconcile could not find an orphan).
 * - Quota: no fixed number documented (error 70151 "Maximum Number Of API Keys Exceeded"). Disable: no. Last used: no.
 */
export const TWILIO_API = 'Twilio IAM v1 (Keys) + REST API 2010-04-01 (verify)';

/**
 * The Restricted-key permission that lets a key read the Message list verify uses (the permission Twilio's own
 * IAM v1 spec gives as its example policy).
 */
const VERIFY_PERMISSION = '/twilio/messaging/messages/read';
/** Messages sent before this instant: none (Twilio launched in 2008), so verify reads an empty page. */
const BEFORE_ANY_MESSAGE = '2000-01-01T00:00:00Z';

const Settings = z.object({
  accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be a Twilio Account SID (AC + 32 hex digits)').describe('Account the keys belong to'),
  templateKeySid: z.string().regex(/^SK[0-9a-fA-F]{32}$/, 'must be an API key SID (SK + 32 hex digits)').optional().describe('Key whose policy the first issued key copies'),
  baseUrl: z.url().optional().describe('Base URL for both iam and api hosts (tests, proxies). @default https://iam.twilio.com and https://api.twilio.com'),
});

const Admin = z.union([
  z.object({ apiKeySid: z.string().regex(/^SK/), apiKeySecret: z.string().min(1) }),
  z.object({ accountSid: z.string().regex(/^AC/), authToken: z.string().min(1) }),
]);
const ADMIN_SHAPE = '{"apiKeySid": "SK…", "apiKeySecret": "…"} (a Main key) or {"accountSid": "AC…", "authToken": "…"}';
const MAX_FRIENDLY_NAME = 64;
/** Twilio's documented maximum `PageSize` (default 50): the sweep lists once per credential. */
const PAGE_SIZE = 1000;

interface TwKey {
  sid: string;
  friendly_name?: string | null;
  date_created?: string | null;
  policy?: Record<string, unknown> | null;
}

/** Twilio API keys. See {@link TWILIO_API}. */
export class TwilioApiKeys implements KeyProvider {
  readonly type = 'twilio';
  /** Declared once, in the registry entry ({@link twilioProvider}). */
  readonly capabilities = twilioProvider.capabilities;
  readonly listedBy = ['accountSid', 'baseUrl'];
  private readonly iam: ProviderHttp;
  private readonly api: ProviderHttp;

  constructor(private readonly settings: z.infer<typeof Settings>, context: ProviderContext) {
    const admin = lazyCredential(context.adminCredential, (t) => parseAdminCredential('twilio', t, Admin, ADMIN_SHAPE));
    const auth = async () => {
      const c = await admin();
      return { authorization: 'apiKeySid' in c ? basicAuth(c.apiKeySid, c.apiKeySecret) : basicAuth(c.accountSid, c.authToken) };
    };
    const common = {
      provider: this.type,
      clock: context.clock,
      fetch: context.fetch,
      authHint: 'a Main API key (made in the Twilio Console) or the Auth Token',
      // Twilio error 70151: "Maximum Number Of API Keys Exceeded".
      isQuotaError: (_status: number, body: unknown) => (body as { code?: unknown } | undefined)?.code === 70151,
      auth,
    };
    this.iam = new ProviderHttp({ ...common, baseUrl: trimSlash(settings.baseUrl ?? 'https://iam.twilio.com') });
    this.api = new ProviderHttp({ ...common, baseUrl: trimSlash(settings.baseUrl ?? 'https://api.twilio.com') });
  }

  async issue({ label, replaces }: IssueRequest): Promise<IssuedKey> {
    const friendlyName = compactLabel(label);
    if (friendlyName.length > MAX_FRIENDLY_NAME) {
      throw new ConfigError(
        `provider 'twilio': key label '${label}' is ${friendlyName.length} characters even compacted, Twilio allows ${MAX_FRIENDLY_NAME}; use a secret name of at most 38 characters`,
      );
    }
    const source = replaces ?? this.settings.templateKeySid;
    const policy = source ? (await this.get(source)).policy : null;
    if (policy && !allows(policy, VERIFY_PERMISSION)) {
      throw new ConfigError(
        `provider 'twilio': key '${source}' is Restricted without '${VERIFY_PERMISSION}', so a copy of it could not be verified (verify reads the Message list); add that permission to its policy, or rotate a Standard key`,
      );
    }
    const created = await this.iam.json({
      method: 'POST',
      path: '/v1/Keys',
      form: {
        AccountSid: this.settings.accountSid,
        FriendlyName: friendlyName,
        ...(policy ? { KeyType: 'restricted', Policy: JSON.stringify(policy) } : {}),
      },
      what: 'create API key',
    });
    const keyId = requireString(this.type, 'create API key', created, 'sid');
    return {
      // Twilio authenticates with the pair (Basic auth user and password); apps split on the first ':'.
      apiKey: `${keyId}:${requireString(this.type, 'create API key', created, 'secret')}`,
      keyId,
      principal: this.settings.accountSid,
      attributes: { apiKeySid: keyId },
    };
  }

  async verify(apiKey: string): Promise<VerifiedKey> {
    const colon = apiKey.indexOf(':');
    if (colon <= 0) throw new ProviderAuthError(this.type, "verify API key: the value is not '<key SID>:<secret>'");
    // 401 (error 20003) is a rejected key: Standard keys and the Restricted keys issue allows may read this list.
    await this.api.request({
      method: 'GET',
      path: `/2010-04-01/Accounts/${this.settings.accountSid}/Messages.json`,
      query: { 'DateSent<': BEFORE_ANY_MESSAGE, PageSize: 1 },
      auth: { authorization: basicAuth(apiKey.slice(0, colon), apiKey.slice(colon + 1)) },
      what: 'verify API key',
    });
    return { principal: this.settings.accountSid };
  }

  async revoke(keyId: string): Promise<void> {
    await this.iam.request({ method: 'DELETE', path: `/v1/Keys/${encodeURIComponent(keyId)}`, keyId, what: 'delete API key' });
  }

  async list(): Promise<ProviderKey[]> {
    const keys = await paginate<TwKey, string>(this.type, async (next) => {
      const res = (await this.iam.json({
        method: 'GET',
        path: next ?? '/v1/Keys',
        query: next ? undefined : { AccountSid: this.settings.accountSid, PageSize: PAGE_SIZE },
        what: 'list API keys',
      })) as { keys?: TwKey[]; meta?: { next_page_url?: string | null } };
      return { items: res.keys ?? [], next: res.meta?.next_page_url ?? undefined };
    });
    return keys.map((k) => ({
      keyId: k.sid,
      label: k.friendly_name ? expandLabel(k.friendly_name) : undefined,
      status: 'active' as const,
      createdAt: dateMs(k.date_created),
    }));
  }

  private async get(keySid: string): Promise<TwKey> {
    return (await this.iam.json({ method: 'GET', path: `/v1/Keys/${encodeURIComponent(keySid)}`, keyId: keySid, what: 'read API key' })) as TwKey;
  }
}

/** Whether a Restricted key's policy (`{"allow": [permission, …]}`) grants `permission`. */
function allows(policy: Record<string, unknown>, permission: string): boolean {
  const allow = policy.allow;
  return Array.isArray(allow) && allow.includes(permission);
}

const LONG_PREFIX = 'keyrelay/';
const SHORT_PREFIX = 'kr/';
const UUID = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/;

/**
 * `keyrelay/<secret>/<uuid>` as `kr/<secret>/<uuid in 22 base64url chars>`; other labels unchanged. Reversed by
 * {@link expandLabel}, so the rotation steps and reconcile see the label they gave.
 */
export function compactLabel(label: string): string {
  const slash = label.lastIndexOf('/');
  const token = label.slice(slash + 1);
  if (!label.startsWith(LONG_PREFIX) || !UUID.test(token)) return label;
  return `${SHORT_PREFIX}${label.slice(LONG_PREFIX.length, slash)}/${Buffer.from(token.replaceAll('-', ''), 'hex').toString('base64url')}`;
}

/** Inverse of {@link compactLabel}; names it did not write (no `kr/` and 22-character token) pass unchanged. */
export function expandLabel(name: string): string {
  const slash = name.lastIndexOf('/');
  const token = name.slice(slash + 1);
  if (!name.startsWith(SHORT_PREFIX) || slash < SHORT_PREFIX.length || !/^[A-Za-z0-9_-]{22}$/.test(token)) return name;
  const hex = Buffer.from(token, 'base64url').toString('hex');
  return `${LONG_PREFIX}${name.slice(SHORT_PREFIX.length, slash)}/${hex.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5')}`;
}

/** Registry entry for `twilio`. */
export const twilioProvider: ProviderDefinition = {
  apiHosts: ['iam.twilio.com', 'api.twilio.com'],
  type: 'twilio',
  settings: stringSettings(Settings),
  capabilities: { disable: false, lastUsed: false },
  needsAdminSecret: true,
  create: (context) => new TwilioApiKeys(Settings.parse(context.settings), context),
};
