import { DescribeSecretCommand, GetSecretValueCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeyClient } from '../../client/index';
import { replicaArn } from '../../core/replicas';
import { parseSecretValue, type SecretValue } from '../../core/secret-value';
import { stageHolders } from '../../core/state';
import { REPLICA_RECHECK_MS } from '../../lambda/revoker/replicas';
import { LocalClock } from '../../local/clock';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/stack';
import { useLocalStack } from '../support/local-stack';

// Two regions of the local AWS: the primary (LOCAL_REGION), where rotation runs, and one replica region. moto
// replicates at once; the endpoint's injected lag (local/replicas.ts) freezes the replica so the revoker's hold can be
// seen. The clock is frozen and moves only when a test advances it.
const REPLICA = 'eu-west-1';
const HOUR = 3_600_000;
const local = useLocalStack({ clock: new LocalClock({ speed: 0, start: Math.floor(Date.now() / 1000) * 1000 }), reconcileEveryMs: 0, quota: 1000 });
const clients: SecretsManagerClient[] = [];
afterAll(() => {
  for (const c of clients) c.destroy();
});

function smIn(region: string, credentials = LOCAL_CREDENTIALS): SecretsManagerClient {
  const client = new SecretsManagerClient({ region, credentials, endpoint: local.stack.endpoint });
  clients.push(client);
  return client;
}

async function valueIn(region: string, secretId: string): Promise<SecretValue> {
  const out = await smIn(region).send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }));
  return parseSecretValue(out.SecretString, secretId);
}

async function whoami(apiKey: string): Promise<number> {
  const res = await fetch(`${local.stack.providerUrl}/v1/whoami`, { headers: { authorization: `Bearer ${apiKey}` } });
  await res.arrayBuffer();
  return res.status;
}

async function rotate(name: string): Promise<void> {
  const { VersionId } = await local.sm().send(new RotateSecretCommand({ SecretId: name }));
  await local.waitFor(name, (s) => s[VersionId ?? '']?.includes('AWSCURRENT') === true);
  await local.stack.rotation.settled(name);
}

describe('Replicas in the local AWS', () => {
  it('creates the replica with the secret: the replica region serves the same key, by the same name, under its own ARN', async () => {
    // Prepare
    const name = await local.addKey('replicated', { replicaRegions: [REPLICA] });
    // Act
    const primary = await local.sm().send(new DescribeSecretCommand({ SecretId: name }));
    const replica = await smIn(REPLICA).send(new DescribeSecretCommand({ SecretId: name }));
    // Assess
    expect(primary.ReplicationStatus).toEqual([expect.objectContaining({ Region: REPLICA, Status: 'InSync' })]);
    expect(replica.ARN).toBe(replicaArn(primary.ARN ?? '', REPLICA));
    expect(replica.PrimaryRegion).toBe(LOCAL_REGION);
    expect((await valueIn(REPLICA, name)).keyId).toBe((await valueIn(LOCAL_REGION, name)).keyId);
  });

  it('rotates in the primary; a lagging replica holds the old key\'s revocation until it catches up, then the key is revoked', async () => {
    // Prepare
    const name = await local.addKey('lagging', { replicaRegions: [REPLICA], gracePeriod: '1h' });
    const old = await valueIn(REPLICA, name);
    await local.stack.replicas.lag(REPLICA);
    // Act: a rotation the replica does not receive, and the old key's deadline
    await rotate(name);
    const replicaView = await smIn(REPLICA).send(new DescribeSecretCommand({ SecretId: name }));
    const primaryView = await local.sm().send(new DescribeSecretCommand({ SecretId: name }));
    await local.stack.advance(HOUR + 1000);
    // Assess: the replica still serves the old key, and it is alive
    expect(stageHolders(replicaView.VersionIdsToStages ?? {}).current).not.toBe(stageHolders(primaryView.VersionIdsToStages ?? {}).current);
    expect(primaryView.ReplicationStatus).toEqual([expect.objectContaining({ Region: REPLICA, Status: 'InProgress' })]);
    expect((await valueIn(REPLICA, name)).keyId).toBe(old.keyId);
    expect(await whoami(old.apiKey)).toBe(200);
    const held = (await local.sm().send(new DescribeSecretCommand({ SecretId: name }))).Tags?.find((t) => t.Key === `keyrelay:key:${old.keyId}`);
    expect(held?.Value).toMatch(/^phase=held /);

    // Act: the replica catches up; the next check revokes
    local.stack.replicas.catchUp(REPLICA);
    await local.stack.advance(REPLICA_RECHECK_MS + 1000);
    // Assess
    expect((await valueIn(REPLICA, name)).keyId).not.toBe(old.keyId);
    expect(await whoami(old.apiKey)).toBe(401);
  });

  it("an app in the replica region reads its region's replica, and after the old key is refused reads the primary once", async () => {
    // Prepare: the app (keyrelay's client) reads in the replica region; the replica lags behind a rotation
    const name = await local.addKey('app', { replicaRegions: [REPLICA], gracePeriod: '1h' });
    const reads: string[] = [];
    const app = createKeyClient({
      secretsManager: smIn(REPLICA),
      secretsManagerIn: (region) => {
        reads.push(region);
        return smIn(region);
      },
      clock: local.stack.clock,
      ttl: 60,
      staleIfError: 60,
    });
    const old = await app.getApiKey(name);
    await local.stack.advance(61_000);
    await app.getApiKey(name); // the check learns the secret is a replica
    await local.stack.replicas.lag(REPLICA);
    await rotate(name);
    // The leak response: the old key is revoked now, whatever the replica says
    const current = await valueIn(LOCAL_REGION, name);
    const leaked = (await valueIn(REPLICA, name)).keyId;
    const deleted = await fetch(`${local.stack.providerUrl}/v1/keys/${leaked}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${local.stack.provider.adminKeys[0] ?? ''}` },
    });
    await deleted.arrayBuffer();
    expect(deleted.ok).toBe(true);
    const seen: string[] = [];
    // Act
    const status = await app.withApiKey(name, async (key) => {
      seen.push(key === old ? 'old' : key === current.apiKey ? 'new' : 'other');
      const code = await whoami(key);
      if (code !== 200) throw Object.assign(new Error(`HTTP ${code}`), { status: code });
      return code;
    });
    // Assess: one failure with the replica's (old) key, then the primary's key
    expect(status).toBe(200);
    expect(seen).toEqual(['old', 'new']);
    expect(reads).toEqual([LOCAL_REGION]);
    local.stack.replicas.catchUp(REPLICA);
  });
});
