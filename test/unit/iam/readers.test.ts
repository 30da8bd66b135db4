import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config';
import { evaluate, type Caller } from '../../../local/iam/evaluate';
import { synthesizeDeployment, type Deployment } from '../../../local/iam/policies';
import { localPrincipals } from '../../../local/iam/principals';

// A reader's GetSecretValue as AWS judges it (issue 13): `secretsmanager:VersionStage` is in the context only when the
// request names a stage, so the client's read by VersionId carries none.
const env = { account: '123456789012', region: 'eu-west-1' };
const config = loadConfig(new URL('../../../keyrelay.config.json', import.meta.url).pathname);
const secretArn = `arn:aws:secretsmanager:${env.region}:${env.account}:secret:payments/reference-api-AbCdEf`;
let deployment: Deployment;
let reader: Caller;

beforeAll(() => {
  deployment = synthesizeDeployment(config, env);
  const found = localPrincipals(deployment, config).get('reader-1');
  if (!found) throw new Error('the example config has no reader');
  reader = found;
});

async function read(context: Record<string, string>): Promise<string> {
  const resourcePolicy = deployment.secretPolicies.get('payments/reference-api');
  if (!resourcePolicy) throw new Error(`no resource policy for payments/reference-api (have ${[...deployment.secretPolicies.keys()].join(', ')})`);
  const verdict = await evaluate(reader, { action: 'secretsmanager:GetSecretValue', resource: secretArn, context, resourcePolicy }, env.account);
  return verdict.result;
}

describe('local IAM: what a reader may read', () => {
  it.each(['AWSPENDING', 'AWSPREVIOUS'])('refuses a read naming the stage %s', async (stage) => {
    expect(await read({ 'secretsmanager:VersionStage': stage })).not.toBe('Allowed');
  });

  it('allows a read naming AWSCURRENT (the client\'s cold read)', async () => {
    expect(await read({ 'secretsmanager:VersionStage': 'AWSCURRENT' })).toBe('Allowed');
  });

  it("allows a read by VersionId alone (the client's check after DescribeSecret)", async () => {
    expect(await read({ 'secretsmanager:VersionId': 'f3b1c2d4-0000-4000-8000-000000000001' })).toBe('Allowed');
  });
});
