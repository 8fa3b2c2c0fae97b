/**
 * Length-prefixed framing over a byte stream (TCP).
 *
 * Wire format of one frame: a 4-byte unsigned big-endian length `L`, then `L` payload bytes.
 * `L = 0` is a valid (empty) frame. A receiver refuses any `L` above its configured maximum
 * BEFORE allocating anything for it, so a hostile length prefix such as 2^31 costs nothing but
 * the closed connection.
 */
import { FrameError } from './errors.ts';

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;
/** Default maximum payload size of one frame: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Hard upper bound of the 32-bit length prefix. */
export const MAX_FRAME_LIMIT = 0xffff_ffff;

/**
 * Encode one frame (length prefix + payload) as a single buffer.
 * @param payload the frame payload
 * @param maxFrameBytes refuse payloads larger than this (default {@link DEFAULT_MAX_FRAME_BYTES})
 * @throws {FrameError} `oversize` if `payload.length > maxFrameBytes`
 */
export function encodeFrame(payload: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  if (payload.length > maxFrameBytes) {
    throw new FrameError('oversize', `frame of ${payload.length} bytes exceeds the limit of ${maxFrameBytes}`);
  }
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Incremental frame decoder that survives arbitrary chunking of the stream (a frame split over
 * many chunks, many frames in one chunk, a header split across chunks).
 *
 * Memory: buffers at most one partial frame (≤ `maxFrameBytes` + 4 bytes) plus the current
 * chunk. After a {@link FrameError} the decoder is failed and every further `push` throws:
 * the caller must close the connection (the stream position is lost).
 */
export class FrameDecoder {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** Payload length of the frame being read, or -1 while reading a header. */
  private need = -1;
  private failed = false;

  /** @param maxFrameBytes largest accepted payload, in bytes (≤ 2^32 - 1). */
  constructor(readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0 || maxFrameBytes > MAX_FRAME_LIMIT) {
      throw new RangeError(`maxFrameBytes must be an integer in [0, 2^32-1], got ${maxFrameBytes}`);
    }
  }

  /** Bytes currently held for a partial frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Feed a chunk; returns the frames it completed, in order (payloads only).
   * @throws {FrameError} `oversize` when a length prefix exceeds `maxFrameBytes` (frames that
   *   completed earlier in the same chunk are discarded with it); `decoder-failed` when called
   *   again after an error.
   */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failed) throw new FrameError('decoder-failed', 'frame decoder already failed');
    if (chunk.length > 0) {
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.buffered += chunk.length;
    }
    const out: Buffer[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (length > this.maxFrameBytes) {
          this.failed = true;
          this.chunks.length = 0;
          this.buffered = 0;
          throw new FrameError('oversize', `length prefix ${length} exceeds the limit of ${this.maxFrameBytes}`);
        }
        this.need = length;
      }
      if (this.buffered < this.need) break;
      out.push(this.take(this.need));
      this.need = -1;
    }
    return out;
  }

  /** Remove and return exactly `n ≤ buffered` bytes from the front (copied when split). */
  private take(n: number): Buffer {
    this.buffered -= n;
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return Buffer.from(first.subarray(0, n));
    }
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
