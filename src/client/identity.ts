/**
 * Client identity: an Ed25519 key pair (RFC 8032). The client id is SHA-256 of the public key,
 * so nobody can issue requests under another client's id without its secret key.
 * Pure JavaScript (`@noble/curves`), usable in browsers.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { clientIdOf, requestSigningBytes } from '../wire/digest.ts';

/** A client's signing identity. The secret key never leaves this object. */
export interface ClientIdentity {
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** 32-byte client id = SHA-256(publicKey). */
  readonly clientId: Uint8Array;
  /** Ed25519 signature (64 bytes) over `message`. */
  sign(message: Uint8Array): Uint8Array;
}

/**
 * Create an identity from a 32-byte Ed25519 secret key (seed), or a fresh random one.
 * @param secretKey 32-byte seed; omitted: drawn from the platform CSPRNG (crypto.getRandomValues)
 * @throws {RangeError} if `secretKey` is not 32 bytes
 */
export function createClientIdentity(secretKey?: Uint8Array): ClientIdentity {
  const sk = secretKey ? Uint8Array.from(secretKey) : ed25519.utils.randomSecretKey();
  if (sk.length !== 32) throw new RangeError('Ed25519 secret key must be 32 bytes');
  const publicKey = ed25519.getPublicKey(sk);
  const clientId = clientIdOf(publicKey);
  return {
    publicKey,
    clientId,
    sign: (message) => ed25519.sign(message, sk),
    // keep the secret out of util.inspect / JSON output
    toJSON: () => ({ clientId: Array.from(clientId) }),
  } as ClientIdentity;
}

/**
 * The Ed25519 signature (64 bytes) a client puts on a request, over
 * `requestSigningBytes(clientId, requestId, readOnly, operation, fresh, ack)` (src/wire/digest.ts).
 * @param fresh the request's freshness sequence (docs/protocol.md §"Freshness"); default 0
 * @param ack the client's acknowledgement: replies held for every id below it (§4.2); default 0
 */
export function signRequest(identity: ClientIdentity, requestId: bigint, readOnly: boolean, operation: Uint8Array, fresh = 0n, ack = 0n): Uint8Array {
  return identity.sign(requestSigningBytes(identity.clientId, requestId, readOnly, operation, fresh, ack));
}
