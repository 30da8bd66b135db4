import { DescribeSecretCommand, GetSecretValueCommand, RotateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { ClientOptionsError, createKeyClient, handleKeyRotatedEvent, type KeyClient } from '../../client/index';
import { EVENTS } from '../../core/ports';
import { parseSecretValue } from '../../core/secret-value';
import { LOCAL_FUNCTIONS } from '../../local/stack';
import { proven } from '../support/caller-proof';
import { FAST_LOCAL_STACK, useLocalStack } from '../support/local-stack';

// The application client against the local stack: real SDK over HTTP to the local endpoint, real rotations, the real
// revoker, and the reference provider's GET /v1/whoami as the app's protected call. Time moves by advancing the stack's
// clock (the client reads the same clock); nothing waits for real time.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const local = useLocalStack(FAST_LOCAL_STACK);

/** Status of GET /v1/whoami with `apiKey`. */
async function whoami(apiKey: string): Promise<number> {
  const res = await fetch(`${local.stack.providerUrl}/v1/whoami`, { headers: { authorization: `Bearer ${apiKey}` } });
  await res.arrayBuffer();
  return res.status;
}

/** An application: calls whoami through `withApiKey`, counting refused attempts (inside) and failed calls (outside). */
class App {
  attempts = 0;
  refused = 0;
  failed = 0;
  ok = 0;

  constructor(
    readonly client: KeyClient,
    readonly name: string,
  ) {}

  async call(): Promise<void> {
    try {
      await this.client.withApiKey(this.name, async (key) => {
        this.attempts++;
        const status = await whoami(key);
        if (status !== 200) {
          this.refused++;
          throw Object.assign(new Error(`whoami: HTTP ${status}`), { status });
        }
      });
      this.ok++;
    } catch {
      this.failed++;
    }
  }

  async calls(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await this.call();
  }
}

/** Counts the SDK commands a client sends, by name. */
function countCommands(sm: SecretsManagerClient): Record<string, number> {
  const counts: Record<string, number> = {};
  sm.middlewareStack.add(
    (next, context) => (args) => {
      counts[context.commandName as string] = (counts[context.commandName as string] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return counts;
}

async function currentKey(name: string): Promise<{ apiKey: string; versionId: string }> {
  const out = await local.sm().send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }));
  return { apiKey: parseSecretValue(out.SecretString, name).apiKey, versionId: out.VersionId as string };
}

function clientFor(): { client: KeyClient; counts: Record<string, number> } {
  const sm = local.stack.secretsManager();
  const counts = countCommands(sm);
  return { client: createKeyClient({ secretsManager: sm, clock: local.stack.clock }), counts };
}

/** Emergency rotation as `keyrelay rotate --emergency` does it: rotate, then revoke the previous key at once. */
async function emergencyRotation(name: string): Promise<void> {
  const { VersionId: token } = await local.sm().send(new RotateSecretCommand({ SecretId: name }));
  await local.waitFor(name, (stages) => stages[token as string]?.includes('AWSCURRENT') === true);
  await local.stack.functions.invoke(
    LOCAL_FUNCTIONS.revoker,
    await proven(local.stack.endpoint, { action: 'revokeNow', secretId: name, previous: true, reason: 'client integration test: leaked key', operator: 'test' }),
  );
}

describe('Function: createKeyClient (against the local stack)', () => {
  it('keeps working across a scheduled rotation and the old key’s revocation with zero failed calls', async () => {
    // Prepare: grace period 1 h (the client fits ttl 300 s + staleIfError 900 s into it)
    const name = await local.addKey('client-scheduled', { rotateEvery: '1d' });
    const { client, counts } = clientFor();
    const app = new App(client, name);
    const before = await currentKey(name);
    await app.calls(3);
    const rotateAt = local.stack.rotation.get(name)?.nextRotation as number;

    // Act: jump to just before the rotation, then live through it and the grace period a minute at a time
    await local.stack.advance(rotateAt - local.stack.clock.now() - 120_000);
    let rotatedAfterMs = -1;
    for (let minute = 0; minute < 70; minute++) {
      await local.stack.advance(60_000);
      await app.calls(2);
      if (rotatedAfterMs < 0 && (await client.getApiKey(name)) !== before.apiKey) rotatedAfterMs = local.stack.clock.now() - rotateAt;
    }

    // Assess
    const after = await currentKey(name);
    expect(after.versionId).not.toBe(before.versionId);
    expect(await whoami(before.apiKey)).toBe(401); // the old key was revoked at the end of its grace period
    expect(await client.getApiKey(name)).toBe(after.apiKey);
    expect({ failed: app.failed, refused: app.refused, ok: app.ok }).toEqual({ failed: 0, refused: 0, ok: 143 });
    // Picked up after one ttl (300 s) plus the check's real I/O, which can span steps here (a step is 60 s of clock
    // time but milliseconds of real time); never later than ttl + staleIfError, long before the revocation at 3600 s.
    expect(rotatedAfterMs).toBeGreaterThan(0);
    expect(rotatedAfterMs).toBeLessThan(1_200_000);
    // One cold read, an early check (grace still unknown), then one DescribeSecret per ttl; one read of the new version
    expect(counts.GetSecretValueCommand).toBe(2);
    expect(counts.DescribeSecretCommand).toBeLessThanOrEqual(2 + Math.ceil((72 * 60) / 300));
  });

  it('costs at most one refused attempt and no failed call across an emergency rotation', async () => {
    // Prepare
    const name = await local.addKey('client-emergency');
    const { client, counts } = clientFor();
    const app = new App(client, name);
    await app.calls(5);
    const before = await currentKey(name);

    // Act: the key the client holds is revoked at once; the client's ttl has not run out
    await emergencyRotation(name);
    const oldKeyStatus = await whoami(before.apiKey);
    await app.calls(20);

    // Assess
    expect(oldKeyStatus).toBe(401);
    expect({ failed: app.failed, refused: app.refused, ok: app.ok }).toEqual({ failed: 0, refused: 1, ok: 25 });
    expect(await client.getApiKey(name)).toBe((await currentKey(name)).apiKey);
    expect(counts.DescribeSecretCommand).toBe(1); // the one forced check
  });

  it('costs nothing when the KeyRotated event reaches the app before its next call', async () => {
    // Prepare
    const name = await local.addKey('client-event');
    const { client } = clientFor();
    const app = new App(client, name);
    await app.calls(3);

    // Act
    await emergencyRotation(name);
    const rotated = local.stack.events.filter((e) => e.detail.secretName === name).at(-1);
    const event = { source: EVENTS.source, 'detail-type': EVENTS.keyRotated, detail: rotated?.detail };
    const handled = handleKeyRotatedEvent(JSON.parse(JSON.stringify(event)), client); // as an SQS message body
    await app.calls(10);

    // Assess
    expect(handled).toBe(true);
    expect({ failed: app.failed, refused: app.refused, ok: app.ok }).toEqual({ failed: 0, refused: 0, ok: 13 });
  });

  it('reads the grace period from the secret and refuses options that break it', async () => {
    // Prepare: grace 1 h leaves 3240 s; ask for 3000 s + 900 s
    const name = await local.addKey('client-refused');
    const client = createKeyClient({ secretsManager: local.sm(), clock: local.stack.clock, ttl: 3000, staleIfError: 900 });
    await client.getApiKey(name);
    const described = await local.sm().send(new DescribeSecretCommand({ SecretId: name }));

    // Act: the early check (grace not yet known) learns the tag; reads are served until its answer arrives
    await local.stack.advance(12_500);
    let err: unknown;
    const deadline = Date.now() + 5000;
    while (err === undefined && Date.now() < deadline) {
      err = await client.getApiKey(name).then(
        () => undefined,
        (e: unknown) => e,
      );
      await new Promise((resolve) => setImmediate(resolve)); // lets the check's real I/O progress
    }

    // Assess
    expect(described.Tags).toContainEqual({ Key: 'keyrelay:grace-period', Value: '3600' });
    expect(err).toBeInstanceOf(ClientOptionsError);
    expect((err as Error).message).toMatch(/ttl \(3000 s\) plus staleIfError \(900 s\) must stay within the grace period of 3600 s/);
  });
});
