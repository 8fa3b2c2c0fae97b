/**
 * Deterministic verification of client request signatures on the replica (Ed25519, RFC 8032,
 * via node:crypto / OpenSSL). Every correct replica reaches the same verdict for the same bytes,
 * so it may run inside ordered execution.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { CartRequest } from '../wire/codec.ts';
import { clientIdOf, signedRequestBytes, toHex } from '../wire/digest.ts';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4) before the 32 raw key bytes. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Verifies request signatures; caches parsed public keys (bounded LRU) and recent positive
 * verdicts (bounded FIFO): the contact replica checks a request on receipt and again when it is
 * ordered, and a client's retransmission is checked again — each a repeat of the same
 * (public key, signed bytes, signature). A verdict is reused only for byte-identical inputs
 * (keyed by the signature, matched on SHA-256 of public key ‖ signed bytes), so the verdict is
 * the same as a fresh check (Ed25519 verification is deterministic).
 */
export class RequestVerifier {
  private readonly keys = new Map<string, KeyObject | null>();
  /** signature (hex) → SHA-256(public key ‖ signed bytes) (hex) of a valid request. */
  private readonly verified = new Map<string, string>();
  /** Verdicts served from the cache (diagnostics). */
  cacheHits = 0;

  /**
   * @param maxCachedKeys parsed keys kept (default 4096)
   * @param maxCachedVerdicts positive verdicts kept (default 4096; 0 disables the cache)
   */
  constructor(
    private readonly maxCachedKeys = 4096,
    private readonly maxCachedVerdicts = 4096,
  ) {}

  /** Client id (32 bytes) of a request: SHA-256 of its public key. */
  clientId(req: CartRequest): Uint8Array {
    return clientIdOf(req.clientPublicKey);
  }

  /**
   * True iff `req.signature` is a valid Ed25519 signature by `req.clientPublicKey` over
   * `signedRequestBytes(clientId, req)` (all signed fields, incl. `fresh`). Never throws.
   */
  verify(req: CartRequest, clientId: Uint8Array = this.clientId(req)): boolean {
    const key = this.key(req.clientPublicKey);
    if (!key) return false;
    try {
      const bytes = signedRequestBytes(clientId, req);
      if (this.maxCachedVerdicts <= 0) return verify(null, bytes, key, req.signature);
      const sigHex = toHex(req.signature);
      const digest = createHash('sha256').update(req.clientPublicKey).update(bytes).digest('hex');
      if (this.verified.get(sigHex) === digest) {
        this.cacheHits++;
        return true;
      }
      if (!verify(null, bytes, key, req.signature)) return false;
      this.verified.set(sigHex, digest);
      if (this.verified.size > this.maxCachedVerdicts) this.verified.delete(this.verified.keys().next().value as string);
      return true;
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
