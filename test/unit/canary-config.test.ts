import { describe, expect, it } from 'vitest';
import { keySettings, resolveConfig } from '../../lib/config';
import { PROVIDERS } from '../../lambda/providers';
import { CANARY_BY_DEFAULT } from '../../lambda/providers/canary';
import { settingsFromTags, settingsToTags, tagMap } from '../../core/state';

/** The canary's config (issue 19): per-adapter default, per-key interval or off, automatic emergencies off per key and globally. */
describe('Config: canary and automatic emergencies', () => {
  const key = (extra: Record<string, unknown> = {}) => ({ provider: { type: 'reference' }, adminSecret: 'a', ...extra });

  it('says for every provider whether its canary is on by default, and why', () => {
    expect(Object.keys(CANARY_BY_DEFAULT).sort()).toEqual(Object.keys(PROVIDERS).sort());
  });

  it('checks every 5 minutes by default, where verify is free; off for generic-http', () => {
    const { keys } = resolveConfig({
      keys: {
        a: key(),
        g: { provider: { type: 'generic-http', baseUrl: 'https://keys.example.com', createPath: '/k', verifyPath: '/v', deletePath: '/k/:id', listPath: '/k' }, adminSecret: 'a' },
      },
    });
    expect(keys.find((k) => k.name === 'a')?.canaryEvery).toBe(300);
    expect(keys.find((k) => k.name === 'g')?.canaryEvery).toBeUndefined();
  });

  it("takes a key's own interval, or 'off', and refuses what is not whole minutes from 1m to 1d", () => {
    const { keys } = resolveConfig({ keys: { a: key({ canary: '15m' }), b: key({ canary: 'off' }) } });
    expect(keys.map((k) => k.canaryEvery)).toEqual([900, undefined]);
    expect(() => resolveConfig({ keys: { a: key({ canary: '30s' }) } })).toThrow(/key 'a': canary must be whole minutes from 1m to 1d/);
  });

  it('turns automatic emergencies off per key, and for every key with engine.autoEmergency', () => {
    const one = resolveConfig({ keys: { a: key({ autoEmergency: false }), b: key() } });
    expect(one.keys.map((k) => k.autoEmergency)).toEqual([false, undefined]);
    const all = resolveConfig({ keys: { a: key(), b: key() }, engine: { autoEmergency: false } });
    expect(all.keys.map((k) => k.autoEmergency)).toEqual([false, false]);
  });

  it('round-trips the settings through the tags the functions mirror', () => {
    const [resolved] = resolveConfig({ keys: { a: key({ canary: '10m', autoEmergency: false }) } }).keys;
    const settings = keySettings(resolved!);
    expect(settingsFromTags('a', tagMap(settingsToTags(settings)))).toEqual(expect.objectContaining({ canaryEvery: 600, autoEmergency: false }));
  });
});
