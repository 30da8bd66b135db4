import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  IAMClient,
  LimitExceededException,
  ListAccessKeysCommand,
  NoSuchEntityException,
  TagUserCommand,
  UntagUserCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../core/errors';
import {
  createProvider,
  KeyNotFoundError,
  PROVIDERS,
  ProviderAuthError,
  ProviderResponseError,
  ProviderUnavailableError,
  QuotaExceededError,
  ThrottledError,
} from '../../../lambda/providers';
import {
  AWS_IAM_ACTIONS,
  AwsIamAccessKeys,
  ISSUING_KNOWN_TAG,
  ISSUING_TAG,
  LABEL_TAG_PREFIX,
  parseAwsAccessKey,
  type AwsKeyCredentials,
} from '../../../lambda/providers/aws-iam';
import { FakeClock } from '../../support/fake-clock';
import { secretValue } from '../../support/leak-guard';

const USER = 'ci-deployer';
const ARN = `arn:aws:iam::123456789012:user/${USER}`;
const LABEL = 'keyrelay/ci/deployer/7f1c2a9e-0b1d-4c4e-9a55-2f3d1e6b8c01';
const NEW_ID = 'TESTKEYNEWKEY0000000001';
const OLD_ID = 'TESTKEYOLDKEY0000000001';
const SECRET = secretValue('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
const iam = mockClient(IAMClient);
const sts = mockClient(STSClient);
let signedWith: AwsKeyCredentials[] = [];

function awsError(name: string, status: number, message = `${name} happened`): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

function adapter(): AwsIamAccessKeys {
  const context = { settings: {}, clock: new FakeClock(), adminCredential: () => Promise.reject(new Error('unused')) };
  return new AwsIamAccessKeys({ userName: USER }, context, {
    iam: new IAMClient({ region: 'us-east-1' }),
    sts: (credentials) => {
      signedWith.push(credentials);
      return new STSClient({ region: 'us-east-1', credentials });
    },
  });
}

function userWithTags(tags: Record<string, string> = {}) {
  return { User: { UserName: USER, UserId: 'AIDA1', Path: '/', Arn: ARN, CreateDate: new Date(0), Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } };
}

function keys(...list: Array<[string, 'Active' | 'Inactive']>) {
  return { AccessKeyMetadata: list.map(([AccessKeyId, Status]) => ({ UserName: USER, AccessKeyId, Status, CreateDate: new Date(1_700_000_000_000) })), IsTruncated: false };
}

beforeEach(() => {
  iam.reset();
  sts.reset();
  signedWith = [];
});

afterEach(() => {
  iam.reset();
  sts.reset();
});

describe('Class: AwsIamAccessKeys', () => {
  describe('Method: issue', () => {
    it('writes the intent, creates the key, then labels it and clears the intent', async () => {
      // Prepare
      iam.on(ListAccessKeysCommand).resolves(keys([OLD_ID, 'Active']));
      iam.on(GetUserCommand).resolves(userWithTags({ [LABEL_TAG_PREFIX + OLD_ID]: 'keyrelay/ci/deployer/old' }));
      iam.on(CreateAccessKeyCommand).resolves({ AccessKey: { UserName: USER, AccessKeyId: NEW_ID, SecretAccessKey: SECRET, Status: 'Active' } });

      // Act
      const issued = await adapter().issue({ label: LABEL, replaces: OLD_ID });

      // Assess
      expect(issued).toEqual({ apiKey: `${NEW_ID}:${SECRET}`, keyId: NEW_ID, principal: ARN, attributes: { accessKeyId: NEW_ID } });
      const calls = iam.calls().map((c) => c.args[0].constructor.name);
      expect(calls.slice(2)).toEqual(['TagUserCommand', 'CreateAccessKeyCommand', 'TagUserCommand']);
      expect(iam).toHaveReceivedNthCommandWith(TagUserCommand, 1, {
        UserName: USER,
        Tags: [{ Key: ISSUING_TAG, Value: LABEL }, { Key: ISSUING_KNOWN_TAG, Value: OLD_ID }],
      });
      expect(iam).toHaveReceivedCommandWith(CreateAccessKeyCommand, { UserName: USER });
      expect(iam).toHaveReceivedNthCommandWith(TagUserCommand, 2, {
        UserName: USER,
        Tags: [{ Key: LABEL_TAG_PREFIX + NEW_ID, Value: LABEL }, { Key: ISSUING_TAG, Value: '' }, { Key: ISSUING_KNOWN_TAG, Value: '' }],
      });
      expect(iam).not.toHaveReceivedCommand(UntagUserCommand);
    });

    it('removes the label tags of keys that no longer exist', async () => {
      // Prepare
      iam.on(ListAccessKeysCommand).resolves(keys());
      iam.on(GetUserCommand).resolves(userWithTags({ [LABEL_TAG_PREFIX + OLD_ID]: 'keyrelay/ci/deployer/old', team: 'ci' }));
      iam.on(CreateAccessKeyCommand).resolves({ AccessKey: { UserName: USER, AccessKeyId: NEW_ID, SecretAccessKey: SECRET, Status: 'Active' } });

      // Act
      await adapter().issue({ label: LABEL });

      // Assess
      expect(iam).toHaveReceivedCommandWith(UntagUserCommand, { UserName: USER, TagKeys: [LABEL_TAG_PREFIX + OLD_ID] });
    });

    it('throws QuotaExceededError without creating when the user holds two keys, inactive ones counting', async () => {
      // Prepare
      iam.on(ListAccessKeysCommand).resolves(keys([OLD_ID, 'Inactive'], ['TESTKEYCURRENT000000001', 'Active']));
      iam.on(GetUserCommand).resolves(userWithTags());

      // Act
      const err = await adapter().issue({ label: LABEL }).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(QuotaExceededError);
      expect(err).toMatchObject({ quota: 2, code: 'ProviderQuotaFull' });
      expect((err as Error).message).toMatch(/TESTKEYOLDKEY0000000001 Inactive/);
      expect(iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
      expect(iam).not.toHaveReceivedCommand(TagUserCommand);
    });

    it('maps LimitExceeded from CreateAccessKey to QuotaExceededError', async () => {
      // Prepare
      iam.on(ListAccessKeysCommand).resolves(keys([OLD_ID, 'Active']));
      iam.on(GetUserCommand).resolves(userWithTags());
      iam.on(CreateAccessKeyCommand).rejects(
        new LimitExceededException({ message: 'Cannot exceed quota for AccessKeysPerUser: 2', $metadata: { httpStatusCode: 409 } }),
      );

      // Act
      const err = await adapter().issue({ label: LABEL }).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(QuotaExceededError);
      expect(err).toMatchObject({ quota: 2, status: 409 });
    });

    it('does not call a tag limit on the user a key quota', async () => {
      // Prepare
      iam.on(ListAccessKeysCommand).resolves(keys());
      iam.on(GetUserCommand).resolves(userWithTags());
      iam.on(TagUserCommand).rejects(new LimitExceededException({ message: 'too many tags', $metadata: { httpStatusCode: 409 } }));

      // Act
      const err = await adapter().issue({ label: LABEL }).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(ProviderResponseError);
      expect(iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
    });

    it('refuses a label that cannot be an IAM tag value, before any call', async () => {
      // Act
      const err = await adapter().issue({ label: `keyrelay/${'x'.repeat(250)}/token` }).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/at most 256 characters, got 265.*shorter secret name/);
      expect(iam.calls()).toHaveLength(0);
    });

    it('throws ConfigError naming the setting when the user does not exist', async () => {
      // Prepare
      iam.on(ListAccessKeysCommand).resolves(keys());
      iam.on(GetUserCommand).rejects(new NoSuchEntityException({ message: `The user with name ${USER} cannot be found.`, $metadata: { httpStatusCode: 404 } }));

      // Act / Assess
      await expect(adapter().issue({ label: LABEL })).rejects.toThrow(/setting 'userName': IAM user 'ci-deployer' does not exist/);
    });

    it('throws ProviderAuthError naming the actions the role needs when IAM denies it', async () => {
      // Prepare
      iam.on(ListAccessKeysCommand).rejects(awsError('AccessDenied', 403, 'User: arn:aws:sts::1:assumed-role/fn is not authorized'));
      iam.on(GetUserCommand).resolves(userWithTags());

      // Act
      const err = await adapter().issue({ label: LABEL }).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(ProviderAuthError);
      expect((err as Error).message).toMatch(/the function's role was rejected or lacks permission; it needs iam:CreateAccessKey, .*iam:UntagUser on user 'ci-deployer'/);
    });

    it('fails with ProviderResponseError when CreateAccessKey answers without the secret', async () => {
      // Prepare
      iam.on(ListAccessKeysCommand).resolves(keys());
      iam.on(GetUserCommand).resolves(userWithTags());
      iam.on(CreateAccessKeyCommand).resolves({ AccessKey: { UserName: USER, AccessKeyId: NEW_ID, SecretAccessKey: '', Status: 'Active' } });

      // Act / Assess
      await expect(adapter().issue({ label: LABEL })).rejects.toBeInstanceOf(ProviderResponseError);
    });
  });

  describe('Method: verify', () => {
    it('signs GetCallerIdentity with the key pair and returns the ARN as principal', async () => {
      // Prepare
      sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: ARN, UserId: 'AIDA1' });

      // Act
      const verified = await adapter().verify(`${NEW_ID}:${SECRET}`);

      // Assess
      expect(verified).toEqual({ principal: ARN });
      expect(signedWith).toEqual([{ accessKeyId: NEW_ID, secretAccessKey: SECRET }]);
      expect(sts).toHaveReceivedCommandTimes(GetCallerIdentityCommand, 1);
    });

    it.each([
      ['InvalidClientTokenId', 403],
      ['SignatureDoesNotMatch', 403],
      ['ExpiredToken', 400],
    ])('throws ProviderAuthError on %s (retried by the rotation steps while IAM propagates)', async (name, status) => {
      // Prepare
      sts.on(GetCallerIdentityCommand).rejects(awsError(name, status));

      // Act
      const err = await adapter().verify(`${NEW_ID}:${SECRET}`).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(ProviderAuthError);
      expect((err as Error).message).toMatch(new RegExp(`${name}.*the key was rejected`));
      expect((err as Error).message).not.toContain(SECRET);
    });

    it('keeps the key pair out of the error and its cause when AWS echoes it, keeping the AWS code', async () => {
      // Prepare: an error text quoting what was sent (a proxy or a future AWS message might).
      sts.on(GetCallerIdentityCommand).rejects(awsError('InvalidClientTokenId', 403, `The key ${NEW_ID}:${SECRET} is invalid (id ${NEW_ID})`));

      // Act
      const err = await adapter().verify(`${NEW_ID}:${SECRET}`).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(ProviderAuthError);
      expect(err).toMatchObject({ providerCode: 'InvalidClientTokenId', status: 403 });
      const printed = JSON.stringify({ message: (err as Error).message, cause: String((err as Error).cause), stack: (err as Error).stack });
      expect(printed).not.toContain(SECRET);
      expect(printed).not.toContain(NEW_ID);
    });

    it('throws ProviderAuthError without quoting a value that is not a key pair', async () => {
      // Act
      const err = await adapter().verify(SECRET).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(ProviderAuthError);
      expect((err as Error).message).not.toContain(SECRET);
      expect(sts.calls()).toHaveLength(0);
    });

    it('throws ProviderUnavailableError on a 5xx and on no connection (transient, not an auth failure)', async () => {
      // Prepare
      sts.on(GetCallerIdentityCommand)
        .rejectsOnce(awsError('InternalFailure', 500))
        .rejectsOnce(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }));

      // Act
      const first = await adapter().verify(`${NEW_ID}:${SECRET}`).catch((e: unknown) => e);
      const second = await adapter().verify(`${NEW_ID}:${SECRET}`).catch((e: unknown) => e);

      // Assess
      expect(first).toBeInstanceOf(ProviderUnavailableError);
      expect(first).toMatchObject({ status: 500, transient: true });
      expect(second).toBeInstanceOf(ProviderUnavailableError);
    });
  });

  describe('Method: revoke', () => {
    it('deletes the key with DeleteAccessKey', async () => {
      // Prepare
      iam.on(DeleteAccessKeyCommand).resolves({});

      // Act
      await adapter().revoke(OLD_ID);

      // Assess
      expect(iam).toHaveReceivedCommandWith(DeleteAccessKeyCommand, { UserName: USER, AccessKeyId: OLD_ID });
      expect(iam.calls()).toHaveLength(1);
    });

    it('throws KeyNotFoundError when the key is already gone', async () => {
      // Prepare
      iam.on(DeleteAccessKeyCommand).rejects(new NoSuchEntityException({ message: 'gone', $metadata: { httpStatusCode: 404 } }));

      // Act
      const err = await adapter().revoke(OLD_ID).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(KeyNotFoundError);
      expect((err as Error).message).toMatch(/access key 'TESTKEYOLDKEY0000000001' of user 'ci-deployer' does not exist/);
    });

    it('throws ThrottledError on IAM throttling', async () => {
      // Prepare
      iam.on(DeleteAccessKeyCommand).rejects(awsError('Throttling', 400, 'Rate exceeded'));

      // Act / Assess
      await expect(adapter().revoke(OLD_ID)).rejects.toBeInstanceOf(ThrottledError);
    });
  });

  describe('Method: list', () => {
    it('follows every page and labels keys from the user tags', async () => {
      // Prepare
      iam.on(ListAccessKeysCommand, { UserName: USER, Marker: undefined }).resolves({ ...keys([OLD_ID, 'Inactive']), IsTruncated: true, Marker: 'page-2' });
      iam.on(ListAccessKeysCommand, { UserName: USER, Marker: 'page-2' }).resolves(keys([NEW_ID, 'Active']));
      iam.on(GetUserCommand).resolves(userWithTags({ [LABEL_TAG_PREFIX + NEW_ID]: LABEL, [`${LABEL_TAG_PREFIX}TESTKEYGONE000000000001`]: 'x' }));

      // Act
      const listed = await adapter().list();

      // Assess
      expect(listed).toEqual([
        { keyId: OLD_ID, status: 'disabled', createdAt: 1_700_000_000_000 },
        { keyId: NEW_ID, label: LABEL, status: 'active', createdAt: 1_700_000_000_000 },
      ]);
      expect(iam).toHaveReceivedCommandTimes(ListAccessKeysCommand, 2);
    });

    it('gives an in-flight intent label to an unlabelled key that was not known before the issue', async () => {
      // Prepare
      iam.on(ListAccessKeysCommand).resolves(keys([OLD_ID, 'Active'], [NEW_ID, 'Active']));
      iam.on(GetUserCommand).resolves(userWithTags({ [ISSUING_TAG]: LABEL, [ISSUING_KNOWN_TAG]: OLD_ID }));

      // Act
      const listed = await adapter().list();

      // Assess
      expect(listed.map((k) => [k.keyId, k.label])).toEqual([[OLD_ID, undefined], [NEW_ID, LABEL]]);
    });

    it('ignores a cleared intent', async () => {
      // Prepare
      iam.on(ListAccessKeysCommand).resolves(keys([NEW_ID, 'Active']));
      iam.on(GetUserCommand).resolves(userWithTags({ [ISSUING_TAG]: '', [ISSUING_KNOWN_TAG]: '' }));

      // Act / Assess
      expect((await adapter().list())[0]?.label).toBeUndefined();
    });
  });

  describe('Methods: disable, enable', () => {
    it('sets the key Inactive, then Active, with UpdateAccessKey', async () => {
      // Prepare
      iam.on(UpdateAccessKeyCommand).resolves({});
      const provider = adapter();

      // Act
      await provider.disable(OLD_ID);
      await provider.enable(OLD_ID);

      // Assess
      expect(iam).toHaveReceivedNthCommandWith(UpdateAccessKeyCommand, 1, { UserName: USER, AccessKeyId: OLD_ID, Status: 'Inactive' });
      expect(iam).toHaveReceivedNthCommandWith(UpdateAccessKeyCommand, 2, { UserName: USER, AccessKeyId: OLD_ID, Status: 'Active' });
    });

    it('throws KeyNotFoundError when the key is gone', async () => {
      // Prepare
      iam.on(UpdateAccessKeyCommand).rejects(new NoSuchEntityException({ message: 'gone', $metadata: { httpStatusCode: 404 } }));

      // Act / Assess
      await expect(adapter().disable(OLD_ID)).rejects.toBeInstanceOf(KeyNotFoundError);
    });
  });

  describe('Method: lastUsed', () => {
    it('returns the last use in ms, and null for a key never used', async () => {
      // Prepare
      iam.on(GetAccessKeyLastUsedCommand, { AccessKeyId: OLD_ID }).resolves({
        UserName: USER,
        AccessKeyLastUsed: { LastUsedDate: new Date(1_700_000_100_000), ServiceName: 's3', Region: 'eu-west-1' },
      });
      iam.on(GetAccessKeyLastUsedCommand, { AccessKeyId: NEW_ID }).resolves({ UserName: USER, AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' } });

      // Act
      const used = await adapter().lastUsed(OLD_ID);
      const never = await adapter().lastUsed(NEW_ID);

      // Assess
      expect(used).toBe(1_700_000_100_000);
      expect(never).toBeNull();
    });

    it('throws KeyNotFoundError for a deleted key', async () => {
      // Prepare
      iam.on(GetAccessKeyLastUsedCommand).rejects(new NoSuchEntityException({ message: 'gone', $metadata: { httpStatusCode: 404 } }));

      // Act / Assess
      await expect(adapter().lastUsed(OLD_ID)).rejects.toBeInstanceOf(KeyNotFoundError);
    });
  });
});

describe('Function: parseAwsAccessKey', () => {
  it('splits the value on the first colon', () => {
    expect(parseAwsAccessKey(`${NEW_ID}:${SECRET}`)).toEqual({ accessKeyId: NEW_ID, secretAccessKey: SECRET });
  });

  it.each(['', ':secret', `${NEW_ID}:`, 'no-colon'])('throws on %j', (value) => {
    expect(() => parseAwsAccessKey(value)).toThrow(ProviderAuthError);
  });
});

describe('Registry: aws-iam', () => {
  it('declares quota 2, disable, last use, and no admin secret', () => {
    expect(PROVIDERS['aws-iam']).toMatchObject({ quota: 2, capabilities: { disable: true, lastUsed: true }, needsAdminSecret: false });
    expect(AWS_IAM_ACTIONS).not.toContain('iam:*');
  });

  it.each([
    [{}, /setting 'userName'/],
    [{ userName: 'a,b' }, /setting 'userName'.*commas/],
    [{ userName: 'ci', credentials: 'root' }, /setting 'credentials'/],
    [{ userName: 'ci', endpoint: 'ftp://x' }, /setting 'endpoint'/],
    [{ userName: 'ci', region: 'mars' }, /setting 'region'/],
    [{ userName: 'ci', roleArn: 'arn:aws:iam::1:role/x' }, /roleArn|Unrecognized/],
  ])('rejects settings %j with a ConfigError naming the setting', (settings, message) => {
    const make = () => createProvider('aws-iam', { settings: settings as Record<string, string>, clock: new FakeClock(), adminCredential: async () => '' });
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(message);
  });
});
