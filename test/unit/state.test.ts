import { DescribeSecretCommand, ListSecretsCommand, SecretsManagerClient, TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  TAGS,
  demotionRecord,
  keyRecordTag,
  listManagedSecrets,
  parseKeyRecord,
  labelledTokenFor,
  parseProviderKeyLabel,
  providerKeyLabel,
  labelNamesSecret,
  isArnIdOfSecret,
  putKeyRecord,
  readManagedSecret,
  recordOperator,
  settingsFromTags,
  settingsToTags,
  stageHolders,
  tagMap,
  tagValueProblem,
} from '../../core/state';

const sm = mockClient(SecretsManagerClient);
beforeEach(() => sm.reset());

const settings = { provider: 'reference', providerSettings: { baseUrl: 'http://127.0.0.1:9' }, adminSecret: 'admin', gracePeriod: 3600 };

describe('State contract: settings tags', () => {
  it('round-trips settings and marks the secret managed', () => {
    const tags = tagMap(settingsToTags(settings));
    expect(tags[TAGS.managed]).toBe('v1');
    expect(tags['keyrelay:provider:baseUrl']).toBe('http://127.0.0.1:9');
    expect(settingsFromTags('s', tags)).toMatchObject(settings);
  });

  it('refuses a secret without the managed marker, saying how to manage it', () => {
    expect(() => settingsFromTags('s', { [TAGS.provider]: 'reference' })).toThrow(/not managed by keyrelay .* add it to keyrelay.config.json/);
  });

  it('names the tag holding a malformed number', () => {
    expect(() => settingsFromTags('s', { ...tagMap(settingsToTags(settings)), [TAGS.gracePeriod]: '1h' })).toThrow(
      "secret 's': tag 'keyrelay:grace-period' must be a whole number of seconds, got '1h'",
    );
  });

  it('refuses a duration longer than the config allows, naming the limit', () => {
    expect(() => settingsFromTags('s', { ...tagMap(settingsToTags(settings)), [TAGS.observation]: '86400001' })).toThrow(
      /tag 'keyrelay:observation' must not be larger than 86400000 seconds/,
    );
  });

  it.each(['', ' '])('refuses a blank number (%j) rather than reading it as 0 seconds of grace', (blank) => {
    // A tag value cleared in the console must not turn into "revoke the old key at once".
    expect(() => settingsFromTags('s', { ...tagMap(settingsToTags(settings)), [TAGS.gracePeriod]: blank })).toThrow(
      `secret 's': tag 'keyrelay:grace-period' must be a whole number of seconds, got '${blank}'`,
    );
  });

  it("checks AWS's tag value limits, which moto does not", () => {
    expect(tagValueProblem('a'.repeat(257))).toMatch(/at most 256/);
    expect(tagValueProblem('{"json":true}')).toMatch(/may hold only/);
    expect(tagValueProblem('rate(7 days)')).toMatch(/may hold only/);
    expect(tagValueProblem('https://api.example.com/v1 a_b.c:d=e+f-g@h')).toBeUndefined();
  });
});

describe('State contract: key records', () => {
  it('round-trips a record at second precision', () => {
    const record = { keyId: 'key_1', phase: 'held' as const, due: 1_700_000_000_000, versionId: 'v-1', heldSince: 1_699_000_000_000, reason: 'manual' };
    const tag = keyRecordTag(record);
    expect(tag.Key).toBe('keyrelay:key:key_1');
    expect(parseKeyRecord(tag.Key!, tag.Value!)).toEqual(record);
  });

  it.each([
    ['an assumed-role ARN', 'arn:aws:sts::123456789012:assumed-role/OnCall/ana@example.com', 'arn:aws:sts::123456789012:assumed-role/OnCall/ana@example.com'],
    ['an e-mail', 'ana.b+ops@example.com', 'ana.b+ops@example.com'],
    ['spaces and punctuation', ' Ana María (on-call), "ops" ', 'Ana-María--on-call----ops-'],
    ['a 300-character name', 'x'.repeat(300), 'x'.repeat(128)],
  ])('round-trips the operator (by=) as %s, sanitised and within the tag limit', (_what, operator, stored) => {
    // Prepare
    const record = { keyId: 'key_1', phase: 'revoked' as const, due: 1_700_000_000_000, versionId: 'v-1', reason: 'emergency', by: operator };
    // Act
    const tag = keyRecordTag(record);
    const parsed = parseKeyRecord(tag.Key!, tag.Value!);
    // Assess
    expect(recordOperator(operator)).toBe(stored);
    expect(parsed).toEqual({ ...record, by: stored });
    expect(tagValueProblem(tag.Value!)).toBeUndefined();
  });

  it('shortens the operator further when the other fields leave less room, and reads records without by=', () => {
    // Prepare
    const long = { keyId: 'k', phase: 'grace' as const, due: 0, versionId: 'v'.repeat(200), by: 'ana'.repeat(50) };
    // Act
    const tag = keyRecordTag(long);
    // Assess
    expect(tag.Value!.length).toBe(256);
    expect(parseKeyRecord(tag.Key!, tag.Value!)?.by).toMatch(/^(ana)+a?n?$/);
    expect(parseKeyRecord('keyrelay:key:k', 'phase=grace due=5 reason=cancel')).toEqual({ keyId: 'k', phase: 'grace', due: 5000, reason: 'cancel' });
  });

  it('rejects a malformed record naming the expected shape', () => {
    expect(() => parseKeyRecord('keyrelay:key:x', 'phase=gone')).toThrow(/expected 'phase=<grace\|held\|disabled\|revoked> due=/);
    expect(parseKeyRecord('other', 'x')).toBeUndefined();
  });

  it('rejects a blank deadline rather than reading it as the epoch (due at once)', () => {
    expect(() => parseKeyRecord('keyrelay:key:x', 'phase=grace due=')).toThrow(/is not a key record/);
  });

  it('writes a record with TagResource', async () => {
    sm.on(TagResourceCommand).resolves({});
    await putKeyRecord(sm as unknown as SecretsManagerClient, 'arn:s', { keyId: 'k1', phase: 'grace', due: 5000 });
    expect(sm.commandCalls(TagResourceCommand)[0]?.args[0].input).toEqual({
      SecretId: 'arn:s',
      Tags: [{ Key: 'keyrelay:key:k1', Value: 'phase=grace due=5' }],
    });
  });
});

describe('State contract: reading', () => {
  it('reads settings, records and stages from one DescribeSecret', async () => {
    // Prepare
    sm.on(DescribeSecretCommand).resolves({
      ARN: 'arn:s',
      Name: 's',
      RotationEnabled: true,
      VersionIdsToStages: { a: ['AWSPREVIOUS'], b: ['AWSCURRENT', 'AWSPENDING'] },
      Tags: [...settingsToTags(settings), keyRecordTag({ keyId: 'k0', phase: 'grace', due: 9000 }), { Key: TAGS.frozen, Value: 'ops: incident' }],
    });
    // Act
    const secret = await readManagedSecret(sm as unknown as SecretsManagerClient, 's');
    // Assess
    expect(secret).toMatchObject({ arn: 'arn:s', rotationEnabled: true, frozen: 'ops: incident', records: [{ keyId: 'k0', due: 9000 }] });
    expect(stageHolders(secret.versions)).toEqual({ current: 'b', pending: 'b', previous: 'a' });
  });

  it('lists managed secrets with their state across pages of 100 by the marker tag, a malformed one as its error', async () => {
    sm.on(ListSecretsCommand)
      .resolvesOnce({ SecretList: [{ ARN: 'a1', Name: 'a', Tags: settingsToTags(settings), SecretVersionsToStages: { v1: ['AWSCURRENT'] } }], NextToken: 't' })
      .resolvesOnce({ SecretList: [{ ARN: 'b1', Name: 'b', Tags: [{ Key: TAGS.managed, Value: 'v1' }] }] });
    const listed = await listManagedSecrets(sm as unknown as SecretsManagerClient);
    expect(listed).toEqual([
      { arn: 'a1', name: 'a', secret: expect.objectContaining({ arn: 'a1', settings, versions: { v1: ['AWSCURRENT'] } }) },
      { arn: 'b1', name: 'b', error: expect.objectContaining({ message: expect.stringMatching(/tag 'keyrelay:provider' is missing/) }) },
    ]);
    expect(sm.commandCalls(ListSecretsCommand).map((c) => c.args[0].input)).toEqual([
      { Filters: [{ Key: 'tag-key', Values: ['keyrelay:managed'] }], MaxResults: 100 },
      { Filters: [{ Key: 'tag-key', Values: ['keyrelay:managed'] }], MaxResults: 100, NextToken: 't' },
    ]);
  });
});

describe('State contract: provider key labels', () => {
  const arnIn = (account: string, region: string, suffix: string) => `arn:aws:secretsmanager:${region}:${account}:secret:team/payments/stripe-${suffix}`;

  it("names the secret by its ARN resource id, slashes included, and round-trips", () => {
    const label = providerKeyLabel({ arn: arnIn('111111111111', 'eu-west-1', 'AbCdEf'), name: 'team/payments/stripe' }, '8c1c-uuid');
    expect(label).toBe('keyrelay/team/payments/stripe-AbCdEf/8c1c-uuid');
    expect(parseProviderKeyLabel(label)).toEqual({ secret: 'team/payments/stripe-AbCdEf', token: '8c1c-uuid' });
  });

  it('tells apart two deployments that share a secret name (and a provider admin credential)', () => {
    // Prepare: staging and production deploy the same config into two accounts
    const staging = { arn: arnIn('111111111111', 'eu-west-1', 'AbCdEf'), name: 'team/payments/stripe' };
    const production = { arn: arnIn('222222222222', 'eu-west-1', 'GhIjKl'), name: 'team/payments/stripe' };
    // Act
    const label = providerKeyLabel(production, 'tok');
    // Assess: production's key is not staging's to sweep
    expect(labelledTokenFor(production, label)).toBe('tok');
    expect(labelledTokenFor(staging, label)).toBeUndefined();
  });

  it('tells which secret name a label belongs to: the name plus the 6-character suffix, or the bare name', () => {
    const label = providerKeyLabel({ arn: arnIn('111111111111', 'eu-west-1', 'AbCdEf'), name: 'team/payments/stripe' }, 'tok');
    expect(labelNamesSecret(label, 'team/payments/stripe')).toBe(true);
    expect(labelNamesSecret(label, 'team/payments')).toBe(false);
    expect(labelNamesSecret(label, 'team/payments/stripe-AbCd')).toBe(false);
    expect(labelNamesSecret(providerKeyLabel({ arn: 'local', name: 'a/b' }, 'tok'), 'a/b')).toBe(true);
    expect(labelNamesSecret('ci-key', 'ci-key')).toBe(false);
    expect(isArnIdOfSecret('a/b-XyZ123', 'a/b')).toBe(true);
    expect(isArnIdOfSecret('a/b', 'a/b')).toBe(false);
  });

  it('ignores keys keyrelay did not label', () => {
    expect(parseProviderKeyLabel('ci-key')).toBeUndefined();
    expect(parseProviderKeyLabel('keyrelay/onlyname')).toBeUndefined();
    expect(parseProviderKeyLabel(undefined)).toBeUndefined();
  });
});

describe('State contract: demotion (a key stops being current)', () => {
  const now = 1_800_000_000_000;
  const GRACE_MS = settings.gracePeriod * 1000;
  const secret = (records: Parameters<typeof demotionRecord>[0]['records']) => ({ records, settings });

  it('gives a full grace period from now', () => {
    expect(demotionRecord(secret([]), 'k1', 'v-1', now)).toEqual({ keyId: 'k1', phase: 'grace', due: now + GRACE_MS, versionId: 'v-1' });
  });

  it('keeps a later deadline already recorded: deadlines only move out', () => {
    // Prepare: a rollback demoted the key earlier with a longer grace still running
    const later = now + 3 * GRACE_MS;
    // Act
    const record = demotionRecord(secret([{ keyId: 'k1', phase: 'grace', due: later }]), 'k1', 'v-1', now);
    // Assess
    expect(record).toEqual({ keyId: 'k1', phase: 'grace', due: later, versionId: 'v-1' });
  });

  it('never shortens the grace to an earlier recorded deadline', () => {
    expect(demotionRecord(secret([{ keyId: 'k1', phase: 'grace', due: now - 1000 }]), 'k1', 'v-1', now)?.due).toBe(now + GRACE_MS);
  });

  it.each(['held', 'disabled'] as const)('takes no deadline from a %s record (its due is a check or a deletion, not a grace)', (phase) => {
    expect(demotionRecord(secret([{ keyId: 'k1', phase, due: now + 5 * GRACE_MS }]), 'k1', 'v-1', now)?.due).toBe(now + GRACE_MS);
  });

  it("reads only the demoted key's own record", () => {
    expect(demotionRecord(secret([{ keyId: 'other', phase: 'grace', due: now + 5 * GRACE_MS }]), 'k1', 'v-1', now)?.due).toBe(now + GRACE_MS);
  });

  it('returns nothing for a key already revoked, keeping who revoked it and why', () => {
    expect(demotionRecord(secret([{ keyId: 'k1', phase: 'revoked', due: now - 1000, by: 'ana' }]), 'k1', 'v-1', now)).toBeUndefined();
  });
});

describe('State contract: tag keys', () => {
  it.each([
    ['a key id with a character AWS refuses in tag keys', 'key#1', /tag key may hold only letters/],
    ['a key id that makes the tag key longer than 128 characters', 'k'.repeat(128 - TAGS.keyRecord.length + 1), /tag key must be 1 to 128 characters, got 129/],
  ])('refuses a record for %s, naming the key', (_what, keyId, problem) => {
    expect(() => keyRecordTag({ keyId, phase: 'grace', due: 0 })).toThrow(problem);
    expect(() => keyRecordTag({ keyId, phase: 'grace', due: 0 })).toThrow(`key record for '${keyId}'`);
  });

  it('accepts a tag key of exactly 128 characters', () => {
    const keyId = 'k'.repeat(128 - TAGS.keyRecord.length);
    expect(keyRecordTag({ keyId, phase: 'grace', due: 0 }).Key).toHaveLength(128);
  });

  it('refuses a provider setting whose name AWS refuses as a tag key', () => {
    expect(() => settingsToTags({ ...settings, providerSettings: { 'base url!': 'x' } })).toThrow(/tag 'keyrelay:provider:base url!': tag key may hold only/);
  });
});
