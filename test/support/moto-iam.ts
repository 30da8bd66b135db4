import { randomUUID } from 'node:crypto';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll } from 'vitest';
import { AWS_IAM_ACTIONS, type AwsIamClients, type AwsKeyCredentials } from '../../lambda/providers/aws-iam';
import { startMoto, type MotoServer } from '../../local/moto';
import { registerSecret } from './leak-guard';

/**
 * moto with IAM authentication on, for the `aws-iam` adapter's integration tests. While moto still accepts anything,
 * it creates a bootstrap admin (`Allow *`) and a "function" user whose only policy is {@link AWS_IAM_ACTIONS} (the
 * adapter's documented least privilege; moto checks actions, not the user ARNs a real policy scopes them to), then
 * turns authentication on (`POST /moto-api/reset-auth` with `0`): from then on every call must be signed by a key
 * that exists. Every secret access key minted here is registered with the leak guard.
 */
export interface MotoIam {
  url: string;
  /** Bootstrap admin (Allow *): creates the users the tests rotate. */
  admin: AwsKeyCredentials;
  /** The adapter's credential: only {@link AWS_IAM_ACTIONS}. */
  fn: AwsKeyCredentials;
  /** An IAM client on moto signed with `credentials`. */
  iam(credentials: AwsKeyCredentials): IAMClient;
  /** Adapter clients on moto, IAM signed with `credentials` (default: the function user). */
  clients(credentials?: AwsKeyCredentials): AwsIamClients;
  /** Creates a managed IAM user with a unique name (as the admin) and returns its name. */
  createUser(prefix: string, path?: string): Promise<string>;
}

const REGION = 'us-east-1';

function client<T>(Client: new (config: object) => T, url: string, credentials: AwsKeyCredentials): T {
  return new Client({ region: REGION, endpoint: url, credentials, maxAttempts: 1 });
}

async function userWithKey(iam: IAMClient, UserName: string, actions: readonly string[]): Promise<AwsKeyCredentials> {
  await iam.send(new CreateUserCommand({ UserName }));
  const PolicyDocument = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] });
  await iam.send(new PutUserPolicyCommand({ UserName, PolicyName: 'keyrelay-test', PolicyDocument }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName }))).AccessKey;
  if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error(`moto returned no access key for ${UserName}`);
  registerSecret(key.SecretAccessKey);
  return { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
}

/** Starts moto, bootstraps the admin and function users, and turns authentication on. */
export async function startMotoIam(): Promise<MotoIam & { stop(): Promise<void> }> {
  const moto: MotoServer = await startMoto({ install: false });
  try {
    const open = client(IAMClient, moto.url, { accessKeyId: 'TESTKEYMOTOBOOTSTRAP000', secretAccessKey: 'bootstrap' });
    const admin = await userWithKey(open, 'keyrelay-test-admin', ['*']);
    const fn = await userWithKey(open, 'keyrelay-test-function', AWS_IAM_ACTIONS);
    open.destroy();
    const res = await fetch(`${moto.url}/moto-api/reset-auth`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '0' });
    if (!res.ok) throw new Error(`moto refused to turn authentication on: HTTP ${res.status} ${await res.text()}`);
    const adminIam = client(IAMClient, moto.url, admin);
    return {
      url: moto.url,
      admin,
      fn,
      iam: (credentials) => client(IAMClient, moto.url, credentials),
      clients: (credentials = fn) => ({
        iam: client(IAMClient, moto.url, credentials),
        sts: (key) => client(STSClient, moto.url, key),
      }),
      async createUser(prefix, path) {
        const UserName = `${prefix}-${randomUUID().slice(0, 8)}`;
        await adminIam.send(new CreateUserCommand({ UserName, Path: path }));
        return UserName;
      },
      async stop() {
        adminIam.destroy();
        await moto.stop();
      },
    };
  } catch (err) {
    await moto.stop();
    throw err;
  }
}

/** One {@link startMotoIam} per test file: started in `beforeAll`, stopped in `afterAll`. */
export function useMotoIam(): { readonly moto: MotoIam } {
  let moto: (MotoIam & { stop(): Promise<void> }) | undefined;
  beforeAll(async () => {
    moto = await startMotoIam();
  });
  afterAll(async () => {
    await moto?.stop();
  });
  return {
    get moto() {
      if (!moto) throw new Error('moto is not started yet: use it inside tests or hooks');
      return moto;
    },
  };
}
