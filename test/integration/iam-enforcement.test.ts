import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../lib/config';
import { functionCredentials, type LocalCredentials } from '../../local/iam/principals';
import { LOCAL_FUNCTIONS, LOCAL_REGION, startLocalStack, type LocalStack } from '../../local/stack';
import { registerSecret } from '../support/leak-guard';

// The local endpoint is as strict as AWS where moto is not: every request is judged by the policies `cdk synth` makes
// of the config being run, as the principal whose access key signed it. moto alone answers all of these.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const READER = 'arn:aws:iam::123456789012:role/payments-app';
const config = resolveConfig({
  defaults: { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/iam-test', gracePeriod: '1h' },
  keys: { 'payments/api': { rotateEvery: '7d' }, 'search/api': { rotateEvery: '7d' } },
  readers: [{ principal: READER, keys: ['payments/*'] }],
});
let stack: LocalStack;
const clients: Array<{ destroy(): void }> = [];

function sm(credentials: LocalCredentials, endpoint = stack.endpoint): SecretsManagerClient {
  const client = new SecretsManagerClient({ region: LOCAL_REGION, endpoint, credentials, maxAttempts: 1 });
  clients.push(client);
  return client;
}
const as = (name: string): LocalCredentials => {
  const p = stack.info.principals[name];
  if (!p) throw new Error(`no principal ${name}`);
  return p;
};

beforeAll(async () => {
  stack = await startLocalStack({ config, onIssue: registerSecret, quota: 100, reconcileEveryMs: 0, retryDelaysMs: [] });
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.destroy();
  await stack?.stop();
});

describe('local IAM at the endpoint', () => {
  it('lists every principal with its credentials in the ready JSON', () => {
    // Assess
    expect(stack.info.iam).toBe(true);
    expect(Object.keys(stack.info.principals).sort()).toEqual(['admin', 'oncall', 'outsider', 'reader-1', 'revoker', 'rotation', 'scheduler']);
    expect(stack.info.principals['reader-1']?.arn).toBe(READER);
    expect(stack.info.principals.rotation?.accessKeyId).toBe(functionCredentials('rotation').accessKeyId);
  });

  it('refuses an outsider of the account a key value, in AWS\'s words, where moto would answer', async () => {
    // Act
    const refused = sm(as('outsider')).send(new GetSecretValueCommand({ SecretId: 'payments/api' }));
    // Assess
    await expect(refused).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
      message: expect.stringMatching(
        /^User: arn:aws:iam::123456789012:user\/keyrelay-outsider is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:payments\/api-\w{6} because no identity-based policy allows the secretsmanager:GetSecretValue action$/,
      ),
    });
    // moto itself is lenient: the same request straight to it is served.
    await expect(sm(as('outsider'), stack.info.moto).send(new DescribeSecretCommand({ SecretId: 'payments/api' }))).resolves.toMatchObject({ Name: 'payments/api' });
  });

  it('refuses a request signed with an access key no principal has, as AWS does', async () => {
    // Act
    const refused = sm({ accessKeyId: 'AKIAUNKNOWN0000000', secretAccessKey: 'x' }).send(new DescribeSecretCommand({ SecretId: 'payments/api' }));
    // Assess
    await expect(refused).rejects.toMatchObject({ name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
  });

  it('lets a reader read only its own keys', async () => {
    // Act
    const own = await sm(as('reader-1')).send(new GetSecretValueCommand({ SecretId: 'payments/api' }));
    // Assess
    expect(own.SecretString).toBeDefined();
    await expect(sm(as('reader-1')).send(new GetSecretValueCommand({ SecretId: 'search/api' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('refuses on-call a key value, but lets it inspect the key', async () => {
    // Act
    const described = await sm(as('oncall')).send(new DescribeSecretCommand({ SecretId: 'payments/api' }));
    // Assess
    expect(described.Name).toBe('payments/api');
    await expect(sm(as('oncall')).send(new GetSecretValueCommand({ SecretId: 'payments/api' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it("refuses the functions keyrelay's settings tags and any secret this deployment does not manage (tag conditions)", async () => {
    // Prepare
    await sm(as('admin')).send(new CreateSecretCommand({ Name: 'other-team/db', SecretString: 'x' }));
    const rotation = sm(functionCredentials('rotation'));
    // Act
    const settings = rotation.send(new TagResourceCommand({ SecretId: 'payments/api', Tags: [{ Key: 'keyrelay:grace-period', Value: '1' }] }));
    // Assess
    await expect(settings).rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('secretsmanager:TagResource') });
    await expect(rotation.send(new GetSecretValueCommand({ SecretId: 'other-team/db' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(rotation.send(new TagResourceCommand({ SecretId: 'payments/api', Tags: [{ Key: 'keyrelay:key:test', Value: 'x' }] }))).resolves.toBeDefined();
  });

  it('lets only on-call and the deployer invoke the revoker', async () => {
    // Prepare
    const invoke = (credentials: LocalCredentials) => {
      const lambda = new LambdaClient({ region: LOCAL_REGION, endpoint: stack.endpoint, credentials, maxAttempts: 1 });
      clients.push(lambda);
      return lambda.send(new InvokeCommand({ FunctionName: LOCAL_FUNCTIONS.revoker, Payload: JSON.stringify({ action: 'inspect', secretId: 'search/api' }) }));
    };
    // Act
    const oncall = await invoke(as('oncall'));
    // Assess
    expect(oncall.FunctionError, Buffer.from(oncall.Payload ?? []).toString()).toBeUndefined();
    await expect(invoke(as('outsider'))).rejects.toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
  });
});
