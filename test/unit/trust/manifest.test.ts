import { describe, expect, it } from 'vitest';
import { manifestJson, manifestTrust, parseManifest, UndeclaredSecretError } from '../../../core/manifest';
import { ConfigError } from '../../../core/errors';
import type { KeySettings, ManagedSecret } from '../../../core/state';
import { baseUrlProblem } from '../../../lambda/providers/base-url';
import { trustFromEnv } from '../../../lambda/runtime';
import { buildManifest } from '../../../lib/manifest';
import { resolveConfig } from '../../../lib/config';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:payments/api-AbCdEf';
const declared: KeySettings = { provider: 'stripe', providerSettings: {}, adminSecret: 'admin/stripe', gracePeriod: 86_400, revoker: 'KeyRelay-revoker' };

function secret(settings: Partial<KeySettings>, arn = ARN, name = 'payments/api'): ManagedSecret {
  return { arn, name, settings: { ...declared, ...settings }, records: [], versions: {}, rotationEnabled: true, tags: {} };
}

describe('Function: baseUrlProblem', () => {
  it.each([
    ['http://api.stripe.com', /must use https/],
    ['https://user:pw@api.stripe.com', /must not carry credentials/],
    ['https://169.254.169.254', /IP address/],
    ['https://0xa9.0xfe.0xa9.0xfe', /IP address/],
    ['https://[::1]', /IP address/],
    ['https://localhost', /not a public API host/],
    ['https://evil.example.com', /not one of provider 'stripe''s documented API hosts \(api.stripe.com\)/],
    ['https://api.stripe.com?x=1', /query or fragment/],
  ])('refuses %s for stripe', (baseUrl, message) => {
    // Act
    const problem = baseUrlProblem('stripe', { baseUrl });
    // Assess
    expect(problem).toMatch(message);
  });

  it('allows the documented host, no baseUrl at all, a config-named host for generic-http, and an allowed loopback origin', () => {
    // Act + Assess
    expect(baseUrlProblem('stripe', { baseUrl: 'https://api.stripe.com' })).toBeUndefined();
    expect(baseUrlProblem('stripe', {})).toBeUndefined();
    expect(baseUrlProblem('generic-http', { baseUrl: 'https://keys.internal.example.com/v1' })).toBeUndefined();
    expect(baseUrlProblem('reference', { baseUrl: 'http://127.0.0.1:4010' }, ['http://127.0.0.1:4010'])).toBeUndefined();
    expect(baseUrlProblem('reference', { baseUrl: 'http://127.0.0.1:4011' }, ['http://127.0.0.1:4010'])).toMatch(/https/);
  });
});

describe('Function: buildManifest', () => {
  it('fails synth on a base URL outside the provider\'s documented hosts', () => {
    // Prepare
    const config = resolveConfig({ keys: { k: { provider: { type: 'openai', keyType: 'admin', baseUrl: 'https://collector.example.net/v1' }, adminSecret: 'a', rotateEvery: '30d' } } });
    // Act + Assess
    expect(() => buildManifest(config.keys, 'KeyRelay-revoker')).toThrow(ConfigError);
    expect(() => buildManifest(config.keys, 'KeyRelay-revoker')).toThrow(/key 'k'.*api.openai.com/);
  });

  it('round-trips through JSON, a key named __proto__ included', () => {
    // Prepare
    const config = resolveConfig({ keys: { 'payments/api': { provider: { type: 'stripe', mode: 'test' }, adminSecret: 'admin/stripe', rotateEvery: '30d' } } });
    const manifest = buildManifest(config.keys, 'KeyRelay-revoker');
    manifest.keys.set('__proto__', declared);
    // Act
    const parsed = parseManifest(manifestJson(manifest), 'test');
    // Assess
    expect([...parsed.keys.keys()].sort()).toEqual(['__proto__', 'payments/api']);
    expect(parsed.keys.get('payments/api')).toMatchObject({ provider: 'stripe', adminSecret: 'admin/stripe', revoker: 'KeyRelay-revoker' });
  });

  it('refuses a manifest that is not the deploy\'s shape, naming the key', () => {
    // Prepare
    const text = JSON.stringify({ version: 1, keys: { k: { ...declared, gracePeriod: -1 } }, allowedOrigins: [] });
    // Act + Assess
    expect(() => parseManifest(text, 'asset')).toThrow(/manifest 'asset': key 'k' is invalid/);
  });
});

describe('Function: manifestTrust', () => {
  const manifest = { version: 1 as const, keys: new Map([['payments/api', declared]]), allowedOrigins: [] };

  it('obeys the manifest, never the tags, and raises the alarm when they differ', () => {
    // Prepare
    const alarms: Array<[string, string[]]> = [];
    const trust = manifestTrust(manifest, { account: '123456789012', region: 'eu-west-1' }, (s, f) => void alarms.push([s, f]));
    // Act
    const settled = trust.settle(secret({ providerSettings: { baseUrl: 'https://evil.example.com' }, adminSecret: 'other/admin', gracePeriod: 0 }));
    // Assess
    expect(settled.settings).toEqual(declared);
    expect(alarms).toEqual([['payments/api', ['providerSettings', 'adminSecret', 'gracePeriod']]]);
  });

  it('refuses an undeclared secret (alarmed) and a secret of another account or region', () => {
    // Prepare
    const alarms: string[] = [];
    const trust = manifestTrust(manifest, { account: '123456789012', region: 'eu-west-1' }, (s) => void alarms.push(s));
    // Act + Assess
    expect(() => trust.settle(secret({}, ARN.replace('payments/api', 'forged'), 'forged'))).toThrow(UndeclaredSecretError);
    expect(() => trust.settle(secret({}, ARN.replace('123456789012', '999999999999')))).toThrow(/not in this deployment's account and region/);
    expect(() => trust.settle(secret({}, ARN.replace('eu-west-1', 'us-east-1')))).toThrow(UndeclaredSecretError);
    expect(alarms).toEqual(['forged']);
  });
});

describe('Function: trustFromEnv', () => {
  it('fails closed without a manifest', () => {
    // Act + Assess
    expect(() => trustFromEnv({ KEYRELAY_MANIFEST: '/nonexistent/manifest.json' }, () => undefined)).toThrow(/no keyrelay manifest/);
  });
});
