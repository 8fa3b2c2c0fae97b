/**
 * Byte formats of the etcd adapter: the value of one log entry (a batch of opaque CART
 * requests) and the local checkpoint file. Both are decoded with bounds checks; malformed bytes
 * raise {@link EtcdDecodeError}, never a crash or a partial result.
 */
import { createHash } from 'node:crypto';
import { EtcdDecodeError } from './errors.ts';

/** Format version byte of a log entry. */
export const LOG_ENTRY_VERSION = 1;
/** Magic prefix of the local checkpoint file (`CARTETCD` + version 1). */
const CHECKPOINT_MAGIC = Buffer.from('CARTETCD\x01', 'latin1');

/**
 * Encode a batch of requests as one log entry: `version u8 | count u32be | (len u32be | bytes)*`.
 */
export function encodeLogEntry(requests: readonly Uint8Array[]): Buffer {
  let size = 5;
  for (const r of requests) size += 4 + r.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt8(LOG_ENTRY_VERSION, 0);
  out.writeUInt32BE(requests.length, 1);
  let off = 5;
  for (const r of requests) {
    out.writeUInt32BE(r.length, off);
    out.set(r, off + 4);
    off += 4 + r.length;
  }
  return out;
}

/**
 * Decode a log entry written by {@link encodeLogEntry}. Returned requests are copies.
 * @throws {EtcdDecodeError} on unknown version, truncation, trailing bytes
 */
export function decodeLogEntry(bytes: Uint8Array): Uint8Array[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 5) throw new EtcdDecodeError(`log entry too short (${buf.length} bytes)`);
  const version = buf.readUInt8(0);
  if (version !== LOG_ENTRY_VERSION) throw new EtcdDecodeError(`unknown log entry version ${version}`);
  const count = buf.readUInt32BE(1);
  // Each request needs at least its 4-byte length: bounds `count` before allocating anything.
  if (count > (buf.length - 5) / 4) throw new EtcdDecodeError(`log entry claims ${count} requests`);
  const out: Uint8Array[] = [];
  let off = 5;
  for (let i = 0; i < count; i++) {
    if (off + 4 > buf.length) throw new EtcdDecodeError('log entry truncated (length)');
    const len = buf.readUInt32BE(off);
    off += 4;
    if (len > buf.length - off) throw new EtcdDecodeError('log entry truncated (request)');
    out.push(Uint8Array.prototype.slice.call(buf, off, off + len));
    off += len;
  }
  if (off !== buf.length) throw new EtcdDecodeError(`log entry has ${buf.length - off} trailing bytes`);
  return out;
}

/** SHA-256 of a snapshot, lower-case hex (names the snapshot blob in etcd). */
export function snapshotDigest(snapshot: Uint8Array): string {
  return createHash('sha256').update(snapshot).digest('hex');
}

/** A checkpoint: the replicated state as of the batch with sequence (etcd revision) `sequence`. */
export interface Checkpoint {
  /** etcd revision of the last batch reflected in `snapshot`. */
  readonly sequence: bigint;
  /** Bytes from `ApplicationProxy.snapshot()`. */
  readonly snapshot: Uint8Array;
}

/** A checkpoint as persisted locally: also names the etcd cluster its revision belongs to. */
export interface LocalCheckpoint extends Checkpoint {
  /** etcd `cluster_id` (response header) of the cluster whose revision `sequence` is. */
  readonly clusterId: bigint;
}

/**
 * Encode the local checkpoint file:
 * `magic(9) | sequence u64be | clusterId u64be | sha256(sequence, clusterId, snapshot) (32) | snapshot`.
 */
export function encodeCheckpointFile(cp: LocalCheckpoint): Buffer {
  const head = Buffer.alloc(CHECKPOINT_MAGIC.length + 16);
  CHECKPOINT_MAGIC.copy(head, 0);
  head.writeBigUInt64BE(cp.sequence, CHECKPOINT_MAGIC.length);
  head.writeBigUInt64BE(cp.clusterId, CHECKPOINT_MAGIC.length + 8);
  const digest = createHash('sha256').update(head).update(cp.snapshot).digest();
  return Buffer.concat([head, digest, cp.snapshot]);
}

/**
 * Decode the local checkpoint file, verifying its digest (detects torn or corrupted files).
 * @throws {EtcdDecodeError} on bad magic, truncation or digest mismatch
 */
export function decodeCheckpointFile(bytes: Uint8Array): LocalCheckpoint {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fixed = CHECKPOINT_MAGIC.length + 16;
  if (buf.length < fixed + 32 || !buf.subarray(0, CHECKPOINT_MAGIC.length).equals(CHECKPOINT_MAGIC)) {
    throw new EtcdDecodeError('not a CART etcd checkpoint file');
  }
  const head = buf.subarray(0, fixed);
  const snapshot = Uint8Array.prototype.slice.call(buf, fixed + 32);
  const digest = createHash('sha256').update(head).update(snapshot).digest();
  if (!digest.equals(buf.subarray(fixed, fixed + 32))) throw new EtcdDecodeError('checkpoint file digest mismatch');
  return {
    sequence: buf.readBigUInt64BE(CHECKPOINT_MAGIC.length),
    clusterId: buf.readBigUInt64BE(CHECKPOINT_MAGIC.length + 8),
    snapshot,
  };
}
