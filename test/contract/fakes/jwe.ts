import { constants, createCipheriv, publicEncrypt, randomBytes } from 'node:crypto';

/**
 * Seals `secret` the way Stripe's rotate sample shows (`encrypted_secret.ciphertext`, format `jwe_compact`, protected
 * header {"alg":"RSA-OAEP-256","enc":"A256GCM"}), RFC 7516 compact serialization, to the PEM key the request sent.
 */
export function sealJwe(secret: string, publicPem: string): string {
  const header = Buffer.from(JSON.stringify({ alg: 'RSA-OAEP-256', enc: 'A256GCM' })).toString('base64url');
  const cek = randomBytes(32);
  const iv = randomBytes(12);
  const wrapped = publicEncrypt({ key: publicPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
  const cipher = createCipheriv('aes-256-gcm', cek, iv);
  cipher.setAAD(Buffer.from(header, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [header, wrapped.toString('base64url'), iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}
