import { describe, expect, it } from 'vitest';
import { createProvider } from '../../lambda/providers';
import { compactLabel, expandLabel } from '../../lambda/providers/twilio';
import { FakeClock } from '../support/fake-clock';
import { KeyStore } from './fakes/key-store';
import { type FakeReply, type FakeRequest, contractViolations, loadSpec, startOpenApiFake } from './openapi-fake';
import { describeProviderContract, mintKey, type ContractHarness } from './provider-contract';

// twilio.json documents no error response at all. Every error the fake sends follows Twilio's prose docs ("Twilio
// API responses", error pages 20003, 20404, 20429, 70151): {"code", "message", "more_info", "status"}.
const UNDOCUMENTED = [400, 401, 404, 429, 503];
const error = (status: number, code: number, message: string, headers?: Record<string, string>): FakeReply => ({
  status,
  headers,
  body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
});
const rfc2822 = (ms: number) => new Date(ms).toUTCString().replace('GMT', '+0000');
const hex32 = (n: number) => n.toString(16).padStart(32, '0');

function basic(header: string | string[] | undefined): [string, string] | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value?.startsWith('Basic ')) return undefined;
  const text = Buffer.from(value.slice(6), 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return [text.slice(0, colon), text.slice(colon + 1)];
}

async function harness(): Promise<ContractHarness & { addKey: (policy: Record<string, unknown> | null) => string }> {
  const clock = new FakeClock();
  const accountSid = `AC${hex32(1)}`;
  const store = new KeyStore<Record<string, unknown> | null>(clock, 1000, (n) => `SK${hex32(n)}`, () => mintKey('', 32, 'base64url'));
  const main = { sid: `SK${'f'.repeat(32)}`, secret: mintKey('main', 32) };
  const policy = { allow: ['/twilio/messaging/messages/create', '/twilio/messaging/messages/read'] };
  const template = store.add('template', policy);
  let base = '';
  /** An empty Message page (verify filters on a date before any message), shaped as the fixture's model of the list. */
  const messages = (req: FakeRequest): FakeReply => {
    const uri = `/2010-04-01/Accounts/${req.params.AccountSid}/Messages.json?PageSize=1&Page=0`;
    return { status: 200, body: { messages: [], end: 0, first_page_uri: uri, next_page_uri: null, page: 0, page_size: 1, previous_page_uri: null, start: 0, uri } };
  };
  const find = (req: FakeRequest) => store.keys.get(req.params.Sid ?? '');
  const key = (k: ReturnType<typeof store.add>) => ({
    sid: k.id,
    friendly_name: k.name,
    date_created: rfc2822(k.created),
    date_updated: rfc2822(k.created),
  });
  const fake = await startOpenApiFake({
    spec: loadSpec('twilio'),
    authenticate: (req) => {
      if (req.operationId === 'Api2010ListMessage') return undefined;
      const [user, pass] = basic(req.headers.authorization) ?? [];
      return user === main.sid && pass === main.secret ? undefined : error(401, 20003, 'Authenticate');
    },
    handlers: {
      CreateNewKey: (req) => {
        const form = req.body as Record<string, string>;
        if (form.AccountSid !== accountSid) return error(400, 20001, 'Invalid AccountSid');
        if (store.full()) return error(400, 70151, 'Maximum Number Of API Keys Exceeded');
        const k = store.add(form.FriendlyName ?? '', form.KeyType === 'restricted' ? (JSON.parse(form.Policy ?? 'null') as Record<string, unknown>) : null);
        return { status: 201, body: { ...key(k), secret: k.value, policy: k.restrictions ?? null } };
      },
      FetchKey: (req) => {
        const k = find(req);
        return k ? { status: 200, body: { ...key(k), policy: k.restrictions ?? null } } : error(404, 20404, `The requested resource /v1/Keys/${req.params.Sid} was not found`);
      },
      ListGetKeys: (req) => {
        const size = Number(req.query.get('PageSize') ?? '50');
        const page = Number(req.query.get('Page') ?? '0');
        const { items, more } = store.page(page, Math.min(size, 5));
        const url = (p: number) => `${base}/v1/Keys?AccountSid=${accountSid}&PageSize=${size}&Page=${p}&PageToken=PT${p}`;
        return {
          status: 200,
          body: {
            keys: items.map((k) => ({ ...key(k), flags: [] })),
            meta: { page, page_size: items.length, first_page_url: url(0), previous_page_url: page > 0 ? url(page - 1) : null, url: url(page), next_page_url: more ? url(page + 1) : null, key: 'keys' },
          },
        };
      },
      DeleteKey: (req) => {
        const k = find(req);
        if (!k) return error(404, 20404, `The requested resource /v1/Keys/${req.params.Sid} was not found`);
        store.keys.delete(k.id);
        return { status: 204 };
      },
      // Twilio's docs ("Key resource v1", types of keys; "Restricted API keys"): a Standard key reads every resource
      // but Accounts and Keys, a Restricted key only what its policy allows; anything else, like a wrong secret, is
      // 401 with error 20003.
      Api2010ListMessage: (req) => {
        const [sid, secret] = basic(req.headers.authorization) ?? [];
        if (sid === main.sid && secret === main.secret) return messages(req);
        const k = store.use(secret);
        if (!k || k.id !== sid) return error(401, 20003, 'Authenticate');
        const allow = (k.restrictions as { allow?: string[] } | null)?.allow;
        return !allow || allow.includes('/twilio/messaging/messages/read') ? messages(req) : error(401, 20003, 'Authenticate');
      },
    },
  });
  base = fake.url;
  const make = (secret: string) =>
    createProvider('twilio', {
      settings: { accountSid, baseUrl: fake.url },
      clock,
      adminCredential: async () => JSON.stringify({ apiKeySid: main.sid, apiKeySecret: secret }),
    });
  return {
    provider: make(main.secret),
    badAdmin: make(mintKey('wrong', 32)),
    clock,
    throttleNext: (s) => fake.failNext(error(429, 20429, 'Too Many Requests', { 'retry-after': String(s) })),
    failNext: () => fake.failNext(error(503, 20500, 'Service Unavailable')),
    fillQuota: () => store.fill(),
    deleteOutOfBand: (id) => void store.keys.delete(id),
    seedPages: () => store.seed(12, null),
    keyCount: () => store.keys.size,
    initialKeyId: template.id,
    restrictions: (id) => store.keys.get(id)?.restrictions,
    violations: () => contractViolations(fake, UNDOCUMENTED),
    addKey: (policy) => store.add('console-made', policy).id,
    stop: () => fake.stop(),
  };
}

describeProviderContract('twilio', harness);

describe('Class: TwilioApiKeys', () => {
  const token = '0f3c9a3e-5b1e-4f57-9c55-1d1a4c0e9b21';

  it('fits a keyrelay label into the 64-character friendly name and lists it back unchanged', async () => {
    // Prepare
    const h = await harness();
    const label = `keyrelay/${'a'.repeat(38)}/${token}`;

    // Act
    const issued = await h.provider.issue({ label });
    const listed = (await h.provider.list()).find((k) => k.keyId === issued.keyId);

    // Assess
    expect(label.length).toBeGreaterThan(64);
    expect(listed?.label).toBe(label);
    expect(h.violations()).toEqual([]);
    await h.stop();
  });

  it('verifies a copy of a Standard key, which Twilio answers 401 (20003) on the Account resource', async () => {
    // Prepare
    const h = await harness();
    const standard = h.addKey(null);

    // Act
    const issued = await h.provider.issue({ label: 'keyrelay/app/t1', replaces: standard });
    const verified = await h.provider.verify(issued.apiKey);

    // Assess
    expect(h.restrictions?.(issued.keyId)).toBeNull();
    expect(verified).toEqual({ principal: `AC${'0'.repeat(31)}1` });
    expect(h.violations()).toEqual([]);
    await h.stop();
  });

  it('refuses to copy a Restricted key it could not verify, before creating anything', async () => {
    // Prepare: a policy without the Message read that verify uses.
    const h = await harness();
    const sendOnly = h.addKey({ allow: ['/twilio/messaging/messages/create'] });
    const before = h.keyCount();

    // Act
    const issuing = h.provider.issue({ label: 'keyrelay/app/t1', replaces: sendOnly });

    // Assess
    await expect(issuing).rejects.toThrow(/Restricted without '\/twilio\/messaging\/messages\/read'.*add that permission/);
    expect(h.keyCount()).toBe(before);
    await h.stop();
  });

  it('refuses a label that does not fit even compacted', async () => {
    // Prepare
    const h = await harness();

    // Act
    const issuing = h.provider.issue({ label: `keyrelay/${'a'.repeat(39)}/${token}` });

    // Assess
    await expect(issuing).rejects.toThrow(/allows 64.*at most 38 characters/);
    expect(h.keyCount()).toBe(1);
    await h.stop();
  });
});

describe('Function: compactLabel', () => {
  it.each(['keyrelay/app/0f3c9a3e-5b1e-4f57-9c55-1d1a4c0e9b21', 'keyrelay/a/b/not-a-uuid', 'someone else’s key'])('round-trips %s', (label) => {
    expect(expandLabel(compactLabel(label))).toBe(label);
  });

  it('leaves names it did not write alone', () => {
    expect(compactLabel('keyrelay/app/0f3c9a3e-5b1e-4f57-9c55-1d1a4c0e9b21')).toBe('kr/app/DzyaPlseT1ecVR0aTA6bIQ');
    expect(expandLabel('kr/ops/console-made')).toBe('kr/ops/console-made');
  });
});
