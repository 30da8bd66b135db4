import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors';
import { keySettings, resolveConfig, rotationRules } from '../../lib/config';
import { settingsFromTags, settingsToTags, tagMap } from '../../core/state';

const base = { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/reference' };

describe('Function: resolveConfig', () => {
  it('applies defaults and converts durations to seconds', () => {
    // Act
    const { keys } = resolveConfig({ keys: { 'payments/stripe': base } });
    // Assess
    expect(keys).toEqual([
      expect.objectContaining({ name: 'payments/stripe', gracePeriod: 86_400, schedule: { kind: 'rate', every: 30 * 86_400 } }),
    ]);
  });

  it('lets a key override the shared defaults', () => {
    const { keys } = resolveConfig({ defaults: { gracePeriod: '2h', rotateEvery: '1d' }, keys: { a: { ...base, gracePeriod: '3h' } } });
    expect(keys[0]).toMatchObject({ gracePeriod: 3 * 3600, schedule: { every: 86_400 } });
  });

  it.each([
    [{ ...base, gracePeriod: '40d', rotateEvery: '30d' }, /key 'k': gracePeriod must be shorter than rotateEvery \(got 40 days vs 30 days\)/],
    [{ ...base, rotateEvery: '2h' }, /key 'k': rotateEvery must not be smaller than 4 hours, got 2 hours/],
    [{ ...base, rotateEvery: '90m' }, /rotateEvery must be whole hours, got 90 minutes/],
    [{ ...base, rotateEvery: '1001d' }, /must not be larger than 1000 days/],
    [{ ...base, schedule: 'cron(15 4 * * ? *)' }, /key 'k': schedule cron minutes must be 0/],
    [{ ...base, schedule: 'cron(0 */2 * * ? *)' }, /must not fire more often than every 4 hours, got every 2 hours/],
    [{ ...base, schedule: 'cron(0 4 * * ? *)', rotateEvery: '1d' }, /schedule and rotateEvery are exclusive/],
    [{ ...base, gracePeriod: 'soon' }, /key 'k': gracePeriod must look like 90s, 15m, 4h or 30d, got 'soon'/],
    [{ provider: { type: 'nope' } }, /key 'k': provider.type unknown provider type 'nope'; known types: .*reference/],
    [{ provider: { type: 'reference' } }, /key 'k': adminSecret is required for provider 'reference'/],
    [{ ...base, provider: { type: 'reference', baseUrl: 'http://x/?a=b&c' } }, /key 'k': tag 'keyrelay:provider:baseUrl': may hold only/],
    [{ ...base, window: '30h', rotateEvery: '7d' }, /window must be whole hours from 1h to 24h, got 30 hours/],
    [{ ...base, surprise: true }, /key 'k': \(key\): Unrecognized key/],
  ])('rejects %j naming the key and the field', (key, message) => {
    expect(() => resolveConfig({ keys: { k: key } })).toThrow(message);
  });

  it('accepts a cron schedule with a window and reports its interval', () => {
    const { keys } = resolveConfig({ keys: { k: { ...base, schedule: 'cron(0 4 ? * MON *)', window: '2h' } } });
    expect(keys[0]?.schedule).toEqual({ kind: 'cron', expression: 'cron(0 4 ? * MON *)', every: 7 * 86_400 });
    expect(rotationRules(keys[0]!)).toEqual({ ScheduleExpression: 'cron(0 4 ? * MON *)', Duration: '2h' });
  });

  it('renders rate schedules in days when whole, else hours', () => {
    const { keys } = resolveConfig({ keys: { a: { ...base, rotateEvery: '7d' }, b: { ...base, rotateEvery: '6h', gracePeriod: '1h' } } });
    expect(keys.map((k) => rotationRules(k).ScheduleExpression)).toEqual(['rate(7 days)', 'rate(6 hours)']);
  });
});

describe('Function: resolveConfig (aws-iam keys)', () => {
  const iamKey = (userName: string, more: Record<string, string> = {}) => ({
    provider: { type: 'aws-iam', userName, ...more },
    rotateEvery: '7d',
    gracePeriod: '1d',
  });

  it("rejects credentials 'admin-secret' without an adminSecret, naming the key and the field", () => {
    // Act + Assess
    expect(() => resolveConfig({ keys: { 'partner/uploader': iamKey('partner-uploader', { credentials: 'admin-secret' }) } })).toThrow(
      new ConfigError(
        "key 'partner/uploader': adminSecret is required for provider 'aws-iam' with credentials 'admin-secret' " +
          "(the secret holding the access key that manages user 'partner-uploader'); set it, or use credentials 'role'",
      ),
    );
  });

  it.each([
    ['the functions\' role', iamKey('ci-deployer'), iamKey('CI-Deployer', { credentials: 'role' })],
    [
      'one admin secret',
      { ...iamKey('ci-deployer', { credentials: 'admin-secret' }), adminSecret: 'keyrelay/admin/iam' },
      { ...iamKey('CI-Deployer', { credentials: 'admin-secret' }), adminSecret: 'keyrelay/admin/iam' },
    ],
  ])('rejects two keys rotating one IAM user through %s (names are case-insensitive), naming both keys', (_, a, b) => {
    // Act + Assess
    expect(() => resolveConfig({ keys: { a, b } })).toThrow(
      new ConfigError(
        "key 'b': provider.userName 'CI-Deployer' is already rotated by key 'a'; " +
          'give each IAM user one key (its two access key slots are the current key and the one rotating in)',
      ),
    );
  });

  it('accepts one user name behind different credentials (an admin secret may reach another account)', () => {
    // Prepare
    const viaSecret = (adminSecret: string) => ({ ...iamKey('ci-deployer', { credentials: 'admin-secret' }), adminSecret });
    // Act
    const { keys } = resolveConfig({ keys: { a: iamKey('ci-deployer'), b: viaSecret('keyrelay/admin/one'), c: viaSecret('keyrelay/admin/two') } });
    // Assess
    expect(keys.map((k) => k.name)).toEqual(['a', 'b', 'c']);
  });
});

describe('Function: keySettings', () => {
  it('round-trips through the state contract tags', () => {
    const { keys } = resolveConfig({
      keys: { k: { ...base, provider: { type: 'reference', baseUrl: 'http://127.0.0.1:8080' }, usageHold: { quietPeriod: '1h', maxHold: '2d' }, observationWindow: '1d' } },
    });
    const settings = keySettings(keys[0]!, { revoker: 'keyrelay-revoker' });
    expect(settingsFromTags('k', tagMap(settingsToTags(settings)))).toEqual(settings);
  });
});

describe('Function: resolveConfig (deploy-only fields)', () => {
  it('applies the documented defaults', () => {
    // Act
    const { deploy } = resolveConfig({ keys: { k: base } });
    // Assess
    expect(deploy).toEqual({
      prefix: 'KeyRelay',
      shards: 1,
      alarmEmails: [],
      alarmSubscriptions: [],
      overdueSlack: 86_400,
      tags: {},
      readers: [],
      reconcileEvery: 3600,
      reservedConcurrency: undefined,
      stagger: true,
      autoEmergency: true,
    });
  });

  it('expands reader patterns to key names', () => {
    // Act
    const { deploy } = resolveConfig({
      keys: { 'payments/a': base, 'payments/b': base, 'search/c': base },
      readers: [{ principal: '123456789012', keys: ['payments/*', 'search/c'] }],
    });
    // Assess
    expect(deploy.readers).toEqual([{ principal: '123456789012', keys: ['payments/a', 'payments/b', 'search/c'] }]);
  });

  it.each([
    [{ readers: [{ principal: '123456789012', keys: ['nope/*'] }] }, /readers\.0\.keys\.0: 'nope\/\*' matches no key/],
    [{ readers: [{ principal: 'arn:aws:s3:::bucket', keys: ['k'] }] }, /readers\.0\.principal: must be a 12-digit account id or an IAM role\/user\/root ARN/],
    [{ alarms: { email: ['not-an-email'] } }, /alarms\.email\.0/],
    [{ alarms: { subscriptions: [{ protocol: 'pigeon', endpoint: 'x' }] } }, /alarms\.subscriptions\.0\.protocol/],
    [{ alarms: { overdueSlack: 'soon' } }, /alarms\.overdueSlack: alarms\.overdueSlack must look like 90s, 15m, 4h or 30d, got 'soon'/],
    [{ tags: { 'keyrelay:team': 'x' } }, /tags\.keyrelay:team: tag keys starting with 'keyrelay:' or 'aws:' are reserved/],
    [{ tags: { team: 'a&b' } }, /tags\.team: may hold only letters/],
    [{ tags: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`t${i}`, 'x'])) }, /tags: may hold at most 10 tags/],
    [{ stacks: { shards: 0 } }, /stacks\.shards/],
    [{ stacks: { prefix: '1abc' } }, /stacks\.prefix: must be 1-40 letters/],
    [{ engine: { reconcileEvery: '1m' } }, /engine\.reconcileEvery: must be whole minutes from 5m to 1d, got 1 minute/],
    [{ keys: { k: { ...base, shard: 3 } }, stacks: { shards: 2 } }, /key 'k': shard must be below stacks.shards \(2\), got 3/],
  ])('rejects %j naming the field', (extra, message) => {
    expect(() => resolveConfig({ keys: { k: base }, ...extra })).toThrow(message);
  });
});

describe('Hardening: config bounds and names (issue 13)', () => {
  it.each([
    [{ ...base, usageHold: { quietPeriod: '1h', maxHold: '99999999999999999999d' } }, /key 'k': usageHold.maxHold must not be larger than 1000 days, got '99999999999999999999d'/],
    [{ ...base, observationWindow: '1001d' }, /key 'k': observationWindow must not be larger than 1000 days/],
    [{ ...base, usageHold: { quietPeriod: '86400001s', maxHold: '1d' } }, /usageHold.quietPeriod must not be larger than 1000 days/],
  ])('rejects a duration longer than the functions accept: %j', (key, message) => {
    expect(() => resolveConfig({ keys: { k: key } })).toThrow(message);
  });

  it('rejects a deploy duration longer than the limit', () => {
    expect(() => resolveConfig({ keys: { k: base }, alarms: { overdueSlack: '1001d' } })).toThrow(/alarms.overdueSlack: alarms.overdueSlack must not be larger than 1000 days/);
  });

  it('writes the longest durations it accepts as tags the functions read back', () => {
    // Prepare
    const { keys } = resolveConfig({
      keys: { k: { ...base, rotateEvery: '1000d', gracePeriod: '999d', usageHold: { quietPeriod: '1000d', maxHold: '1000d' }, observationWindow: '1000d' } },
    });
    const key = keys[0]!;

    // Act
    const settings = keySettings(key);
    const read = settingsFromTags('k', tagMap(settingsToTags(settings)));

    // Assess
    expect(read).toEqual(expect.objectContaining({ usageMaxHold: 86_400_000, usageQuiet: 86_400_000, observation: 86_400_000, rotateEvery: 86_400_000 }));
  });

  it.each(['__proto__', 'constructor', 'toString'])('refuses a key named %s instead of dropping it', (name) => {
    // Prepare: as loadConfig reads it (JSON.parse keeps __proto__ as an own name).
    const input = JSON.parse(`{"keys": {"${name}": ${JSON.stringify(base)}, "ok": ${JSON.stringify(base)}}}`) as unknown;

    // Act + Assess
    expect(() => resolveConfig(input)).toThrow(new RegExp(`${name}`));
  });

  it('refuses __proto__ anywhere in the config, e.g. among provider settings', () => {
    const input = JSON.parse(`{"keys": {"k": {"provider": {"type": "reference", "__proto__": {"baseUrl": "https://evil.example"}}, "adminSecret": "a/b"}}}`) as unknown;
    expect(() => resolveConfig(input)).toThrow(/keys\.k\.provider\.__proto__/);
  });
});
