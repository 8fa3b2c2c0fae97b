/**
 * What CART signs: byte layouts of the client's request signature input, the reply digest
 * (a Merkle leaf) and the batch-root message that replicas threshold-sign.
 * Shared by client and replica so both compute exactly the same bytes. Browser-safe (only
 * `@noble/hashes`). Layouts are specified in docs/protocol.md §"What is signed".
 */
import { sha256 } from '@noble/hashes/sha2.js';

const enc = new TextEncoder();
/** Domain/version tags; each ends with a NUL byte so no tag is a prefix of another's data. */
export const TAGS = Object.freeze({
  request: enc.encode('CART/v1/request\0'),
  reply: enc.encode('CART/v1/reply\0'),
  batchRoot: enc.encode('CART/v1/batch-root\0'),
});

/** Name of the key set for ordered replies (t = f+1). */
export const ORDERED_KEY_SET = 'ordered';
/** Name of the key set for read-only replies (t = 2f+1), issue 5. */
export const READONLY_KEY_SET = 'readonly';

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function u64be(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  return b;
}

function u32be(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v);
  return b;
}

/** SHA-256 (FIPS 180-4). */
export function digest(data: Uint8Array): Uint8Array {
  return sha256(data);
}

/** Client id = SHA-256(Ed25519 public key), 32 bytes. */
export function clientIdOf(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey);
}

/**
 * Bytes the client signs with Ed25519 for one request:
 * `TAG_request || clientId(32) || requestId(u64 BE) || readOnly(u8) || fresh(u64 BE) || ack(u64 BE) || SHA-256(operation)`.
 * `fresh` is the request's freshness sequence (docs/protocol.md §"Freshness"), `ack` its
 * acknowledgement (§4.2); both default 0. Integers are written modulo 2^64 (decoded requests are
 * always in range).
 */
export function requestSigningBytes(clientId: Uint8Array, requestId: bigint, readOnly: boolean, operation: Uint8Array, fresh = 0n, ack = 0n): Uint8Array {
  return concat([TAGS.request, clientId, u64be(requestId), Uint8Array.of(readOnly ? 1 : 0), u64be(fresh), u64be(ack), sha256(operation)]);
}

/** The request fields covered by the client's signature (a {@link CartRequest} satisfies it). */
export interface SignedRequestFields {
  readonly requestId: bigint;
  readonly readOnly: boolean;
  readonly operation: Uint8Array;
  /** Freshness sequence; absent means 0. */
  readonly fresh?: bigint;
  /** Acknowledgement; absent means 0. */
  readonly ack?: bigint;
}

/**
 * {@link requestSigningBytes} of a decoded request: the one builder both the client (signing)
 * and the replica (verifying) use, so every signed field is covered on both sides.
 */
export function signedRequestBytes(clientId: Uint8Array, req: SignedRequestFields): Uint8Array {
  return requestSigningBytes(clientId, req.requestId, req.readOnly, req.operation, req.fresh ?? 0n, req.ack ?? 0n);
}

/** The fields a reply digest binds together. */
export interface ReplyDigestInput {
  /** Key set that will sign ('ordered' / 'readonly'). */
  readonly keySet: string;
  /** 32-byte client id. */
  readonly clientId: Uint8Array;
  readonly requestId: bigint;
  /** SHA-256 of the request's operation bytes. */
  readonly operationDigest: Uint8Array;
  readonly result: Uint8Array;
}

/**
 * Reply digest (a Merkle leaf):
 * `SHA-256(TAG_reply || u8 len(keySet) || keySet || clientId || requestId(u64 BE) || opDigest || u32 BE len(result) || result)`.
 * Binds a result to one request of one client under one key set.
 * @throws {RangeError} if the key set name is longer than 255 UTF-8 bytes
 */
export function replyDigest(input: ReplyDigestInput): Uint8Array {
  const ks = enc.encode(input.keySet);
  if (ks.length > 255) throw new RangeError('key set name longer than 255 bytes');
  return sha256(
    concat([
      TAGS.reply,
      Uint8Array.of(ks.length),
      ks,
      input.clientId,
      u64be(input.requestId),
      input.operationDigest,
      u32be(input.result.length),
      input.result,
    ]),
  );
}

/**
 * The message threshold-signed per batch:
 * `TAG_batchRoot || u8 len(keySet) || keySet || sequence(u64 BE) || root(32) || leafCount(u32 BE)`.
 * `sequence` is the protocol-agreed batch position (never a local counter).
 */
export function batchRootMessage(keySet: string, sequence: bigint, root: Uint8Array, leafCount: number): Uint8Array {
  const ks = enc.encode(keySet);
  if (ks.length > 255) throw new RangeError('key set name longer than 255 bytes');
  return concat([TAGS.batchRoot, Uint8Array.of(ks.length), ks, u64be(sequence), root, u32be(leafCount)]);
}

/** Constant-structure byte equality (not secret-dependent data; plain loop). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lower-case hex of bytes (for map keys and logs). */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
