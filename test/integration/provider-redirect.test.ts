import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProviderResponseError } from '../../lambda/providers/errors';
import { datadogProvider } from '../../lambda/providers/datadog';
import { FakeClock } from '../support/fake-clock';
import { secretValue } from '../support/leak-guard';

const API_KEY = secretValue('redirect-test-dd-api-key-00000001');
const APP_KEY = secretValue('redirect-test-dd-application-key-0001');

const servers: Server[] = [];

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('Class: ProviderHttp', () => {
  describe('Method: request', () => {
    it('throws on a redirect to another origin instead of sending the admin credential headers there', async () => {
      // Prepare: fetch strips only Authorization on a cross-origin redirect, not DD-API-KEY / DD-APPLICATION-KEY.
      const seenByOther: IncomingHttpHeaders[] = [];
      const other = await listen((req, res) => {
        seenByOther.push(req.headers);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[],"meta":{"page":{"total_filtered_count":0}}}');
      });
      const provider = await listen((req, res) => {
        res.writeHead(307, { location: `${other}${req.url ?? '/'}` }).end();
      });
      const adapter = datadogProvider.create({
        settings: { baseUrl: provider },
        adminCredential: async () => JSON.stringify({ apiKey: API_KEY, applicationKey: APP_KEY }),
        clock: new FakeClock(),
      });

      // Act
      const listing = adapter.list();

      // Assess
      await expect(listing).rejects.toThrow(ProviderResponseError);
      await expect(listing).rejects.toThrow(/redirect/);
      expect(seenByOther).toEqual([]);
    });
  });
});
