import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isTransient } from '../../core/retry';
import { runtimeFromEnv } from '../../lambda/runtime';

// A Secrets Manager endpoint that accepts connections and never answers: what a function in a VPC without an
// endpoint or NAT sees. Without client timeouts a call waits until Lambda kills the function, and the step never
// reports which call hung.
const saved = { ...process.env };
const sockets = new Set<Socket>();
let server: Server | undefined;

afterEach(async () => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function blackHole(): Promise<string> {
  server = createServer((socket) => void sockets.add(socket));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

/** A manifest declaring no key: the runtime fails closed without one. */
function emptyManifest(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'keyrelay-manifest-')), 'manifest.json');
  writeFileSync(path, JSON.stringify({ version: 1, keys: {}, allowedOrigins: [] }));
  return path;
}

describe('Function: runtimeFromEnv', () => {
  it('gives every AWS call a timeout, so a missing network path fails the step with a transient TimeoutError', async () => {
    // Prepare
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: await blackHole(),
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      KEYRELAY_MANIFEST: emptyManifest(),
    });
    const runtime = runtimeFromEnv(process.env, { connectionTimeout: 200, requestTimeout: 200 });

    // Act
    const error = await runtime.sm.send(new DescribeSecretCommand({ SecretId: 'app/key' })).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(isTransient(error)).toBe(true);
  });
});
