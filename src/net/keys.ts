/**
 * Ed25519 static identity keys of replicas (node:crypto), in the text encodings used by config
 * files: a public key is the base64 of its raw 32 bytes (RFC 8032 §5.1.5 encoding); a private
 * key is the base64 of its PKCS#8 DER encoding (RFC 8410).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { NetError } from './errors.ts';

/** An Ed25519 key pair in config-file encoding. */
export interface EncodedKeyPair {
  /** base64 of the raw 32-byte public key */
  publicKey: string;
  /** base64 of the PKCS#8 DER private key */
  privateKey: string;
}

/** Generate a fresh Ed25519 key pair (config-file encoding). */
export function generateIdentityKeyPair(): EncodedKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: rawPublicKey(publicKey).toString('base64'),
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
  };
}

/** The raw 32 bytes of an Ed25519 (or X25519) public key. */
export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new NetError('bad-config', 'not an OKP public key');
  return Buffer.from(jwk.x, 'base64url');
}

/**
 * Import a base64 raw Ed25519 public key.
 * @throws {NetError} `bad-config` if it is not 32 bytes of valid base64 or not a valid point
 */
export function importIdentityPublicKey(base64: string): KeyObject {
  const raw = Buffer.from(base64, 'base64');
  if (raw.length !== 32) throw new NetError('bad-config', `Ed25519 public key must be 32 bytes, got ${raw.length}`);
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch (err) {
    throw new NetError('bad-config', `invalid Ed25519 public key: ${(err as Error).message}`);
  }
}

/**
 * Import a base64 PKCS#8 DER Ed25519 private key.
 * @throws {NetError} `bad-config` if malformed or not Ed25519
 */
export function importIdentityPrivateKey(base64: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new NetError('bad-config', `invalid private key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new NetError('bad-config', `expected an Ed25519 key, got ${key.asymmetricKeyType}`);
  return key;
}

/** Import a raw 32-byte X25519 public key (ephemeral handshake key). @throws {Error} if invalid */
export function importX25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}
