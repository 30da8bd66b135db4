import { describe, expect, it } from 'vitest';
import { resolveConfig, keySettings } from '../../lib/config';
import { settingsFromTags, settingsToTags, tagMap } from '../../core/state';

const base = { defaults: { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/reference' } };

describe('Config: replicaRegions', () => {
  it('resolves per-key regions, sorted, and inherits them from defaults', () => {
    const { keys } = resolveConfig({
      defaults: { ...base.defaults, replicaRegions: ['eu-west-1'] },
      keys: { a: {}, b: { replicaRegions: ['us-west-2', 'ap-southeast-2'] }, c: { replicaRegions: [] } },
    });
    expect(keys.map((k) => k.replicaRegions)).toEqual([['eu-west-1'], ['ap-southeast-2', 'us-west-2'], undefined]);
  });

  it('refuses a malformed region, naming the key and the field', () => {
    expect(() => resolveConfig({ ...base, keys: { a: { replicaRegions: ['Europe'] } } })).toThrow(
      /key 'a': replicaRegions\.0: must be an AWS region name such as eu-west-1/,
    );
  });

  it('refuses a region named twice', () => {
    expect(() => resolveConfig({ ...base, keys: { a: { replicaRegions: ['eu-west-1', 'eu-west-1'] } } })).toThrow(
      /key 'a': replicaRegions names 'eu-west-1' twice/,
    );
  });

  it('travels in the settings tags and back (the manifest and the tag mirror agree)', () => {
    const [key] = resolveConfig({ ...base, keys: { a: { replicaRegions: ['us-west-2', 'eu-west-1'] } } }).keys;
    const settings = keySettings(key!);
    const tags = tagMap(settingsToTags(settings));
    expect(tags['keyrelay:replica-regions']).toBe('eu-west-1 us-west-2');
    expect(settingsFromTags('a', tags).replicaRegions).toEqual(['eu-west-1', 'us-west-2']);
  });
});
