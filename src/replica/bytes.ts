/** Minimal big-endian byte writer/reader for CART's deterministic snapshot encoding. */

/** Thrown when snapshot bytes end early or hold an invalid value. */
export class SnapshotFormatError extends Error {
  override name = 'SnapshotFormatError';
}

/** Appends big-endian integers and byte strings. */
export class ByteWriter {
  private parts: Uint8Array[] = [];
  private size = 0;

  /** Append raw bytes. */
  raw(b: Uint8Array): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
  /** Append a uint32. */
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v);
    return this.raw(b);
  }
  /** Append a uint64. */
  u64(v: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v);
    return this.raw(b);
  }
  /** Append a uint32 length then the bytes. */
  bytes(b: Uint8Array): this {
    return this.u32(b.length).raw(b);
  }
  /** Concatenate everything written. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** Reads what {@link ByteWriter} wrote; throws {@link SnapshotFormatError} on truncation. */
export class ByteReader {
  private off = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): void {
    if (this.off + n > this.buf.length) throw new SnapshotFormatError('snapshot truncated');
  }
  /** Next `n` raw bytes (a copy). */
  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.slice(this.off, this.off + n);
    this.off += n;
    return out;
  }
  /** Next uint32. */
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.off);
    this.off += 4;
    return v;
  }
  /** Next uint64. */
  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.off);
    this.off += 8;
    return v;
  }
  /** Next length-prefixed byte string. */
  bytes(): Uint8Array {
    return this.raw(this.u32());
  }
  /** Bytes not yet read. */
  get remaining(): number {
    return this.buf.length - this.off;
  }
}
