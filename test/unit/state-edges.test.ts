import { SecretsManagerClient, UntagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  TAGS,
  autoEmergencyTag,
  currentKeyTag,
  deleteKeyRecords,
  managedSecretFrom,
  parseAutoEmergencyNote,
  parseCanaryNote,
  parseKeyRecord,
  parseProviderKeyLabel,
  providerIdentity,
  secretLabelId,
  setFrozen,
  settingsFromTags,
  settingsToTags,
  tagMap,
} from '../../core/state';

// Edges of the state contract no other test reached (issue 14's mutation survivors of core/state.ts): what a tag may
// hold, what reads as a number, which labels are keyrelay's, and when two secrets share a provider adapter.

const sm = mockClient(SecretsManagerClient);
beforeEach(() => sm.reset());

const settings = { provider: 'reference', providerSettings: { baseUrl: 'http://127.0.0.1:9' }, gracePeriod: 3600 };
const tags = (extra: Record<string, string> = {}) => ({ ...tagMap(settingsToTags(settings)), ...extra });

describe('State contract: which secrets share a provider adapter', () => {
  it('is the same identity whatever order the provider settings come in', () => {
    // Prepare: the same three settings in every order
    const orders = [['a', 'b', 'c'], ['a', 'c', 'b'], ['b', 'a', 'c'], ['b', 'c', 'a'], ['c', 'a', 'b'], ['c', 'b', 'a']];
    const identity = (order: string[]) => providerIdentity({ provider: 'p', providerSettings: Object.fromEntries(order.map((k) => [k, `${k}-value`])) });
    // Act
    const identities = new Set(orders.map(identity));
    // Assess
    expect(identities.size).toBe(1);
  });

  it('differs when a setting differs', () => {
    expect(providerIdentity({ provider: 'p', providerSettings: { a: '1', b: '2' } })).not.toBe(
      providerIdentity({ provider: 'p', providerSettings: { a: '1', b: '3' } }),
    );
  });
});

describe('State contract: numbers in tags', () => {
  it.each(['+3600', '3600 ', ' 3600', '1e3', '0x10', '-0'])('refuses %j as a number of seconds (only plain digits)', (raw) => {
    expect(() => settingsFromTags('s', tags({ [TAGS.gracePeriod]: raw }))).toThrow(`tag 'keyrelay:grace-period' must be a whole number of seconds, got '${raw}'`);
  });

  it('reads 0 seconds as 0 (a secret may have no grace period or no observation window)', () => {
    expect(settingsFromTags('s', tags({ [TAGS.gracePeriod]: '0', [TAGS.observation]: '0' }))).toMatchObject({ gracePeriod: 0, observation: 0 });
  });

  it('names the grace-period tag when it is missing', () => {
    const { [TAGS.gracePeriod]: _dropped, ...rest } = tags();
    expect(() => settingsFromTags('s', rest)).toThrow("secret 's': tag 'keyrelay:grace-period' is missing");
  });
});

describe('State contract: malformed key records and notes', () => {
  it.each([
    ['an unknown phase', 'phase=gone due=100'],
    ['no phase', 'due=100'],
    ['a held time that is not a number', 'phase=held due=100 held=soon'],
    ['a negative deadline', 'phase=grace due=-100'],
  ])('refuses a record with %s', (_what, value) => {
    expect(() => parseKeyRecord(`${TAGS.keyRecord}k1`, value)).toThrow(/is not a key record/);
  });

  it.each([
    ['extra text after it', 'v=v1 key=k1 fp=abc extra'],
    ['extra text before it', 'old v=v1 key=k1 fp=abc'],
  ])('ignores a current-key note with %s rather than half-reading it', (_what, note) => {
    const secret = managedSecretFrom({ $metadata: {}, ARN: 'arn', Name: 's', Tags: Object.entries(tags({ [TAGS.current]: note })).map(([Key, Value]) => ({ Key, Value })) });
    expect(secret.currentKey).toBeUndefined();
  });

  it('refuses to note a current key whose id a tag value cannot hold, naming the tag', () => {
    expect(() => currentKeyTag({ versionId: 'v1', keyId: 'key#1', fingerprint: 'abc' })).toThrow(/tag 'keyrelay:current': may hold only/);
  });

  it('reads a tag AWS returns without a value as empty', () => {
    const secret = managedSecretFrom({ $metadata: {}, ARN: 'arn', Name: 's', Tags: [...Object.entries(tags()).map(([Key, Value]) => ({ Key, Value })), { Key: 'team' }] });
    expect(secret.tags.team).toBe('');
  });
});

describe('State contract: freezing', () => {
  it('refuses a freeze note a tag value cannot hold, writing nothing', async () => {
    // Act
    const result = setFrozen(sm as unknown as SecretsManagerClient, 'arn', 'paused {"json": true}');
    // Assess
    await expect(result).rejects.toThrow(/freeze note may hold only/);
    expect(sm.calls()).toEqual([]);
  });
});

describe('State contract: removing key records', () => {
  it('makes no call when there is no record to remove', async () => {
    await deleteKeyRecords(sm as unknown as SecretsManagerClient, 'arn', []);
    expect(sm.commandCalls(UntagResourceCommand)).toEqual([]);
  });
});

describe('State contract: which labels are keyrelay keys', () => {
  it.each([
    ['an empty secret id', 'keyrelay//token'],
    ['an empty token', 'keyrelay/payments/api-AbCdEf/'],
  ])('reads a label with %s as not keyrelay\'s', (_what, label) => {
    expect(parseProviderKeyLabel(label)).toBeUndefined();
  });

  it('names a secret whose id is not an ARN by its name', () => {
    expect(secretLabelId({ arn: 'payments/api', name: 'payments/api' })).toBe('payments/api');
  });
});

describe('State contract: tag keys reserved by AWS', () => {
  it("accepts a provider setting whose name merely ends in 'aws:' (only a key starting with it is AWS's)", () => {
    expect(tagMap(settingsToTags({ ...settings, providerSettings: { 'via-aws:': 'x' } }))['keyrelay:provider:via-aws:']).toBe('x');
  });
});

describe('State contract: replica and canary notes', () => {
  it('writes the replica regions as one sorted, space-separated tag', () => {
    expect(tagMap(settingsToTags({ ...settings, replicaRegions: ['us-west-2', 'eu-west-1'] }))[TAGS.replicaRegions]).toBe('eu-west-1 us-west-2');
  });

  it("reads each replica's replication status, keeping AWS's message and naming a missing status Unknown", () => {
    const secret = managedSecretFrom({
      $metadata: {}, ARN: 'arn', Name: 's', Tags: Object.entries(tags()).map(([Key, Value]) => ({ Key, Value })),
      ReplicationStatus: [{ Region: 'us-west-2', Status: 'Failed', StatusMessage: 'KMS key not found' }, { Region: 'eu-west-1' }],
    });
    expect(secret.replication).toEqual([
      { region: 'us-west-2', status: 'Failed', message: 'KMS key not found' },
      { region: 'eu-west-1', status: 'Unknown' },
    ]);
  });

  it('ignores a canary note naming an action it does not know', () => {
    expect(parseCanaryNote('at=100 verdict=rejected action=exploded')).toBeUndefined();
    expect(parseCanaryNote('at=100 verdict=rejected action=rotated')).toEqual({ at: 100_000, verdict: 'rejected', action: 'rotated' });
  });

  it('reads a damaged last-emergency note as an emergency at an unknown time, holding automatic action back', () => {
    expect(parseAutoEmergencyNote('at=100 trigger=canary')).toEqual({ at: Number.POSITIVE_INFINITY, trigger: 'canary', keyId: '?' });
  });

  it('refuses a last-emergency note whose key id a tag value cannot hold, naming the tag', () => {
    expect(() => autoEmergencyTag({ at: 0, trigger: 'canary', keyId: 'key#1' })).toThrow(`tag '${TAGS.lastAutoEmergency}': may hold only`);
  });
});
