/**
 * Small, bounds-checked binary codec shared by the applications' operation, result and snapshot
 * encodings. Browser-safe: no Node-only imports (uses `TextEncoder` / `TextDecoder`).
 *
 * Primitives:
 *  - `u8`: one byte.
 *  - `varint`: unsigned LEB128, at most 5 bytes, value < 2^32; non-minimal encodings are
 *    rejected so that every value has exactly one encoding (canonical bytes for signing).
 *  - `bytes`: varint length + raw bytes.
 *  - `string`: varint length + UTF-8 bytes (decoding rejects invalid UTF-8).
 *  - `i64`: 8 bytes, big-endian two's complement.
 */

/** Malformed bytes: truncated, over a size limit, non-canonical, invalid UTF-8, trailing data. */
export class DecodeError extends Error {
  override readonly name: string = 'DecodeError';
}

/** A value cannot be encoded (over a size limit, out of range, not canonical). */
export class EncodeError extends Error {
  override readonly name: string = 'EncodeError';
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 byte length of `s` (lone surrogates count as the 3-byte replacement character). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Compare two strings in the order of their UTF-8 encodings (= Unicode code point order), so that
 * clients in any language sort keys the same way. Returns <0, 0 or >0.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca !== cb) {
      // UTF-16 code-unit order differs from code-point order only for surrogates vs U+E000..U+FFFF.
      if (ca >= 0xd800 && cb >= 0xd800) {
        ca = ca >= 0xe000 ? ca - 0x800 : ca + 0x2000;
        cb = cb >= 0xe000 ? cb - 0x800 : cb + 0x2000;
      }
      return ca - cb;
    }
  }
  return a.length - b.length;
}

/** Growable byte buffer writer. */
export class ByteWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor(initialCapacity = 64) {
    this.buf = new Uint8Array(initialCapacity);
  }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Append one byte (0..255). */
  u8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  /**
   * Append an unsigned LEB128 varint.
   * @throws {EncodeError} if `v` is not an integer in 0 .. 2^32-1.
   */
  varint(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new EncodeError(`varint out of range: ${v}`);
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
    return this;
  }

  /** Append raw bytes without a length prefix. */
  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /**
   * Append a length-prefixed byte string.
   * @throws {EncodeError} if longer than `maxLength`.
   */
  bytes(b: Uint8Array, maxLength = 0xffffffff, what = 'bytes'): this {
    if (b.length > maxLength) throw new EncodeError(`${what} of ${b.length} bytes exceeds ${maxLength}`);
    return this.varint(b.length).raw(b);
  }

  /**
   * Append a length-prefixed UTF-8 string.
   * @throws {EncodeError} if its UTF-8 encoding is longer than `maxLength` bytes.
   */
  string(s: string, maxLength = 0xffffffff, what = 'string'): this {
    // Fast path for short ASCII strings (keys, field names): no intermediate array.
    if (s.length < 128 && s.length <= maxLength) {
      let ascii = true;
      for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) { ascii = false; break; }
      if (ascii) {
        this.ensure(1 + s.length);
        this.buf[this.len++] = s.length;
        for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
        return this;
      }
    }
    return this.bytes(utf8Encoder.encode(s), maxLength, what);
  }

  /**
   * Append a signed 64-bit integer, big-endian two's complement.
   * @throws {EncodeError} if out of the int64 range.
   */
  i64(v: bigint): this {
    if (v < -(1n << 63n) || v >= 1n << 63n) throw new EncodeError(`int64 out of range: ${v}`);
    this.ensure(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 8).setBigInt64(0, v, false);
    this.len += 8;
    return this;
  }

  /** Current length in bytes. */
  get length(): number {
    return this.len;
  }

  /** The written bytes (a copy sized exactly). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Bounds-checked reader over a byte array; every method throws {@link DecodeError} on bad input. */
export class ByteReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  /** Bytes not yet read. */
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** Read one byte. */
  u8(): number {
    if (this.pos >= this.buf.length) throw new DecodeError('unexpected end of input');
    return this.buf[this.pos++]!;
  }

  /** Read a canonical unsigned LEB128 varint and check it is at most `max`. */
  varint(max = 0xffffffff, what = 'varint'): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw new DecodeError(`non-canonical ${what}`);
        if (result > max) throw new DecodeError(`${what} ${result} exceeds ${max}`);
        return result;
      }
      scale *= 0x80;
    }
    throw new DecodeError(`${what} longer than 5 bytes`);
  }

  /** Read `n` raw bytes (a view into the input; copy before keeping it). */
  raw(n: number): Uint8Array {
    if (n > this.remaining) throw new DecodeError(`need ${n} bytes, ${this.remaining} left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Read a length-prefixed byte string of at most `maxLength` bytes (a view; copy to keep). */
  bytes(maxLength = 0xffffffff, what = 'bytes'): Uint8Array {
    return this.raw(this.varint(maxLength, `${what} length`));
  }

  /** Read a length-prefixed UTF-8 string of at most `maxLength` bytes. */
  string(maxLength = 0xffffffff, what = 'string'): string {
    const b = this.bytes(maxLength, what);
    if (b.length <= 64) {
      // Fast path for short ASCII strings; anything else goes through the validating decoder.
      let out = '';
      for (let i = 0; i < b.length; i++) {
        const c = b[i]!;
        if (c >= 0x80) return this.decodeUtf8(b, what);
        out += String.fromCharCode(c);
      }
      return out;
    }
    return this.decodeUtf8(b, what);
  }

  private decodeUtf8(b: Uint8Array, what: string): string {
    try {
      return utf8Decoder.decode(b);
    } catch {
      throw new DecodeError(`${what} is not valid UTF-8`);
    }
  }

  /** Read a big-endian signed 64-bit integer. */
  i64(): bigint {
    const b = this.raw(8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, false);
  }

  /** Check that all input was consumed. */
  end(): void {
    if (this.remaining !== 0) throw new DecodeError(`${this.remaining} trailing bytes`);
  }
}
