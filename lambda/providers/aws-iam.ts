import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  TagUserCommand,
  UntagUserCommand,
  UpdateAccessKeyCommand,
  type AccessKeyMetadata,
  type User,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { z } from 'zod';
import { ConfigError, describeError } from '../../core/errors';
import { httpStatus, isThrottling, isTransient } from '../../core/retry';
import { tagMap, tagValueProblem } from '../../core/state';
import {
  KeyNotFoundError,
  ProviderAuthError,
  ProviderError,
  ProviderResponseError,
  ProviderUnavailableError,
  QuotaExceededError,
  ThrottledError,
} from './errors';
import { lazyCredential, paginate, parseAdminCredential, stringSettings, words } from './http';
import { redactProviderCode, redactProviderText } from './redact';
import type { ProviderDefinition } from './registry';
import type { IssuedKey, IssueRequest, KeyProvider, ProviderContext, ProviderKey, VerifiedKey } from './types';

/**
 * AWS IAM access keys of one IAM user (`userName`), through the IAM and STS APIs (2010-05-08 / 2011-06-15).
 *
 * - Key value: `<AccessKeyId>:<SecretAccessKey>` in `apiKey` (SigV4 signs with the pair, and `verify` and the
 *   application client see only `apiKey`, so both halves travel together and rotate atomically; apps split on the
 *   first `:`, see {@link parseAwsAccessKey}). `keyId` and `attributes.accessKeyId` hold the AccessKeyId.
 * - Issue: `CreateAccessKey`. Verify: STS `GetCallerIdentity` signed with the key (principal: the user's ARN).
 *   IAM takes roughly 3 to 15 s before a new key authenticates; the adapter does not retry: testSecret/setSecret
 *   retry `ProviderAuthError` with back-off on the injected clock (8 attempts, about 30 s), and the SDK's own retries
 *   are off (`maxAttempts: 1`) so no layer doubles another.
 * - Revoke: `DeleteAccessKey`. Two-phase: `disable`/`enable` = `UpdateAccessKey Inactive/Active`.
 *   Last used: `GetAccessKeyLastUsed` (null when never used). List: `ListAccessKeys` (every page) plus the labels.
 * - Labels: IAM keys have no name, so the label lives in a user tag `keyrelay:label:<AccessKeyId>` = label. Before
 *   `CreateAccessKey` the adapter writes an intent, `keyrelay:issuing` = label and `keyrelay:issuing-known` = the
 *   key ids that already exist; `list` gives the intent's label to an untagged key that is not among them, so a
 *   crash between "create" and "tag" still leaves a key a retried createSecret finds. Tag values hold at most 256
 *   characters: a longer label is refused. Label tags of deleted keys are removed at the next issue.
 * - Quota: 2 keys per user, inactive keys count (`LimitExceeded` -> `QuotaExceededError`). Keys carry no
 *   permissions of their own (the user's policies apply), so `replaces` has nothing to copy.
 * - Admin credential: the function's own role (`credentials: role`, the default; no admin secret), or access keys in
 *   the admin secret `{"accessKeyId": "AKIA…", "secretAccessKey": "…", "sessionToken"?: "…"}` with
 *   `credentials: admin-secret`. Least privilege: {@link AWS_IAM_ACTIONS} on the managed users' ARNs only.
 * - One IAM user per secret: its two key slots are the current key and the one rotating in.
 */
export const AWS_IAM_API = 'AWS IAM 2010-05-08 (access keys, user tags) + STS 2011-06-15 (GetCallerIdentity)';

const TYPE = 'aws-iam';
const QUOTA = 2;
/** User tag prefix holding each key's label: `keyrelay:label:<AccessKeyId>`. */
export const LABEL_TAG_PREFIX = 'keyrelay:label:';
/** User tag holding the label of a key being created (empty when no issue is in flight). */
export const ISSUING_TAG = 'keyrelay:issuing';
/** User tag holding the key ids that existed before that issue, space-separated. */
export const ISSUING_KNOWN_TAG = 'keyrelay:issuing-known';

/**
 * The IAM actions the adapter's credential needs, on the managed users' ARNs only
 * (`arn:aws:iam::<account>:user/<path><userName>`). `GetUser` reads the user's ARN and tags in one call (instead of
 * `ListUserTags`). Verifying needs no permission: STS `GetCallerIdentity` is signed by the key being verified.
 */
export const AWS_IAM_ACTIONS = [
  'iam:CreateAccessKey',
  'iam:ListAccessKeys',
  'iam:UpdateAccessKey',
  'iam:DeleteAccessKey',
  'iam:GetAccessKeyLastUsed',
  'iam:GetUser',
  'iam:TagUser',
  'iam:UntagUser',
] as const;

const Settings = z.object({
  userName: z
    .string()
    .regex(/^[\w+=.@-]{1,64}$/, 'must be an IAM user name (1 to 64 of letters, digits and _+=.@-; commas cannot travel as tags)')
    .describe('IAM user whose access keys this secret rotates (one user per secret)'),
  path: z
    .string()
    .regex(/^\/(?:[\w+=.@-]+\/)*$/, 'must be an IAM path: "/" or like "/service-accounts/" (letters, digits and _+=.@-)')
    .max(512)
    .optional()
    .describe("The user's IAM path, for the deploy's grant on the user's ARN (IAM calls need only the name). @default /"),
  credentials: z
    .enum(['role', 'admin-secret'])
    .optional()
    .describe("Who calls IAM: the function's role, or access keys in the admin secret. @default role"),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region, e.g. "us-east-1"')
    .optional()
    .describe('Region of the STS endpoint and IAM signing. @default AWS_REGION, else us-east-1'),
  endpoint: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. "http://127.0.0.1:5000"' })
    .optional()
    .describe('Endpoint for IAM and STS (local stack, tests). @default - the SDK default (honours AWS_ENDPOINT_URL)'),
});

/** Settings of an `aws-iam` key (strings: they travel as secret tags). */
export type AwsIamSettings = z.infer<typeof Settings>;

const Admin = z.object({
  accessKeyId: z.string().min(16),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().min(1).optional(),
});
const ADMIN_SHAPE = '{"accessKeyId": "AKIA…", "secretAccessKey": "…", "sessionToken"?: "…"}';

/** Static credentials of one access key. */
export interface AwsKeyCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The SDK clients the adapter uses; injectable for tests and the local stack. */
export interface AwsIamClients {
  /** Client for the admin calls. */
  iam: IAMClient;
  /** A client signed with the key being verified. */
  sts(credentials: AwsKeyCredentials): STSClient;
}

/**
 * Splits an `aws-iam` key value (`<AccessKeyId>:<SecretAccessKey>`) into SDK credentials.
 * @example new S3Client({ credentials: parseAwsAccessKey(await getApiKey('ci/deployer')) })
 * @throws ProviderAuthError when the value is not such a pair (the message never quotes it)
 */
export function parseAwsAccessKey(apiKey: string): AwsKeyCredentials {
  const colon = apiKey.indexOf(':');
  if (colon <= 0 || colon === apiKey.length - 1) {
    throw new ProviderAuthError(TYPE, "the key value is not '<AccessKeyId>:<SecretAccessKey>'; re-import the secret in that form");
  }
  return { accessKeyId: apiKey.slice(0, colon), secretAccessKey: apiKey.slice(colon + 1) };
}

/** What a call is about, for error mapping. */
interface CallContext {
  what: string;
  /** The key the call names: NoSuchEntity means the key is gone. */
  keyId?: string;
  /** `LimitExceeded` means the key quota (only CreateAccessKey). */
  quota?: boolean;
  /** The call is signed by the key being verified, not the admin credential. */
  verifying?: boolean;
  /** Credentials the call carried, removed from AWS's error text (see `./redact.ts`). */
  sent?: string[];
}

const AUTH_ERRORS = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'AccessDenied',
  'AccessDeniedException',
  'IncompleteSignature',
]);

function awsCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const e = err as { name?: unknown; Code?: unknown };
  return String(e.Code ?? e.name ?? '');
}

/** AWS SDK IAM client with the adapter's defaults: region, endpoint, no SDK retries (the callers retry). */
function defaultClients(settings: AwsIamSettings, context: ProviderContext): AwsIamClients {
  const common = {
    region: settings.region ?? process.env.AWS_REGION ?? 'us-east-1',
    maxAttempts: 1,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
  };
  const admin =
    settings.credentials === 'admin-secret'
      ? lazyCredential(context.adminCredential, (text) => parseAdminCredential(TYPE, text, Admin, ADMIN_SHAPE))
      : undefined;
  return {
    iam: new IAMClient(admin ? { ...common, credentials: admin } : common),
    sts: (credentials) => new STSClient({ ...common, credentials }),
  };
}

/** The access keys of one IAM user. See {@link AWS_IAM_API}. */
export class AwsIamAccessKeys implements KeyProvider {
  readonly type = TYPE;
  /** Declared once, in the registry entry ({@link awsIamProvider}). */
  readonly capabilities = awsIamProvider.capabilities;
  readonly quota = QUOTA;
  private readonly clients: AwsIamClients;

  /** @param clients SDK clients. @default - built from the settings (see {@link AwsIamClients}) */
  constructor(
    private readonly settings: AwsIamSettings,
    context: ProviderContext,
    clients?: AwsIamClients,
  ) {
    this.clients = clients ?? defaultClients(settings, context);
  }

  async issue({ label }: IssueRequest): Promise<IssuedKey> {
    const problem = tagValueProblem(label);
    if (problem) {
      throw new ConfigError(`provider '${TYPE}': key label '${label}' cannot be an IAM tag value (${problem}); use a shorter secret name`);
    }
    const UserName = this.userName;
    const [keys, user] = await Promise.all([this.listKeys(), this.getUser()]);
    if (keys.length >= QUOTA) {
      throw new QuotaExceededError(
        TYPE,
        `create access key: IAM user '${UserName}' already holds ${keys.length} of ${QUOTA} keys ` +
          `(${keys.map((k) => `${k.AccessKeyId} ${k.Status}`).join(', ')}); inactive keys count: let the revoker delete the previous key`,
        { quota: QUOTA },
      );
    }
    const ids = new Set(keys.map((k) => k.AccessKeyId));
    const stale = Object.keys(tagMap(user.Tags)).filter(
      (t) => t.startsWith(LABEL_TAG_PREFIX) && !ids.has(t.slice(LABEL_TAG_PREFIX.length)),
    );
    if (stale.length > 0) {
      const untag = new UntagUserCommand({ UserName, TagKeys: stale });
      await this.call({ what: 'remove labels of deleted keys' }, () => this.clients.iam.send(untag));
    }
    // The intent first: a crash after CreateAccessKey still leaves a key that `list` attributes to this label.
    const intent = [{ Key: ISSUING_TAG, Value: label }, { Key: ISSUING_KNOWN_TAG, Value: [...ids].join(' ') }];
    await this.call({ what: 'record the key being issued' }, () => this.clients.iam.send(new TagUserCommand({ UserName, Tags: intent })));
    const create = new CreateAccessKeyCommand({ UserName });
    const { AccessKey: created } = await this.call({ what: 'create access key', quota: true }, () => this.clients.iam.send(create));
    if (!created?.AccessKeyId || !created.SecretAccessKey) {
      throw new ProviderResponseError(TYPE, `create access key: the answer for user '${UserName}' has no AccessKeyId or SecretAccessKey`);
    }
    const keyId = created.AccessKeyId;
    const labelled = [{ Key: LABEL_TAG_PREFIX + keyId, Value: label }, ...intent.map((t) => ({ Key: t.Key, Value: '' }))];
    await this.call({ what: `label access key '${keyId}'` }, () => this.clients.iam.send(new TagUserCommand({ UserName, Tags: labelled })));
    return {
      apiKey: `${keyId}:${created.SecretAccessKey}`,
      keyId,
      ...(user.Arn ? { principal: user.Arn } : {}),
      attributes: { accessKeyId: keyId },
    };
  }

  async verify(apiKey: string): Promise<VerifiedKey> {
    const credentials = parseAwsAccessKey(apiKey);
    const sts = this.clients.sts(credentials);
    const sent = [apiKey, credentials.accessKeyId, credentials.secretAccessKey];
    try {
      const me = await this.call({ what: 'verify access key (GetCallerIdentity)', verifying: true, sent }, () =>
        sts.send(new GetCallerIdentityCommand({})),
      );
      return me.Arn ? { principal: me.Arn } : {};
    } finally {
      sts.destroy();
    }
  }

  /** `DeleteAccessKey`. The key's label tag is removed at the next issue: one call here, nothing half-done. */
  async revoke(keyId: string): Promise<void> {
    const command = new DeleteAccessKeyCommand({ UserName: this.userName, AccessKeyId: keyId });
    await this.call({ what: 'delete access key', keyId }, () => this.clients.iam.send(command));
  }

  async list(): Promise<ProviderKey[]> {
    const [keys, user] = await Promise.all([this.listKeys(), this.getUser()]);
    const tags = tagMap(user.Tags);
    const intent = tags[ISSUING_TAG] || undefined;
    const known = new Set(words(tags[ISSUING_KNOWN_TAG]));
    return keys.map((k) => {
      const keyId = k.AccessKeyId as string;
      const label = tags[LABEL_TAG_PREFIX + keyId] ?? (known.has(keyId) ? undefined : intent);
      return {
        keyId,
        ...(label === undefined ? {} : { label }),
        status: k.Status === 'Inactive' ? ('disabled' as const) : ('active' as const),
        ...(k.CreateDate ? { createdAt: k.CreateDate.getTime() } : {}),
      };
    });
  }

  /** `UpdateAccessKey Status=Inactive`. */
  async disable(keyId: string): Promise<void> {
    await this.setStatus(keyId, 'Inactive');
  }

  /** `UpdateAccessKey Status=Active`. */
  async enable(keyId: string): Promise<void> {
    await this.setStatus(keyId, 'Active');
  }

  /** `GetAccessKeyLastUsed`. IAM records use with a delay of minutes to hours: keep `usageHold.quietPeriod` in hours. */
  async lastUsed(keyId: string): Promise<number | null> {
    const command = new GetAccessKeyLastUsedCommand({ AccessKeyId: keyId });
    const out = await this.call({ what: 'read access key last use', keyId }, () => this.clients.iam.send(command));
    return out.AccessKeyLastUsed?.LastUsedDate?.getTime() ?? null;
  }

  private get userName(): string {
    return this.settings.userName;
  }

  private async setStatus(keyId: string, Status: 'Active' | 'Inactive'): Promise<void> {
    const command = new UpdateAccessKeyCommand({ UserName: this.userName, AccessKeyId: keyId, Status });
    await this.call({ what: `set access key ${Status}`, keyId }, () => this.clients.iam.send(command));
  }

  private async getUser(): Promise<User> {
    const command = new GetUserCommand({ UserName: this.userName });
    const { User: user } = await this.call({ what: 'read IAM user' }, () => this.clients.iam.send(command));
    if (!user) throw new ProviderResponseError(TYPE, `read IAM user: the answer for '${this.userName}' has no User`);
    return user;
  }

  private listKeys(): Promise<AccessKeyMetadata[]> {
    return paginate<AccessKeyMetadata, string>(TYPE, async (Marker) => {
      const command = new ListAccessKeysCommand({ UserName: this.userName, Marker });
      const page = await this.call({ what: 'list access keys' }, () => this.clients.iam.send(command));
      return { items: (page.AccessKeyMetadata ?? []).filter((k) => k.AccessKeyId), next: page.IsTruncated ? page.Marker : undefined };
    });
  }

  /** One SDK call, its failure mapped onto the provider errors. */
  private async call<T>(ctx: CallContext, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.mapError(err, ctx);
    }
  }

  private mapError(err: unknown, ctx: CallContext): Error {
    if (err instanceof ProviderError || err instanceof ConfigError) return err;
    const code = awsCode(err);
    const status = httpStatus(err);
    // AWS's text is redacted like any provider's, and the SDK error is not kept as `cause` (loggers print causes):
    // the admin credential's parts are not known here, so the token rule is what removes them.
    const sent = ctx.sent ?? [];
    const detail = redactProviderText(err instanceof Error ? err.message : describeError(err), sent);
    const said = `${ctx.what}: ${code || 'error'}${status === undefined ? '' : ` (HTTP ${status})`}: ${detail}`;
    const options = { status, providerCode: redactProviderCode(code, sent) };
    if (code === 'NoSuchEntity' || code === 'NoSuchEntityException') {
      if (ctx.keyId !== undefined) {
        const gone = `access key '${ctx.keyId}' of user '${this.userName}' does not exist (already deleted?)`;
        return new KeyNotFoundError(TYPE, `${said}: ${gone}`, options);
      }
      return new ConfigError(
        `provider '${TYPE}' setting 'userName': IAM user '${this.userName}' does not exist (${code}); create it or fix the setting`,
      );
    }
    if (ctx.quota && (code === 'LimitExceeded' || code === 'LimitExceededException')) {
      return new QuotaExceededError(
        TYPE,
        `${said}: IAM user '${this.userName}' holds ${QUOTA} access keys (inactive keys count); let the revoker delete the previous key`,
        { ...options, quota: QUOTA },
      );
    }
    if (isThrottling(err)) return new ThrottledError(TYPE, `${said}: throttled, retry with back-off`, options);
    if ((status !== undefined && status >= 500) || (status === undefined && isTransient(err))) {
      return new ProviderUnavailableError(TYPE, `${said}: IAM/STS failed or could not be reached, retry later`, options);
    }
    if (ctx.verifying && (AUTH_ERRORS.has(code) || status === 401 || status === 403)) {
      return new ProviderAuthError(TYPE, `${said}: the key was rejected (a new key takes seconds to work in IAM)`, options);
    }
    if (AUTH_ERRORS.has(code) || status === 401 || status === 403) {
      const who = this.settings.credentials === 'admin-secret' ? 'the access key in the admin secret' : "the function's role";
      return new ProviderAuthError(
        TYPE,
        `${said}: ${who} was rejected or lacks permission; it needs ${AWS_IAM_ACTIONS.join(', ')} on user '${this.userName}'`,
        options,
      );
    }
    return new ProviderResponseError(TYPE, `${said}: unexpected answer`, options);
  }
}

/** Registry entry for `aws-iam`. See {@link AWS_IAM_API}. */
export const awsIamProvider: ProviderDefinition = {
  apiHosts: [], // the AWS SDK picks IAM's endpoint; no baseUrl setting
  type: TYPE,
  settings: stringSettings(Settings),
  capabilities: { disable: true, lastUsed: true },
  quota: QUOTA,
  needsAdminSecret: false,
  create: (context) => new AwsIamAccessKeys(Settings.parse(context.settings), context),
};
