/**
 * The local glue link between a CART replica (this process) and its BFT-SMaRt JVM
 * (`java/bftsmart-glue/`): message types and their pure encoders/decoders.
 *
 * Transport: TCP on 127.0.0.1; this side listens, the JVM connects. Framing is
 * `src/net/frame.ts`: a 4-byte unsigned big-endian payload length, then the payload. The first
 * payload byte is the message type; all integers are big-endian (`i32` signed 32-bit, `i64`
 * signed 64-bit, `u8`); `bytes*` means "all remaining bytes of the frame"; `lbytes` is an i32
 * length followed by that many bytes.
 *
 * JVM → CART
 * | type | name      | fields                                                                        |
 * |------|-----------|-------------------------------------------------------------------------------|
 * | 0x01 | HELLO     | token bytes* (UTF-8; must equal the token given to the JVM in its environment)|
 * | 0x02 | READY     | i32 replica id (replica mode) or client thread count (client mode)            |
 * | 0x03 | EXECUTE   | i32 call, u8 fromConsensus, i32 nBatches, nBatches × (i64 consensusId,        |
 * |      |           | i32 regency, i32 leader, i32 nRequests, nRequests × lbytes request)           |
 * | 0x04 | SNAPSHOT  | i32 call                                                                      |
 * | 0x05 | RESTORE   | i32 call, snapshot bytes* (as produced by SNAPSHOT_DATA somewhere)            |
 * | 0x06 | SUBMITTED | i32 submit id, u8 status (0 ordered, 1 refused), message bytes* (UTF-8)       |
 * | 0x07 | INVOKED   | i32 invoke id, u8 status (0 ok, 1 failed), result or message bytes*           |
 *
 * CART → JVM
 * | type | name          | fields                                                                |
 * |------|---------------|-----------------------------------------------------------------------|
 * | 0x81 | RESULTS       | i32 call, i32 n, n × lbytes result (one per request, in order)        |
 * | 0x82 | SNAPSHOT_DATA | i32 call, snapshot bytes*                                             |
 * | 0x83 | RESTORED      | i32 call, u8 ok (1 yes, 0 no), message bytes* (UTF-8)                 |
 * | 0x84 | SUBMIT        | i32 submit id, request bytes*                                         |
 * | 0x85 | CANCEL        | i32 submit id                                                         |
 * | 0x86 | INVOKE        | i32 invoke id, request bytes* (client mode only)                      |
 *
 * Calls (EXECUTE, SNAPSHOT, RESTORE) block BFT-SMaRt's thread until answered with the same call
 * id. The snapshot bytes are opaque to the JVM; CART's side frames them as
 * `i64 sequence ‖ application-proxy snapshot` ({@link encodeSnapshot}) so that an installed
 * snapshot tells which sequence it stands for.
 */
import { GlueProtocolError } from './errors.ts';

/** Message type bytes (see the table above). */
export const MsgType = {
  HELLO: 0x01,
  READY: 0x02,
  EXECUTE: 0x03,
  SNAPSHOT: 0x04,
  RESTORE: 0x05,
  SUBMITTED: 0x06,
  INVOKED: 0x07,
  RESULTS: 0x81,
  SNAPSHOT_DATA: 0x82,
  RESTORED: 0x83,
  SUBMIT: 0x84,
  CANCEL: 0x85,
  INVOKE: 0x86,
} as const;

/** One consensus instance's batch inside an EXECUTE call. */
export interface GlueBatch {
  /** BFT-SMaRt consensus id (0-based). */
  readonly consensusId: bigint;
  /** Regency (BFT-SMaRt's view number of the leader-change protocol) that decided it. */
  readonly regency: number;
  /** Replica id of the leader that proposed it. */
  readonly leader: number;
  readonly requests: Uint8Array[];
}

/** A decoded JVM → CART message. */
export type GlueMessage =
  | { type: 'hello'; token: string }
  | { type: 'ready'; value: number }
  | { type: 'execute'; call: number; fromConsensus: boolean; batches: GlueBatch[] }
  | { type: 'snapshot'; call: number }
  | { type: 'restore'; call: number; snapshot: Uint8Array }
  | { type: 'submitted'; id: number; ok: boolean; message: string }
  | { type: 'invoked'; id: number; ok: boolean; payload: Uint8Array };

/** Bounds-checked big-endian reader over one frame payload. */
class Reader {
  private off = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number, what: string): void {
    if (n < 0 || this.off + n > this.buf.length) {
      throw new GlueProtocolError(`truncated glue frame: ${what} needs ${n} bytes at offset ${this.off} of ${this.buf.length}`);
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.off++]!;
  }
  i32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.off);
    this.off += 4;
    return v;
  }
  i64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigInt64(this.off);
    this.off += 8;
    return v;
  }
  lbytes(what: string): Uint8Array {
    const n = this.i32(`${what} length`);
    this.need(n, what);
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  rest(): Uint8Array {
    const out = this.buf.subarray(this.off);
    this.off = this.buf.length;
    return out;
  }
  count(what: string, minBytesEach: number): number {
    const n = this.i32(what);
    // Refuse counts the remaining bytes cannot possibly hold (no allocation on a hostile count).
    if (n < 0 || n * minBytesEach > this.buf.length - this.off) {
      throw new GlueProtocolError(`glue frame: ${what} = ${n} does not fit in the frame`);
    }
    return n;
  }
}

const utf8 = new TextDecoder();

/**
 * Decode one JVM → CART frame payload.
 * @throws {GlueProtocolError} on an unknown type, a truncated frame or an impossible count.
 */
export function decodeGlueMessage(payload: Uint8Array): GlueMessage {
  const r = new Reader(payload);
  const type = r.u8('type');
  switch (type) {
    case MsgType.HELLO:
      return { type: 'hello', token: utf8.decode(r.rest()) };
    case MsgType.READY:
      return { type: 'ready', value: r.i32('ready value') };
    case MsgType.EXECUTE: {
      const call = r.i32('call');
      const fromConsensus = r.u8('fromConsensus') === 1;
      const nBatches = r.count('batch count', 20);
      const batches: GlueBatch[] = [];
      for (let b = 0; b < nBatches; b++) {
        const consensusId = r.i64('consensus id');
        const regency = r.i32('regency');
        const leader = r.i32('leader');
        const n = r.count('request count', 4);
        const requests: Uint8Array[] = [];
        for (let i = 0; i < n; i++) requests.push(r.lbytes('request'));
        batches.push({ consensusId, regency, leader, requests });
      }
      return { type: 'execute', call, fromConsensus, batches };
    }
    case MsgType.SNAPSHOT:
      return { type: 'snapshot', call: r.i32('call') };
    case MsgType.RESTORE:
      return { type: 'restore', call: r.i32('call'), snapshot: r.rest() };
    case MsgType.SUBMITTED: {
      const id = r.i32('submit id');
      const ok = r.u8('status') === 0;
      return { type: 'submitted', id, ok, message: utf8.decode(r.rest()) };
    }
    case MsgType.INVOKED: {
      const id = r.i32('invoke id');
      const ok = r.u8('status') === 0;
      return { type: 'invoked', id, ok, payload: r.rest() };
    }
    default:
      throw new GlueProtocolError(`unknown glue message type 0x${type.toString(16)}`);
  }
}

function header(type: number, call: number, extra: number): Buffer {
  const b = Buffer.allocUnsafe(5 + extra);
  b[0] = type;
  b.writeInt32BE(call, 1);
  return b;
}

/** RESULTS: one result per request of an EXECUTE call, in order. */
export function encodeResults(call: number, results: readonly Uint8Array[]): Buffer {
  let size = 4;
  for (const r of results) size += 4 + r.length;
  const b = header(MsgType.RESULTS, call, size);
  let off = 5;
  b.writeInt32BE(results.length, off);
  off += 4;
  for (const r of results) {
    b.writeInt32BE(r.length, off);
    b.set(r, off + 4);
    off += 4 + r.length;
  }
  return b;
}

/** SNAPSHOT_DATA: answer to SNAPSHOT. */
export function encodeSnapshotData(call: number, snapshot: Uint8Array): Buffer {
  const b = header(MsgType.SNAPSHOT_DATA, call, snapshot.length);
  b.set(snapshot, 5);
  return b;
}

/** RESTORED: answer to RESTORE. */
export function encodeRestored(call: number, ok: boolean, message = ''): Buffer {
  const m = Buffer.from(message, 'utf8');
  const b = header(MsgType.RESTORED, call, 1 + m.length);
  b[5] = ok ? 1 : 0;
  b.set(m, 6);
  return b;
}

/** SUBMIT (replica mode) or INVOKE (client mode): a request with its id. */
export function encodeRequest(type: typeof MsgType.SUBMIT | typeof MsgType.INVOKE, id: number, request: Uint8Array): Buffer {
  const b = header(type, id, request.length);
  b.set(request, 5);
  return b;
}

/** CANCEL: forget a submission (its timeout expired on this side). */
export function encodeCancel(id: number): Buffer {
  return header(MsgType.CANCEL, id, 0);
}

/**
 * Frame a proxy snapshot with the sequence it stands for: `i64 sequence ‖ snapshot`.
 * @param sequence sequence of the last batch reflected in the snapshot (`0n`: none)
 */
export function encodeSnapshot(sequence: bigint, snapshot: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(8 + snapshot.length);
  b.writeBigInt64BE(sequence, 0);
  b.set(snapshot, 8);
  return b;
}

/**
 * Inverse of {@link encodeSnapshot}.
 * @throws {GlueProtocolError} if shorter than 8 bytes or the sequence is negative.
 */
export function decodeSnapshot(bytes: Uint8Array): { sequence: bigint; snapshot: Uint8Array } {
  if (bytes.length < 8) throw new GlueProtocolError(`snapshot of ${bytes.length} bytes lacks its 8-byte sequence header`);
  const sequence = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigInt64(0);
  if (sequence < 0n) throw new GlueProtocolError(`snapshot sequence ${sequence} is negative`);
  return { sequence, snapshot: bytes.subarray(8) };
}

/**
 * CART sequence of a BFT-SMaRt consensus id: `consensusId + 1`, so the first batch is sequence
 * 1 and `0n` keeps meaning "nothing applied" as with the other adapters.
 */
export function sequenceOfConsensus(consensusId: bigint): bigint {
  return consensusId + 1n;
}
