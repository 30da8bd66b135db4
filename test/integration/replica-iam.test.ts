import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../lib/config';
import type { LocalCredentials } from '../../local/iam/principals';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { registerSecret } from '../support/leak-guard';

// Replicas under the local IAM: what readers, on-call and outsiders may do in the replica region is what the
// synthesized replica stack (its KMS key policy), the secret's resource policy (written with Resource "*", copied to
// the replica) and the engine's replica statements allow; moto alone would answer everyone.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const REPLICA = 'us-west-2';
const READER = 'arn:aws:iam::123456789012:role/payments-app-west';
const config = resolveConfig({
  defaults: { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/replica-iam', gracePeriod: '1h' },
  keys: { 'payments/api': { rotateEvery: '7d', replicaRegions: [REPLICA] }, 'search/api': { rotateEvery: '7d', replicaRegions: [REPLICA] } },
  readers: [{ principal: READER, keys: ['payments/*'] }],
});
let stack: LocalStack;
const clients: SecretsManagerClient[] = [];

function sm(credentials: LocalCredentials, region = REPLICA): SecretsManagerClient {
  const client = new SecretsManagerClient({ region, endpoint: stack.endpoint, credentials, maxAttempts: 1 });
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

describe('local IAM in a replica region', () => {
  it('lets a reader read its key from the replica (resource policy "*" and the replica key\'s policy through that region\'s Secrets Manager)', async () => {
    // Act
    const read = await sm(as('reader-1')).send(new GetSecretValueCommand({ SecretId: 'payments/api', VersionStage: 'AWSCURRENT' }));
    // Assess
    expect(read.ARN).toMatch(new RegExp(`^arn:aws:secretsmanager:${REPLICA}:`));
    expect(stack.info.replicaRegions).toEqual([REPLICA]);
  });

  it('refuses the reader a replica of a key it may not read, and an outsider every replica', async () => {
    await expect(sm(as('reader-1')).send(new GetSecretValueCommand({ SecretId: 'search/api' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(sm(as('outsider')).send(new GetSecretValueCommand({ SecretId: 'payments/api' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('lets on-call describe a replica (status shows each region), never read its value', async () => {
    await expect(sm(as('oncall')).send(new DescribeSecretCommand({ SecretId: 'payments/api' }))).resolves.toMatchObject({ PrimaryRegion: 'us-east-1' });
    await expect(sm(as('oncall')).send(new GetSecretValueCommand({ SecretId: 'payments/api' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});
