import { describe, expect, it } from 'vitest';
import { keySettings, resolveConfig, rotationRules } from '../../lib/config';
import { settingsFromTags, settingsToTags, tagMap } from '../../lambda/core/state';

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

describe('Function: keySettings', () => {
  it('round-trips through the state contract tags', () => {
    const { keys } = resolveConfig({
      keys: { k: { ...base, provider: { type: 'reference', baseUrl: 'http://127.0.0.1:8080' }, usageHold: { quietPeriod: '1h', maxHold: '2d' }, observationWindow: '1d' } },
    });
    const settings = keySettings(keys[0]!, { revoker: 'keyrelay-revoker' });
    expect(settingsFromTags('k', tagMap(settingsToTags(settings)))).toEqual(settings);
  });
});
