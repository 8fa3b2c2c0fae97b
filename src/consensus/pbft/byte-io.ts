/**
 * Byte-level building blocks of the PBFT wire format: bounded big-endian {@link Writer} and
 * {@link Reader}, the typed {@link DecodeError}, limits and digest helpers. Message layouts are in
 * `codec.ts`.
 */
import { createHash } from 'node:crypto';

/** Wire format version written and accepted. */
export const CODEC_VERSION = 1;

/** Hard bounds applied while decoding (independent of the protocol config). */
export const CODEC_LIMITS = {
  /** Max bytes of a request payload or reply result. */
  maxPayloadBytes: 16 << 20,
  /** Max bytes of a state snapshot. */
  maxSnapshotBytes: 1 << 30,
  /** Max signature length. */
  maxSigBytes: 128,
  /** Max client id length in UTF-8 bytes. */
  maxClientIdBytes: 64,
  /** Max requests in one batch. */
  maxBatch: 65_535,
  /** Max entries of any certificate list (checkpoint proofs, prepares, view changes). */
  maxList: 65_535,
  /** Max replica id. */
  maxReplica: 255,
} as const;

/** Length of a SHA-256 digest. */
export const DIGEST_BYTES = 32;

/** Why bytes could not be decoded. */
export type DecodeErrorCode =
  | 'truncated'
  | 'bad-version'
  | 'unknown-type'
  | 'too-large'
  | 'trailing-bytes'
  | 'invalid';

/** The only error {@link decodeMessage} throws. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}


// ---------------------------------------------------------------- writer

export class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  len = 0;
  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.len, v);
    this.len += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.len, v);
    this.len += 4;
  }
  u64(v: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.len, v);
    this.len += 8;
  }
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.raw(b);
  }
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    if (b.length === 0 || b.length > CODEC_LIMITS.maxClientIdBytes) throw new RangeError(`client id of ${b.length} bytes`);
    this.u8(b.length);
    this.raw(b);
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

// ---------------------------------------------------------------- reader

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class Reader {
  private pos = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new DecodeError('truncated', `${what} needs ${n} bytes`);
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }
  raw(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  bytes(max: number, what: string): Uint8Array {
    const n = this.u32(what);
    if (n > max) throw new DecodeError('too-large', `${what}: ${n} bytes > ${max}`);
    return this.raw(n, what);
  }
  replica(what: string): number {
    return this.u8(what); // u8 ≤ maxReplica by construction
  }
  digest(what: string): Uint8Array {
    return this.raw(DIGEST_BYTES, what);
  }
  sig(what: string): Uint8Array {
    const n = this.u8(what);
    if (n > CODEC_LIMITS.maxSigBytes) throw new DecodeError('too-large', `${what}: ${n} bytes`);
    return this.raw(n, what);
  }
  str(what: string): string {
    const n = this.u8(what);
    if (n === 0 || n > CODEC_LIMITS.maxClientIdBytes) throw new DecodeError('invalid', `${what}: length ${n}`);
    const b = this.raw(n, what);
    try {
      return utf8.decode(b);
    } catch {
      throw new DecodeError('invalid', `${what}: not UTF-8`);
    }
  }
  count(max: number, minItemBytes: number, what: string): number {
    const n = this.u32(what);
    if (n > max) throw new DecodeError('too-large', `${what}: ${n} items > ${max}`);
    if (n * minItemBytes > this.remaining) throw new DecodeError('truncated', `${what}: ${n} items`);
    return n;
  }
  bool(what: string): boolean {
    const b = this.u8(what);
    if (b > 1) throw new DecodeError('invalid', `${what}: flag ${b}`);
    return b === 1;
  }
}


/** SHA-256 of arbitrary bytes (32 bytes). */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

/** Constant-time-irrelevant byte equality (digests and results are public). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lower-case hex of bytes (map keys, logs). */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
