/**
 * Node-only client identity: Ed25519 via node:crypto (OpenSSL), much faster than the pure-JS
 * signer of `identity.ts`; same keys, same signatures (Ed25519 is deterministic, RFC 8032).
 * `connect()` picks it automatically on Node when no identity is given.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign } from 'node:crypto';
import { clientIdOf } from '../wire/digest.ts';
import type { ClientIdentity } from './identity.ts';

/** DER prefix of an Ed25519 PKCS#8 private key (RFC 8410 §7) before the 32-byte seed. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Create an identity from a 32-byte Ed25519 seed, or a fresh random one (node:crypto CSPRNG).
 * @throws {RangeError} if `secretKey` is not 32 bytes
 */
export function createNodeClientIdentity(secretKey?: Uint8Array): ClientIdentity {
  const seed = secretKey ? Buffer.from(secretKey) : randomBytes(32);
  if (seed.length !== 32) throw new RangeError('Ed25519 secret key must be 32 bytes');
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  seed.fill(0);
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32));
  const clientId = clientIdOf(publicKey);
  return {
    publicKey,
    clientId,
    sign: (message: Uint8Array) => new Uint8Array(sign(null, message, key)),
    toJSON: () => ({ clientId: Array.from(clientId) }),
  } as ClientIdentity;
}
