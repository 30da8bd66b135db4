import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { createKeyClient } from '../../../client/index';
import { TAGS } from '../../../core/state';
import { FakeClock } from '../../support/fake-clock';
import { mintKey, secretJson, turn } from './fake-secret';

const NAME = 'payments/reference-api';
const PRIMARY = 'us-east-1';
const REPLICA = 'eu-west-1';
const arnIn = (region: string) => `arn:aws:secretsmanager:${region}:123456789012:secret:${NAME}-AbCdEf`;

/**
 * One secret in two regions: the primary (rotated) and the replica the app reads, which shows the versions it had
 * when it last caught up. `primaryRegion` is what both report as `PrimaryRegion`.
 */
function twoRegions(primaryRegion = PRIMARY) {
  const keys = new Map<string, string>([['v1', mintKey('old')]]);
  const state = { primary: 'v1', replica: 'v1', replicaVersions: ['v1'] };
  const primaryReads: Array<{ SecretId?: string; VersionStage?: string }> = [];
  const replicaClient = new SecretsManagerClient({ region: REPLICA });
  const replica = mockClient(replicaClient);
  replica.on(DescribeSecretCommand).callsFake(() => ({
    ARN: arnIn(REPLICA),
    Name: NAME,
    PrimaryRegion: primaryRegion,
    VersionIdsToStages: Object.fromEntries(state.replicaVersions.map((v) => [v, v === state.replica ? ['AWSCURRENT'] : []])),
    Tags: [{ Key: TAGS.managed, Value: 'v1' }, { Key: TAGS.gracePeriod, Value: '86400' }],
  }));
  replica.on(GetSecretValueCommand).callsFake((input: { VersionId?: string }) => {
    const version = input.VersionId ?? state.replica;
    return { VersionId: version, SecretString: secretJson(keys.get(version) ?? '', version) };
  });
  const primaryClient = new SecretsManagerClient({ region: PRIMARY });
  mockClient(primaryClient).on(GetSecretValueCommand).callsFake((input: { SecretId?: string; VersionStage?: string }) => {
    primaryReads.push(input);
    return { VersionId: state.primary, SecretString: secretJson(keys.get(state.primary) ?? '', state.primary) };
  });
  const clock = new FakeClock();
  const regions: string[] = [];
  const client = createKeyClient({
    secretsManager: replicaClient,
    secretsManagerIn: (region) => {
      regions.push(region);
      return primaryClient;
    },
    clock,
    gracePeriod: 86_400,
  });
  return {
    client,
    keys,
    state,
    primaryReads,
    regions,
    /** A rotation in the primary that the replica has not received. */
    rotate(): string {
      const key = mintKey('new');
      keys.set('v2', key);
      state.primary = 'v2';
      return key;
    },
    catchUp(): void {
      state.replica = state.primary;
      state.replicaVersions = [...keys.keys()];
    },
    async elapse(ms: number): Promise<void> {
      await clock.advance(ms);
      await turn();
    },
  };
}

const unauthorized = () => Object.assign(new Error('whoami: HTTP 401'), { status: 401 });

describe('KeyClient with a replica', () => {
  it('reads the primary once after an auth failure a refresh did not cure, and keeps its key while the replica lags', async () => {
    // Prepare: the app read the old key from its region's replica; the primary rotated and the old key is revoked
    const world = twoRegions();
    const oldKey = await world.client.getApiKey(NAME);
    await world.elapse(301_000); // past ttl: the next read checks the replica and learns it is one
    await world.client.getApiKey(NAME);
    await world.elapse(10_000);
    const newKey = world.rotate();
    const seen: string[] = [];

    // Act
    const result = await world.client.withApiKey(NAME, (key) => {
      seen.push(key);
      if (key === oldKey) throw unauthorized();
      return 'ok';
    });

    // Assess: one failure, then the primary's key (read by the primary's ARN, in the primary's region)
    expect(result).toBe('ok');
    expect(seen).toEqual([oldKey, newKey]);
    expect(world.primaryReads).toEqual([{ SecretId: arnIn(PRIMARY), VersionStage: 'AWSCURRENT' }]);
    expect(world.regions).toEqual([PRIMARY]);
    expect(await world.client.getApiKey(NAME)).toBe(newKey);

    // Act: a check while the replica still lags does not go back to the replica's older key
    await world.elapse(301_000);
    await world.client.getApiKey(NAME);
    await world.elapse(1000);
    // Assess
    expect(await world.client.getApiKey(NAME)).toBe(newKey);

    // Act: the replica catches up; checks read it again, the primary is not asked
    world.catchUp();
    await world.elapse(301_000);
    await world.client.getApiKey(NAME);
    await world.elapse(1000);
    // Assess
    expect(await world.client.getApiKey(NAME)).toBe(newKey);
    expect(world.primaryReads).toHaveLength(1);
  });

  it('does not read another region for a secret read in its primary region', async () => {
    // Prepare: PrimaryRegion is the region the app reads in
    const world = twoRegions(REPLICA);
    await world.client.getApiKey(NAME);
    await world.elapse(301_000);
    await world.client.getApiKey(NAME);
    await world.elapse(10_000);
    world.rotate();
    const failure = unauthorized();

    // Act
    const err = await world.client.withApiKey(NAME, () => {
      throw failure;
    }).catch((e: unknown) => e);

    // Assess
    expect(err).toBe(failure);
    expect(world.primaryReads).toEqual([]);
  });

  it('reads the primary at most once per forcedRefreshInterval, and rethrows when the primary has the same key', async () => {
    // Prepare: the replica is in sync; the key is refused for another reason
    const world = twoRegions();
    await world.client.getApiKey(NAME);
    await world.elapse(301_000);
    await world.client.getApiKey(NAME);
    await world.elapse(10_000);
    const failure = unauthorized();
    const fail = () => {
      throw failure;
    };

    // Act
    const first = await world.client.withApiKey(NAME, fail).catch((e: unknown) => e);
    const second = await world.client.withApiKey(NAME, fail).catch((e: unknown) => e);

    // Assess
    expect([first, second]).toEqual([failure, failure]);
    expect(world.primaryReads).toHaveLength(1);
  });
});
