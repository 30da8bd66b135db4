import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateSecretCommand, TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsToTags, TAGS } from '../../core/state';
import type { RevokerRequest } from '../../lambda/revoker/protocol';
import { LOCAL_CREDENTIALS, LOCAL_FUNCTIONS, LOCAL_REGION } from '../../local/stack';
import { TEST_ADMIN_SECRET, uniqueName, useLocalStack } from '../support/local-stack';

// The critical finding of issue 13, as an outsider would try it on the local stack: a forged secret wearing keyrelay's
// tags, and a declared secret retagged, both with `keyrelay:provider:baseUrl` pointing at a listener of theirs.
const local = useLocalStack({ speed: 0, reconcileEveryMs: 0, logger: new Logger({ serviceName: 'keyrelay', logLevel: 'CRITICAL' }) });

let listener: Server;
let listenerUrl = '';
const received: Array<{ url?: string; authorization?: string }> = [];
let lambda: LambdaClient | undefined;

beforeAll(async () => {
  listener = createServer((req: IncomingMessage, res) => {
    received.push({ url: req.url, authorization: req.headers.authorization });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
});
afterAll(async () => {
  lambda?.destroy();
  await new Promise((resolve) => listener.close(resolve));
});

async function invoke(request: RevokerRequest): Promise<{ failed: boolean; text: string }> {
  lambda ??= new LambdaClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: local.stack.endpoint });
  const out = await lambda.send(new InvokeCommand({ FunctionName: LOCAL_FUNCTIONS.revoker, Payload: JSON.stringify(request) }));
  return { failed: out.FunctionError !== undefined, text: new TextDecoder().decode(out.Payload) };
}

describe('Trust: tags never steer the functions', () => {
  it('sends the admin credential nowhere a forged secret or a retagged base URL points', async () => {
    // Prepare: a forged secret with keyrelay's tags, and a declared key whose base URL tag is rewritten
    const forged = uniqueName('forged');
    await local.sm().send(
      new CreateSecretCommand({
        Name: forged,
        Tags: settingsToTags({
          provider: 'reference', providerSettings: { baseUrl: listenerUrl }, adminSecret: TEST_ADMIN_SECRET,
          gracePeriod: 3600, revoker: LOCAL_FUNCTIONS.revoker,
        }),
      }),
    );
    const declared = await local.addKey('retagged');
    await local.sm().send(new TagResourceCommand({ SecretId: declared, Tags: [{ Key: `${TAGS.providerSetting}baseUrl`, Value: listenerUrl }] }));

    // Act: the hourly sweep, and on-call actions on both
    await invoke({ action: 'reconcile' });
    await invoke({ action: 'reconcile', secretId: forged });
    await invoke({ action: 'inspect', secretId: declared });
    await invoke({ action: 'inspect', secretId: forged });

    // Assess
    expect(received).toEqual([]);
  });

  it('refuses the forged secret by name and keeps serving the declared one from the manifest', async () => {
    // Prepare
    const forged = uniqueName('forged');
    await local.sm().send(
      new CreateSecretCommand({
        Name: forged,
        Tags: settingsToTags({ provider: 'reference', providerSettings: {}, gracePeriod: 3600, revoker: LOCAL_FUNCTIONS.revoker }),
      }),
    );
    const declared = await local.addKey('mirror');
    await local.sm().send(new TagResourceCommand({ SecretId: declared, Tags: [{ Key: TAGS.gracePeriod, Value: '0' }] }));

    // Act
    const refused = await invoke({ action: 'inspect', secretId: forged });
    const served = await invoke({ action: 'inspect', secretId: declared });

    // Assess
    expect(refused.failed).toBe(true);
    expect(refused.text).toContain('SecretNotDeclared');
    expect(served.failed).toBe(false);
  });
});
