/**
 * Operation and result encodings of the key-value application (`src/apps/kv.ts`), for clients
 * and replicas. Browser-safe (no Node-only imports).
 *
 * The operations are YCSB's (Cooper et al., "Benchmarking Cloud Serving Systems with YCSB",
 * SoCC 2010, §3): read, update, insert, delete, scan and read-modify-write over records of named
 * fields in a table.
 *
 * Wire format (all lengths/counts are canonical varints, see `codec.ts`):
 * ```
 * operation := 0x01 opcode body
 *   0x01 read    table key fieldset
 *   0x02 update  table key values
 *   0x03 insert  table key values
 *   0x04 delete  table key
 *   0x05 scan    table startKey count fieldset
 *   0x06 rmw     table key fieldset values
 * fieldset  := 0x00 (all fields) | 0x01 n name*n      (names strictly ascending, UTF-8 order)
 * values    := n (name value)*n                       (names strictly ascending, UTF-8 order)
 * result    := 0x01 status body
 *   0x00 ok | 0x01 record values | 0x02 records n (key values)*n | 0x03 not-found
 *   0x04 error code:u8 message
 * ```
 * Field names are strictly ascending so that every operation and result has exactly one
 * encoding (the bytes are digested and signed); the encode helpers sort for you.
 */
import { ByteReader, ByteWriter, DecodeError, EncodeError, compareUtf8 } from './codec.ts';

/** Current version byte of KV operations, results and snapshots. */
export const KV_VERSION = 1;

/** A record: field name → value bytes. */
export type KvRecord = Record<string, Uint8Array>;

/** A YCSB operation on the key-value store. */
export type KvOperation =
  /** Read a record: all fields, or only `fields` (missing fields are omitted from the result). */
  | { readonly type: 'read'; readonly table: string; readonly key: string; readonly fields?: readonly string[] }
  /** Overwrite the given fields of an existing record (result `notFound` if absent). */
  | { readonly type: 'update'; readonly table: string; readonly key: string; readonly values: KvRecord }
  /** Create or replace a whole record. */
  | { readonly type: 'insert'; readonly table: string; readonly key: string; readonly values: KvRecord }
  /** Delete a record (result `notFound` if absent). */
  | { readonly type: 'delete'; readonly table: string; readonly key: string }
  /** Up to `count` records with key ≥ `startKey`, in ascending key order (UTF-8 byte order). */
  | {
      readonly type: 'scan';
      readonly table: string;
      readonly startKey: string;
      readonly count: number;
      readonly fields?: readonly string[];
    }
  /** Read the record (like `read`), then update `values`, atomically; returns the value read. */
  | {
      readonly type: 'readModifyWrite';
      readonly table: string;
      readonly key: string;
      readonly fields?: readonly string[];
      readonly values: KvRecord;
    };

/** The name of a KV operation type. */
export type KvOperationType = KvOperation['type'];

/** Error codes carried in error results. */
export type KvErrorCode = 'malformed' | 'unsupported-version' | 'unknown-operation' | 'limit-exceeded';

/** The result of a KV operation. */
export type KvResult =
  | { readonly type: 'ok' }
  | { readonly type: 'record'; readonly record: KvRecord }
  | { readonly type: 'records'; readonly records: ReadonlyArray<{ readonly key: string; readonly record: KvRecord }> }
  | { readonly type: 'notFound' }
  | { readonly type: 'error'; readonly code: KvErrorCode; readonly message: string };

/** Size limits (bytes of UTF-8 / raw bytes, counts) enforced by encoders, decoders and the store. */
export interface KvLimits {
  /** Longest table name. Default 255. */
  readonly maxTableBytes: number;
  /** Longest key. Default 1024. */
  readonly maxKeyBytes: number;
  /** Longest field name. Default 255. */
  readonly maxFieldNameBytes: number;
  /** Longest field value. Default 65536. */
  readonly maxValueBytes: number;
  /** Most fields per record / per field list. Default 256. */
  readonly maxFields: number;
  /** Largest scan `count`. Default 1000 (YCSB's default `maxscanlength`). */
  readonly maxScanCount: number;
  /** Largest encoded operation. Default 4 MiB. */
  readonly maxOperationBytes: number;
  /**
   * Largest result a read, scan or read-modify-write may produce (estimated before building it);
   * larger ones yield a `limit-exceeded` error result. Default 1 MiB (CART's wire limit).
   */
  readonly maxResultBytes: number;
  /** Most records over all tables; inserts of new keys beyond it are refused. Default 1 000 000. */
  readonly maxRecords: number;
}

/** The default {@link KvLimits}. */
export const DEFAULT_KV_LIMITS: KvLimits = Object.freeze({
  maxTableBytes: 255,
  maxKeyBytes: 1024,
  maxFieldNameBytes: 255,
  maxValueBytes: 65536,
  maxFields: 256,
  maxScanCount: 1000,
  maxOperationBytes: 4 << 20,
  maxResultBytes: 1 << 20,
  maxRecords: 1_000_000,
});

const OPCODES: Record<KvOperationType, number> = {
  read: 1,
  update: 2,
  insert: 3,
  delete: 4,
  scan: 5,
  readModifyWrite: 6,
};
const ERROR_CODES: readonly KvErrorCode[] = ['malformed', 'unsupported-version', 'unknown-operation', 'limit-exceeded'];
const MAX_ERROR_MESSAGE_BYTES = 1024;

/** A decoding failure with the {@link KvErrorCode} the store reports for it. */
export class KvDecodeError extends DecodeError {
  override readonly name = 'KvDecodeError';
  constructor(
    readonly code: KvErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Fill in defaults for a partial {@link KvLimits}. */
export function kvLimits(partial: Partial<KvLimits> = {}): KvLimits {
  return { ...DEFAULT_KV_LIMITS, ...partial };
}

function sortedUnique(names: readonly string[]): string[] {
  const s = [...names].sort(compareUtf8);
  return s.filter((n, i) => i === 0 || s[i - 1] !== n);
}

function writeFieldSet(w: ByteWriter, fields: readonly string[] | undefined, l: KvLimits): void {
  if (fields === undefined) {
    w.u8(0);
    return;
  }
  const names = sortedUnique(fields);
  if (names.length > l.maxFields) throw new EncodeError(`${names.length} fields exceed ${l.maxFields}`);
  w.u8(1).varint(names.length);
  for (const n of names) w.string(n, l.maxFieldNameBytes, 'field name');
}

/** Encode a record's fields in canonical (ascending name) order. */
export function writeRecord(w: ByteWriter, values: KvRecord, l: KvLimits): void {
  const names = Object.keys(values).sort(compareUtf8);
  if (names.length > l.maxFields) throw new EncodeError(`${names.length} fields exceed ${l.maxFields}`);
  w.varint(names.length);
  for (const n of names) {
    const v = values[n];
    if (!(v instanceof Uint8Array)) throw new EncodeError(`value of field ${JSON.stringify(n)} is not a Uint8Array`);
    w.string(n, l.maxFieldNameBytes, 'field name').bytes(v, l.maxValueBytes, 'field value');
  }
}

function readFieldSet(r: ByteReader, l: KvLimits): string[] | undefined {
  const tag = r.u8();
  if (tag === 0) return undefined;
  if (tag !== 1) throw new KvDecodeError('malformed', `bad field-set tag ${tag}`);
  const n = r.varint(l.maxFields, 'field count');
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = r.string(l.maxFieldNameBytes, 'field name');
    if (i > 0 && compareUtf8(out[i - 1]!, name) >= 0) throw new KvDecodeError('malformed', 'field names not strictly ascending');
    out.push(name);
  }
  return out;
}

/**
 * Decode a record written by {@link writeRecord}; values are copied (safe to keep).
 * @throws {DecodeError} on malformed or non-canonical bytes.
 */
export function readRecord(r: ByteReader, l: KvLimits): KvRecord {
  const n = r.varint(l.maxFields, 'field count');
  const entries: Array<[string, Uint8Array]> = [];
  for (let i = 0; i < n; i++) {
    const name = r.string(l.maxFieldNameBytes, 'field name');
    if (i > 0 && compareUtf8(entries[i - 1]![0], name) >= 0) throw new KvDecodeError('malformed', 'field names not strictly ascending');
    entries.push([name, r.bytes(l.maxValueBytes, 'field value').slice()]);
  }
  return Object.fromEntries(entries);
}

/**
 * Encode a KV operation (canonical bytes: field names sorted and de-duplicated).
 * @throws {EncodeError} if a name, key, value or count exceeds `limits`, or a value is not bytes.
 */
export function encodeKvOperation(op: KvOperation, limits: Partial<KvLimits> = {}): Uint8Array {
  const l = kvLimits(limits);
  const opcode = OPCODES[op.type];
  if (opcode === undefined) throw new EncodeError(`unknown operation type ${String((op as { type: unknown }).type)}`);
  const w = new ByteWriter(128);
  w.u8(KV_VERSION).u8(opcode).string(op.table, l.maxTableBytes, 'table name');
  switch (op.type) {
    case 'read':
      w.string(op.key, l.maxKeyBytes, 'key');
      writeFieldSet(w, op.fields, l);
      break;
    case 'update':
    case 'insert':
      w.string(op.key, l.maxKeyBytes, 'key');
      writeRecord(w, op.values, l);
      break;
    case 'delete':
      w.string(op.key, l.maxKeyBytes, 'key');
      break;
    case 'scan':
      if (!Number.isInteger(op.count) || op.count < 0 || op.count > l.maxScanCount) {
        throw new EncodeError(`scan count ${op.count} not in 0..${l.maxScanCount}`);
      }
      w.string(op.startKey, l.maxKeyBytes, 'start key').varint(op.count);
      writeFieldSet(w, op.fields, l);
      break;
    case 'readModifyWrite':
      w.string(op.key, l.maxKeyBytes, 'key');
      writeFieldSet(w, op.fields, l);
      writeRecord(w, op.values, l);
      break;
  }
  if (w.length > l.maxOperationBytes) throw new EncodeError(`operation of ${w.length} bytes exceeds ${l.maxOperationBytes}`);
  return w.finish();
}

/**
 * Decode a KV operation.
 * @throws {KvDecodeError} with code `unsupported-version`, `unknown-operation`, `limit-exceeded`
 *   or `malformed` (also {@link DecodeError} for truncated / invalid bytes).
 */
export function decodeKvOperation(bytes: Uint8Array, limits: Partial<KvLimits> = {}): KvOperation {
  const l = kvLimits(limits);
  if (bytes.length > l.maxOperationBytes) throw new KvDecodeError('limit-exceeded', `operation of ${bytes.length} bytes exceeds ${l.maxOperationBytes}`);
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== KV_VERSION) throw new KvDecodeError('unsupported-version', `unsupported KV encoding version ${version}`);
  const opcode = r.u8();
  if (opcode < 1 || opcode > 6) throw new KvDecodeError('unknown-operation', `unknown KV opcode ${opcode}`);
  const table = r.string(l.maxTableBytes, 'table name');
  let op: KvOperation;
  switch (opcode) {
    case 1: {
      const key = r.string(l.maxKeyBytes, 'key');
      const fields = readFieldSet(r, l);
      op = fields === undefined ? { type: 'read', table, key } : { type: 'read', table, key, fields };
      break;
    }
    case 2:
    case 3: {
      const key = r.string(l.maxKeyBytes, 'key');
      op = { type: opcode === 2 ? 'update' : 'insert', table, key, values: readRecord(r, l) };
      break;
    }
    case 4:
      op = { type: 'delete', table, key: r.string(l.maxKeyBytes, 'key') };
      break;
    case 5: {
      const startKey = r.string(l.maxKeyBytes, 'start key');
      const count = r.varint(0xffffffff, 'scan count');
      if (count > l.maxScanCount) throw new KvDecodeError('limit-exceeded', `scan count ${count} exceeds ${l.maxScanCount}`);
      const fields = readFieldSet(r, l);
      op = fields === undefined ? { type: 'scan', table, startKey, count } : { type: 'scan', table, startKey, count, fields };
      break;
    }
    default: {
      const key = r.string(l.maxKeyBytes, 'key');
      const fields = readFieldSet(r, l);
      const values = readRecord(r, l);
      op = fields === undefined ? { type: 'readModifyWrite', table, key, values } : { type: 'readModifyWrite', table, key, fields, values };
    }
  }
  r.end();
  return op;
}

/**
 * Encode a KV result. Results are produced by the store; clients only decode.
 * @throws {EncodeError} if a record exceeds `limits`.
 */
export function encodeKvResult(result: KvResult, limits: Partial<KvLimits> = {}): Uint8Array {
  const l = kvLimits(limits);
  const w = new ByteWriter(64);
  w.u8(KV_VERSION);
  switch (result.type) {
    case 'ok':
      w.u8(0);
      break;
    case 'record':
      w.u8(1);
      writeRecord(w, result.record, l);
      break;
    case 'records':
      if (result.records.length > l.maxScanCount) throw new EncodeError(`${result.records.length} records exceed ${l.maxScanCount}`);
      w.u8(2).varint(result.records.length);
      for (const { key, record } of result.records) {
        w.string(key, l.maxKeyBytes, 'key');
        writeRecord(w, record, l);
      }
      break;
    case 'notFound':
      w.u8(3);
      break;
    case 'error': {
      let message = result.message;
      while (new TextEncoder().encode(message).length > MAX_ERROR_MESSAGE_BYTES) message = message.slice(0, Math.floor(message.length / 2));
      w.u8(4).u8(ERROR_CODES.indexOf(result.code) + 1).string(message, MAX_ERROR_MESSAGE_BYTES, 'error message');
      break;
    }
  }
  return w.finish();
}

/**
 * Decode a KV result (as returned by a replica inside a verified reply).
 * @throws {DecodeError} on malformed bytes, an unknown version or status.
 */
export function decodeKvResult(bytes: Uint8Array, limits: Partial<KvLimits> = {}): KvResult {
  const l = kvLimits(limits);
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== KV_VERSION) throw new KvDecodeError('unsupported-version', `unsupported KV result version ${version}`);
  const status = r.u8();
  let result: KvResult;
  switch (status) {
    case 0:
      result = { type: 'ok' };
      break;
    case 1:
      result = { type: 'record', record: readRecord(r, l) };
      break;
    case 2: {
      const n = r.varint(l.maxScanCount, 'record count');
      const records: Array<{ key: string; record: KvRecord }> = [];
      for (let i = 0; i < n; i++) {
        const key = r.string(l.maxKeyBytes, 'key');
        if (i > 0 && compareUtf8(records[i - 1]!.key, key) >= 0) throw new KvDecodeError('malformed', 'scan keys not strictly ascending');
        records.push({ key, record: readRecord(r, l) });
      }
      result = { type: 'records', records };
      break;
    }
    case 3:
      result = { type: 'notFound' };
      break;
    case 4: {
      const code = ERROR_CODES[r.u8() - 1];
      if (code === undefined) throw new KvDecodeError('malformed', 'unknown KV error code');
      result = { type: 'error', code, message: r.string(MAX_ERROR_MESSAGE_BYTES, 'error message') };
      break;
    }
    default:
      throw new KvDecodeError('malformed', `unknown KV result status ${status}`);
  }
  r.end();
  return result;
}

/** True for operations that never change state (`read`, `scan`). */
export function isReadOnlyKvOperation(op: KvOperation): boolean {
  return op.type === 'read' || op.type === 'scan';
}

/** Convenience: a record with UTF-8 string values. */
export function kvRecordFromStrings(values: Record<string, string>): KvRecord {
  const enc = new TextEncoder();
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, enc.encode(v)]));
}

/** Convenience: decode a record's values as UTF-8 strings (invalid sequences replaced). */
export function kvRecordToStrings(record: KvRecord): Record<string, string> {
  const dec = new TextDecoder();
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, dec.decode(v)]));
}
