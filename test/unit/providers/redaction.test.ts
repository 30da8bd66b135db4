import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../lambda/providers/errors';
import { basicAuth, ProviderHttp } from '../../../lambda/providers/http';
import { redactProviderText, credentialParts, MAX_PROVIDER_TEXT } from '../../../lambda/providers/redact';
import { FakeClock } from '../../support/fake-clock';
import { secretValue } from '../../support/leak-guard';

const ADMIN = secretValue('rk_admin_Zx81aPq0mW2sLk7Yb3Nc');
const KEY = secretValue('sk_live_4eC39HqLyjWDarjtT1zdp7dc');
const TWILIO_SECRET = secretValue('tw1l10Secr3tValueQ9xR2');
const OTHER_TOKEN = secretValue('ghp_16C7e42F292c6912E7710c838347Ae178B4a');

/** A provider that echoes whatever credential it was sent in its error body, in `status`'s words. */
function echoing(status: number, shape: (echo: string) => unknown) {
  const fn = (async (_input: string | URL | Request, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    const sent = headers.get('authorization') ?? '';
    const decoded = sent.startsWith('Basic ') ? Buffer.from(sent.slice(6), 'base64').toString('utf8') : sent.replace(/^Bearer /, '');
    return new Response(JSON.stringify(shape(`you sent '${decoded}' (header '${sent}'), also try ${OTHER_TOKEN}`)), {
      status,
      headers: { 'content-type': 'application/json', 'retry-after': '1' },
    });
  }) as typeof fetch;
  return new ProviderHttp({
    provider: 'unit',
    baseUrl: 'https://api.example.com',
    clock: new FakeClock(),
    fetch: fn,
    auth: async () => ({ authorization: `Bearer ${ADMIN}` }),
  });
}

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

function expectClean(err: ProviderError): void {
  const text = `${String(err)} ${err.stack ?? ''} ${JSON.stringify({ ...err })}`;
  for (const secret of [ADMIN, KEY, TWILIO_SECRET, OTHER_TOKEN]) expect(text).not.toContain(secret);
}

describe('Provider error redaction', () => {
  const shapes: Array<[string, (echo: string) => unknown, string | undefined]> = [
    ['{error: {code, message}}', (m) => ({ error: { code: 'invalid_api_key', message: m } }), 'invalid_api_key'],
    ['{errors: [{code, message}]}', (m) => ({ errors: [{ code: 1000, message: m }] }), '1000'],
    ['{errors: [string]}', (m) => ({ errors: [m] }), undefined],
    ['{code, message}', (m) => ({ code: 20003, message: m }), '20003'],
  ];

  for (const status of [400, 401, 403, 404, 409, 429, 500, 503]) {
    for (const [name, shape, code] of shapes) {
      it(`keeps the admin credential out of an HTTP ${status} ${name} error, keeping the provider's code`, async () => {
        // Act
        const err = await failure(echoing(status, shape).request({ method: 'GET', path: '/keys', what: 'list keys', keyId: status === 404 ? 'key-1' : undefined }));

        // Assess
        expectClean(err);
        expect(err.status).toBe(status);
        expect(err.message).toContain('you sent');
        expect(err.providerCode).toBe(code);
      });
    }
  }

  it('keeps the key being verified out of the error, Bearer or Basic', async () => {
    // Act
    const bearer = await failure(echoing(401, shapes[0]![1]).request({ method: 'GET', path: '/me', auth: { authorization: `Bearer ${KEY}` }, what: 'verify key' }));
    const basic = await failure(
      echoing(401, shapes[3]![1]).request({ method: 'GET', path: '/me', auth: { authorization: basicAuth('SK0123456789abcdef', TWILIO_SECRET) }, what: 'verify key' }),
    );

    // Assess
    expectClean(bearer);
    expectClean(basic);
    expect(basic.message).not.toContain(Buffer.from(`SK0123456789abcdef:${TWILIO_SECRET}`).toString('base64'));
  });

  it('bounds the provider text and strips control characters', async () => {
    // Act
    const err = await failure(echoing(400, () => ({ message: `line one\nFAKE LOG LINE ${'x '.repeat(2000)}` })).request({ method: 'GET', path: '/keys', what: 'list keys' }));

    // Assess
    expect(err.message).not.toContain('\n');
    expect(err.message.length).toBeLessThan(MAX_PROVIDER_TEXT + 200);
  });
});

describe('Function: redactProviderText', () => {
  it('removes every value sent and anything shaped like a token, keeping ordinary words', () => {
    // Act
    const out = redactProviderText(`key ${KEY} rejected; ${OTHER_TOKEN} too; eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig123abcXYZ; limit reached`, [KEY]);

    // Assess
    expect(out).not.toContain(KEY);
    expect(out).not.toContain(OTHER_TOKEN);
    expect(out).not.toContain('eyJhbGciOiJIUzI1NiJ9');
    expect(out).toContain('rejected');
    expect(out).toContain('limit reached');
  });

  it('removes a sent value even when it is too short or plain to look like a token', () => {
    expect(redactProviderText('the password hunter2hunter is wrong', ['hunter2hunter'])).not.toContain('hunter2hunter');
  });
});

describe('Function: credentialParts', () => {
  it('splits auth headers into every form a provider may echo', () => {
    // Act
    const parts = credentialParts({ authorization: basicAuth('user-name', TWILIO_SECRET), 'dd-api-key': KEY });

    // Assess
    expect(parts).toEqual(expect.arrayContaining([TWILIO_SECRET, 'user-name', `user-name:${TWILIO_SECRET}`, KEY]));
  });
});
