import { request } from 'node:http';
import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { secretValue } from '../support/leak-guard';
import { uniqueName, useLocalStack } from '../support/local-stack';

// The local endpoint forwards AWS API calls to moto, and nothing else: moto's own API (`/moto-api/...`) would hand out
// every secret value, and a request naming another Host is a DNS-rebinding page in a browser, not an AWS client.
const local = useLocalStack({ reconcileEveryMs: 0 });

/** One raw HTTP request to the endpoint, with the Host header we choose (fetch would not let a test forge it). */
function raw(path: string, headers: Record<string, string> = {}, method = 'GET', body = ''): Promise<{ status: number; text: string }> {
  const url = new URL(local.stack.endpoint);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

/** What an AWS SDK sends, signed by the deployer's key (the local IAM attributes by it; no signature is checked). */
const signed = (target: string) => ({
  authorization: 'AWS4-HMAC-SHA256 Credential=keyrelay-local/20261204/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature=0',
  'x-amz-date': '20261204T000000Z',
  'x-amz-target': target,
  'content-type': 'application/x-amz-json-1.1',
});

describe('Local endpoint: what it forwards to moto', () => {
  it("refuses moto's own API, which would return every secret value", async () => {
    // Prepare
    const name = uniqueName('guard/data');
    const value = secretValue(`guard-value-${Math.random().toString(36).slice(2)}-0123456789`);
    await local.sm().send(new CreateSecretCommand({ Name: name, SecretString: value }));

    // Act
    const data = await raw('/moto-api/data.json');
    const reset = await raw('/moto-api/reset', {}, 'POST');

    // Assess
    expect(data.status).toBe(403);
    expect(data.text).not.toContain(value);
    expect(reset.status).toBe(403);
    await expect(local.sm().send(new GetSecretValueCommand({ SecretId: name }))).resolves.toMatchObject({ SecretString: value });
  });

  it('refuses a request that is not an AWS API call (unsigned)', async () => {
    const res = await raw('/', { 'x-amz-target': 'secretsmanager.ListSecrets', 'content-type': 'application/x-amz-json-1.1' }, 'POST', '{}');
    expect(res.status).toBe(403);
    expect(res.text).toMatch(/not an AWS API call/);
  });

  it('refuses a request whose Host is not the endpoint (DNS rebinding), even a signed one and the admin API', async () => {
    // Act
    const api = await raw('/', { ...signed('secretsmanager.ListSecrets'), host: 'attacker.example:80' }, 'POST', '{}');
    const admin = await raw('/_keyrelay/state', { host: 'attacker.example' });

    // Assess
    expect(api.status).toBe(403);
    expect(api.text).toMatch(/Host 'attacker.example:80' is not this endpoint/);
    expect(admin.status).toBe(403);
  });

  it('still forwards signed AWS calls with its own Host, and serves its admin API', async () => {
    // Act
    const api = await raw('/', { ...signed('secretsmanager.ListSecrets'), host: new URL(local.stack.endpoint).host }, 'POST', '{}');
    const admin = await raw('/_keyrelay/state');

    // Assess
    expect(api.status).toBe(200);
    expect(JSON.parse(api.text)).toHaveProperty('SecretList');
    expect(admin.status).toBe(200);
  });
});
