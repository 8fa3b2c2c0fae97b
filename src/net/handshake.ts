/**
 * The authenticated key exchange of {@link TcpPeerNetwork} and the per-frame MAC that follows.
 * Pure functions over bytes: no sockets here.
 *
 * Design (a SIGMA-style signed Diffie-Hellman, cf. Krawczyk, "SIGMA", CRYPTO 2003; the same
 * shape as the TLS 1.3 handshake with mutual certificate authentication, RFC 8446 §4.4):
 *
 * ```
 * initiator i (lower id)                                  responder r
 *   HELLO  = [1, ver, i:u16, r:u16, nonce_i:32, X_i:32]  ──▶
 *          ◀── REPLY = [2, ver, r:u16, i:u16, nonce_r:32, X_r:32, Sig_r(label_r ‖ T):64]
 *   FINISH = [3, Sig_i(label_i ‖ T):64]                  ──▶
 * T = HELLO ‖ REPLY-without-signature;  label_r/label_i distinguish roles (no reflection).
 * shared = X25519(x_i, X_r);  salt = SHA-256("cart-peer-v1" ‖ T)
 * k_i→r = HKDF-SHA256(shared, salt, "cart-peer-v1 i2r", 32);  k_r→i likewise with "r2i"
 * DATA   = [4, counter:u64, HMAC-SHA256(k_dir, 4 ‖ counter ‖ payload):32, payload]
 * HEARTBEAT = [5, counter:u64, HMAC-SHA256(k_dir, 5 ‖ counter):32]  (keep-alive, same counter)
 * DATA_MULTI = [6, counter:u64, HMAC:32, ([len:u32][message])+]     (several messages of one tick)
 * FRAGMENT  = [7, counter:u64, HMAC:32, flags:u8, (total:u32 if flags = FIRST), bytes]
 *             (one piece of a message larger than one frame; see TcpPeerNetwork)
 * ```
 * Properties: both sides prove possession of their configured Ed25519 key over a transcript
 * holding both ids, both fresh nonces and both ephemeral keys, so a handshake cannot be
 * replayed, redirected to another replica (the ids are signed) or reflected (role labels).
 * Ephemeral X25519 gives forward secrecy of the MAC keys. Each direction has its own key and a
 * counter that must strictly increase, so a replayed, reordered or reflected data frame fails.
 * Frames are authenticated, not encrypted (replica traffic is not secret in BFT SMR).
 */
import { createHash, createHmac, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { importX25519PublicKey, rawPublicKey } from './keys.ts';

export const HANDSHAKE_VERSION = 1;
export const MSG_HELLO = 1;
export const MSG_REPLY = 2;
export const MSG_FINISH = 3;
export const MSG_DATA = 4;
/** Authenticated keep-alive: a DATA-shaped frame with an empty payload, never delivered. */
export const MSG_HEARTBEAT = 5;
/**
 * Authenticated DATA frame carrying several messages (all sent to one peer in one tick): the
 * payload is a sequence of [u32 big-endian length][message] entries; one MAC covers them all.
 */
export const MSG_DATA_MULTI = 6;
/**
 * Authenticated piece of a message larger than one frame. Payload: `[flags:u8]`, then for the
 * first piece (`flags = FRAGMENT_FIRST`) the message's total length `[u32 BE]`, then message
 * bytes; later pieces have `flags = 0`. The pieces of one message are consecutive frames of the
 * session (same MAC and counter rules as DATA); the message is complete when `total` bytes
 * arrived.
 */
export const MSG_DATA_FRAGMENT = 7;
/** `flags` of the first fragment of a message (it carries the total length). */
export const FRAGMENT_FIRST = 1;
/** Bytes after the DATA header in the first fragment (flags + total length) and in later ones (flags). */
export const FRAGMENT_FIRST_HEADER_BYTES = 5;
export const FRAGMENT_HEADER_BYTES = 1;
const NONCE = 32;
const KEY = 32;
const SIG = 64;
const MAC = 32;
export const HELLO_BYTES = 1 + 1 + 2 + 2 + NONCE + KEY;
export const REPLY_BYTES = HELLO_BYTES + SIG;
export const FINISH_BYTES = 1 + SIG;
export const DATA_HEADER_BYTES = 1 + 8 + MAC;
const LABEL_RESPONDER = Buffer.from('cart-peer-v1 responder');
const LABEL_INITIATOR = Buffer.from('cart-peer-v1 initiator');

/** A parsed HELLO or REPLY (without signature). */
export interface HelloFields {
  from: number;
  to: number;
  nonce: Buffer;
  ephemeral: Buffer;
}

/** Directional MAC keys of one authenticated session. */
export interface SessionKeys {
  send: Buffer;
  receive: Buffer;
}

/** Ephemeral state of one side during the handshake. */
export interface Ephemeral {
  privateKey: KeyObject;
  publicRaw: Buffer;
  nonce: Buffer;
}

/** Fresh X25519 key pair and nonce for one handshake. */
export function newEphemeral(): Ephemeral {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { privateKey, publicRaw: rawPublicKey(publicKey), nonce: randomBytes(NONCE) };
}

/** Encode a HELLO (type 1) or the unsigned part of a REPLY (type 2). */
export function encodeHello(type: typeof MSG_HELLO | typeof MSG_REPLY, h: HelloFields): Buffer {
  const b = Buffer.alloc(HELLO_BYTES);
  b[0] = type;
  b[1] = HANDSHAKE_VERSION;
  b.writeUInt16BE(h.from, 2);
  b.writeUInt16BE(h.to, 4);
  h.nonce.copy(b, 6);
  h.ephemeral.copy(b, 6 + NONCE);
  return b;
}

/** Parse a HELLO/REPLY body (first HELLO_BYTES bytes); undefined when malformed. */
export function decodeHello(type: number, b: Buffer): HelloFields | undefined {
  if (b.length < HELLO_BYTES || b[0] !== type || b[1] !== HANDSHAKE_VERSION) return undefined;
  return {
    from: b.readUInt16BE(2),
    to: b.readUInt16BE(4),
    nonce: b.subarray(6, 6 + NONCE),
    ephemeral: b.subarray(6 + NONCE, HELLO_BYTES),
  };
}

/** Responder signature over the transcript. */
export function signResponder(identity: KeyObject, transcript: Buffer): Buffer {
  return sign(null, Buffer.concat([LABEL_RESPONDER, transcript]), identity);
}

/** Initiator signature over the transcript. */
export function signInitiator(identity: KeyObject, transcript: Buffer): Buffer {
  return sign(null, Buffer.concat([LABEL_INITIATOR, transcript]), identity);
}

/** Check a role signature; never throws. */
export function verifyRole(role: 'initiator' | 'responder', peerKey: KeyObject, transcript: Buffer, sig: Buffer): boolean {
  if (sig.length !== SIG) return false;
  try {
    return verify(null, Buffer.concat([role === 'initiator' ? LABEL_INITIATOR : LABEL_RESPONDER, transcript]), peerKey, sig);
  } catch {
    return false;
  }
}

/**
 * Derive the session keys. `role` is this side's role.
 * @throws {Error} if the peer's ephemeral key is invalid (e.g. a low-order point → all-zero secret)
 */
export function deriveSessionKeys(role: 'initiator' | 'responder', own: Ephemeral, peerEphemeral: Buffer, transcript: Buffer): SessionKeys {
  const shared = diffieHellman({ privateKey: own.privateKey, publicKey: importX25519PublicKey(peerEphemeral) });
  if (shared.every((x) => x === 0)) throw new Error('degenerate X25519 shared secret');
  const salt = createHash('sha256').update('cart-peer-v1').update(transcript).digest();
  const i2r = Buffer.from(hkdfSync('sha256', shared, salt, 'cart-peer-v1 i2r', KEY));
  const r2i = Buffer.from(hkdfSync('sha256', shared, salt, 'cart-peer-v1 r2i', KEY));
  return role === 'initiator' ? { send: i2r, receive: r2i } : { send: r2i, receive: i2r };
}

function mac(key: Buffer, type: number, counter: bigint, payload: Uint8Array): Buffer {
  const c = Buffer.alloc(9);
  c[0] = type;
  c.writeBigUInt64BE(counter, 1);
  return createHmac('sha256', key).update(c).update(payload).digest();
}

/** Encode an authenticated DATA (or HEARTBEAT) frame; the MAC covers type, counter, payload. */
export function sealData(
  key: Buffer,
  counter: bigint,
  payload: Uint8Array,
  type: typeof MSG_DATA | typeof MSG_HEARTBEAT | typeof MSG_DATA_MULTI | typeof MSG_DATA_FRAGMENT = MSG_DATA,
): Buffer {
  const b = Buffer.allocUnsafe(DATA_HEADER_BYTES + payload.length);
  b[0] = type;
  b.writeBigUInt64BE(counter, 1);
  mac(key, type, counter, payload).copy(b, 9);
  b.set(payload, DATA_HEADER_BYTES);
  return b;
}

/**
 * Encode one authenticated {@link MSG_DATA_FRAGMENT} frame holding `chunk` (one copy, no
 * intermediate payload buffer). `total` (the whole message's length) is written only when `first`.
 */
export function sealFragment(key: Buffer, counter: bigint, first: boolean, total: number, chunk: Uint8Array): Buffer {
  const h = first ? FRAGMENT_FIRST_HEADER_BYTES : FRAGMENT_HEADER_BYTES;
  const b = Buffer.allocUnsafe(DATA_HEADER_BYTES + h + chunk.length);
  b[0] = MSG_DATA_FRAGMENT;
  b.writeBigUInt64BE(counter, 1);
  b[DATA_HEADER_BYTES] = first ? FRAGMENT_FIRST : 0;
  if (first) b.writeUInt32BE(total, DATA_HEADER_BYTES + 1);
  b.set(chunk, DATA_HEADER_BYTES + h);
  mac(key, MSG_DATA_FRAGMENT, counter, b.subarray(DATA_HEADER_BYTES)).copy(b, 9);
  return b;
}

/**
 * Payload of a {@link MSG_DATA_MULTI} frame: each message as [u32 BE length][bytes].
 * @throws {RangeError} if there are no messages
 */
export function encodeMulti(messages: readonly Uint8Array[]): Buffer {
  if (messages.length === 0) throw new RangeError('no messages');
  let total = 0;
  for (const m of messages) total += 4 + m.length;
  const b = Buffer.allocUnsafe(total);
  let o = 0;
  for (const m of messages) {
    b.writeUInt32BE(m.length, o);
    b.set(m, o + 4);
    o += 4 + m.length;
  }
  return b;
}

/** Splits a {@link MSG_DATA_MULTI} payload; `undefined` if malformed (truncated entry, or empty). */
export function decodeMulti(payload: Buffer): Buffer[] | undefined {
  const out: Buffer[] = [];
  let o = 0;
  while (o < payload.length) {
    if (payload.length - o < 4) return undefined;
    const len = payload.readUInt32BE(o);
    if (len > payload.length - o - 4) return undefined;
    out.push(payload.subarray(o + 4, o + 4 + len));
    o += 4 + len;
  }
  return out.length > 0 ? out : undefined;
}

/** Result of {@link openData}. */
export type OpenResult =
  | { ok: true; heartbeat: boolean; multi: boolean; fragment: boolean; counter: bigint; payload: Buffer }
  | { ok: false; reason: 'malformed' | 'bad-mac' };

/** Check and strip the MAC of a DATA/HEARTBEAT/DATA_MULTI/FRAGMENT frame (the caller checks the counter's freshness). */
export function openData(key: Buffer, frame: Buffer): OpenResult {
  const type = frame[0];
  if (frame.length < DATA_HEADER_BYTES || (type !== MSG_DATA && type !== MSG_HEARTBEAT && type !== MSG_DATA_MULTI && type !== MSG_DATA_FRAGMENT)) return { ok: false, reason: 'malformed' };
  const counter = frame.readBigUInt64BE(1);
  const payload = frame.subarray(DATA_HEADER_BYTES);
  if (type === MSG_HEARTBEAT && payload.length !== 0) return { ok: false, reason: 'malformed' };
  const expect = mac(key, type, counter, payload);
  if (!timingSafeEqual(expect, frame.subarray(9, DATA_HEADER_BYTES))) return { ok: false, reason: 'bad-mac' };
  return { ok: true, heartbeat: type === MSG_HEARTBEAT, multi: type === MSG_DATA_MULTI, fragment: type === MSG_DATA_FRAGMENT, counter, payload };
}
