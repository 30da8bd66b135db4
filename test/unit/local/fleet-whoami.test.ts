import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeFleetConnections, whoami } from '../../../local/demo/fleet';

// A server that answers the first request on each connection and resets the connection when it is reused: what a
// keep-alive socket closed by the server's idle timeout looks like to a client that reuses it at that moment.
let server: Server;
let url = '';
let answered = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const served = (req.socket as { served?: number }).served ?? 0;
    (req.socket as { served?: number }).served = served + 1;
    if (served > 0) {
      req.socket.destroy();
      return;
    }
    answered++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  closeFleetConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('Function: whoami (the demo fleet\'s provider call)', () => {
  it('retries once on a fresh socket when a reused keep-alive socket is reset, instead of counting a failed request', async () => {
    // Prepare: the first call leaves its socket in the pool
    expect(await whoami(url, 'rk_test_x')).toBe(200);
    // Act: the second call reuses it and the server resets it
    const status = await whoami(url, 'rk_test_x');
    // Assess
    expect(status).toBe(200);
    expect(answered).toBe(2);
  });
});
