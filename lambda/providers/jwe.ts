import { constants, createDecipheriv, generateKeyPair, privateDecrypt, type KeyObject } from 'node:crypto';

/**
 * A one-use RSA key pair for a provider that returns a new secret only encrypted to a public key the caller sends
 * (Stripe's `public_key` on rotate). The private key lives in memory for one `issue` and is never stored or sent.
 */
export interface RecipientKey {
  /** The public key, PEM (SPKI), as the provider asks for it. */
  publicPem: string;
  privateKey: KeyObject;
}

/** RSA modulus of {@link newRecipientKey}: the ">= 2048 bits" Stripe asks for. */
const RSA_BITS = 2048;

/** A fresh RSA key pair to receive one encrypted secret. */
export async function newRecipientKey(): Promise<RecipientKey> {
  const { publicKey, privateKey } = await new Promise<{ publicKey: KeyObject; privateKey: KeyObject }>((resolve, reject) =>
    generateKeyPair('rsa', { modulusLength: RSA_BITS }, (err, pub, priv) => (err ? reject(err) : resolve({ publicKey: pub, privateKey: priv }))),
  );
  return { publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey };
}

/** Why a JWE could not be opened; never quotes the token or what it holds. */
export class JweError extends Error {}

/** The one algorithm pair accepted: the header of Stripe's own rotate sample, `{"alg":"RSA-OAEP-256","enc":"A256GCM"}`. */
const ALG = 'RSA-OAEP-256';
const ENC = 'A256GCM';

/**
 * Decrypts a JWE in compact serialization (RFC 7516 §7.1) encrypted to `privateKey` with RSA-OAEP-256 key wrapping
 * and A256GCM content encryption, the pair Stripe's sample uses. Any other header, a wrong key or a tampered token
 * is a {@link JweError} (GCM authenticates the protected header, the IV and the ciphertext).
 * @returns the plaintext, UTF-8
 */
export function decryptCompactJwe(token: string, privateKey: KeyObject): string {
  const parts = token.split('.');
  if (parts.length !== 5) throw new JweError(`not a compact JWE (${parts.length} parts, expected 5)`);
  const [protectedB64 = '', encryptedKeyB64 = '', ivB64 = '', ciphertextB64 = '', tagB64 = ''] = parts;
  let header: { alg?: unknown; enc?: unknown };
  try {
    header = JSON.parse(Buffer.from(protectedB64, 'base64url').toString('utf8')) as { alg?: unknown; enc?: unknown };
  } catch {
    throw new JweError('the JWE protected header is not JSON');
  }
  if (header.alg !== ALG || header.enc !== ENC) {
    throw new JweError(`JWE alg '${String(header.alg)}' / enc '${String(header.enc)}' is not supported (expected ${ALG} / ${ENC})`);
  }
  try {
    const cek = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from(encryptedKeyB64, 'base64url'));
    const decipher = createDecipheriv('aes-256-gcm', cek, Buffer.from(ivB64, 'base64url'));
    decipher.setAAD(Buffer.from(protectedB64, 'ascii'));
    decipher.setAuthTag(Buffer.from(tagB64, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertextB64, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new JweError('the JWE did not decrypt with the key it was sent to (wrong key or tampered token)');
  }
}
