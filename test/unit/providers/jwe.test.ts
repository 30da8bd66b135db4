import { describe, expect, it } from 'vitest';
import { JweError, decryptCompactJwe, newRecipientKey } from '../../../lambda/providers/jwe';
import { sealJwe } from '../../contract/fakes/jwe';

describe('Function: decryptCompactJwe', () => {
  it('opens a compact JWE sealed to the recipient key (RSA-OAEP-256 + A256GCM)', async () => {
    // Prepare
    const recipient = await newRecipientKey();

    // Act
    const opened = decryptCompactJwe(sealJwe('sk_live_opened', recipient.publicPem), recipient.privateKey);

    // Assess
    expect(recipient.publicPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(opened).toBe('sk_live_opened');
  });

  it.each([
    ['four parts', () => 'a.b.c.d', /not a compact JWE \(4 parts, expected 5\)/],
    ['a header that is not JSON', () => `${Buffer.from('not json').toString('base64url')}.a.b.c.d`, /protected header is not JSON/],
  ])('refuses %s', async (_what, token, message) => {
    // Prepare
    const recipient = await newRecipientKey();

    // Act
    const opening = () => decryptCompactJwe(token(), recipient.privateKey);

    // Assess
    expect(opening).toThrow(JweError);
    expect(opening).toThrow(message);
  });

  it('refuses a JWE sealed to another key', async () => {
    // Prepare
    const [recipient, stranger] = await Promise.all([newRecipientKey(), newRecipientKey()]);

    // Act
    const opening = () => decryptCompactJwe(sealJwe('sk_live_other', stranger.publicPem), recipient.privateKey);

    // Assess
    expect(opening).toThrow(/did not decrypt with the key it was sent to/);
  });
});
