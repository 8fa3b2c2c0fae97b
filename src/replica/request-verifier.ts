/**
 * Deterministic verification of client request signatures on the replica (Ed25519, RFC 8032,
 * via node:crypto / OpenSSL). Every correct replica reaches the same verdict for the same bytes,
 * so it may run inside ordered execution.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { CartRequest } from '../wire/codec.ts';
import { clientIdOf, requestSigningBytes, toHex } from '../wire/digest.ts';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4) before the 32 raw key bytes. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Verifies request signatures; caches parsed public keys (bounded LRU). */
export class RequestVerifier {
  private readonly keys = new Map<string, KeyObject | null>();

  /** @param maxCachedKeys parsed keys kept (default 4096) */
  constructor(private readonly maxCachedKeys = 4096) {}

  /** Client id (32 bytes) of a request: SHA-256 of its public key. */
  clientId(req: CartRequest): Uint8Array {
    return clientIdOf(req.clientPublicKey);
  }

  /**
   * True iff `req.signature` is a valid Ed25519 signature by `req.clientPublicKey` over
   * `requestSigningBytes(clientId, requestId, readOnly, operation)`. Never throws.
   */
  verify(req: CartRequest, clientId: Uint8Array = this.clientId(req)): boolean {
    const key = this.key(req.clientPublicKey);
    if (!key) return false;
    try {
      return verify(null, requestSigningBytes(clientId, req.requestId, req.readOnly, req.operation), key, req.signature);
    } catch {
      return false;
    }
  }

  private key(raw: Uint8Array): KeyObject | null {
    const id = toHex(raw);
    const hit = this.keys.get(id);
    if (hit !== undefined) {
      this.keys.delete(id);
      this.keys.set(id, hit);
      return hit;
    }
    let key: KeyObject | null;
    try {
      key = raw.length === 32 ? createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' }) : null;
    } catch {
      key = null;
    }
    this.keys.set(id, key);
    if (this.keys.size > this.maxCachedKeys) this.keys.delete(this.keys.keys().next().value as string);
    return key;
  }
}
