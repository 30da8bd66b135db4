import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../lib/config';

/** Provider limits that keyrelay.config.json is checked against at synth (lib/config.ts), one provider at a time. */
describe('Function: resolveConfig (provider limits)', () => {
  const cloudflare = { provider: { type: 'cloudflare', accountId: 'a'.repeat(32) }, adminSecret: 'cf-admin' };

  it("refuses a Cloudflare usage hold quieter than a day: Cloudflare documents no bound on last_used_on's delay", () => {
    expect(() => resolveConfig({ keys: { 'edge/cf': { ...cloudflare, usageHold: { quietPeriod: '12h', maxHold: '3d' } } } })).toThrow(
      "key 'edge/cf': usageHold.quietPeriod must be at least 1 day for 'cloudflare', which may record a key's use that late (got 12 hours)",
    );
  });

  it('accepts a Cloudflare usage hold of a day or more', () => {
    const { keys } = resolveConfig({ keys: { 'edge/cf': { ...cloudflare, usageHold: { quietPeriod: '1d', maxHold: '3d' } } } });
    expect(keys[0]?.usageHold).toEqual({ quietPeriod: 86_400, maxHold: 259_200 });
  });

  const stripe = (mode?: string) => ({ provider: { type: 'stripe', ...(mode ? { mode } : {}) }, adminSecret: 'stripe-app' });

  it("refuses a Stripe key in mode 'live' at synth, naming what is missing", () => {
    expect(() => resolveConfig({ keys: { 'pay/stripe': stripe('live') } })).toThrow(
      /key 'pay\/stripe': provider 'stripe': mode 'live' is refused: .*encrypted_secret .*plaintext holds is not documented.*use mode 'test'/,
    );
  });

  it("requires the Stripe mode, and deploys mode 'test'", () => {
    expect(() => resolveConfig({ keys: { 'pay/stripe': stripe() } })).toThrow(/key 'pay\/stripe': provider.mode /);
    expect(resolveConfig({ keys: { 'pay/stripe': stripe('test') } }).keys[0]?.providerSettings).toEqual({ mode: 'test' });
  });
});
