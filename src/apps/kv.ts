/**
 * Replicated key-value store with YCSB's operations (Cooper et al., SoCC 2010): read, update,
 * insert, delete, scan and read-modify-write over records of named fields, in named tables.
 *
 * Deterministic (Schneider 1990): keys are kept in a sorted array (UTF-8 byte order), results
 * and snapshots list fields and keys in ascending order, and no Map iteration order leaks out.
 * Malformed or over-limit operations yield an `error` result; `execute` never throws.
 *
 * Clients encode operations with {@link encodeKvOperation} and decode results with
 * {@link decodeKvResult} (re-exported here; both are browser-safe).
 */
import type { Application } from './application.ts';
import { ByteReader, ByteWriter, DecodeError, compareUtf8 } from './codec.ts';
import {
  KV_VERSION,
  KvDecodeError,
  decodeKvOperation,
  encodeKvResult,
  kvLimits,
  readRecord,
  writeRecord,
  type KvLimits,
  type KvOperation,
  type KvRecord,
  type KvResult,
} from './kv-codec.ts';

export * from './kv-codec.ts';

interface Table {
  /** Keys in ascending UTF-8 order. */
  keys: string[];
  /** key → (field name → value). */
  records: Map<string, Map<string, Uint8Array>>;
}

/** Options of a {@link KvStore}. */
export interface KvStoreOptions {
  /** Size limits; defaults {@link DEFAULT_KV_LIMITS}. Replicas must use identical limits. */
  readonly limits?: Partial<KvLimits>;
}

/** First index in sorted `keys` whose key is ≥ `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareUtf8(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function project(fields: Map<string, Uint8Array>, wanted: readonly string[] | undefined): KvRecord {
  const names = wanted ?? [...fields.keys()];
  const entries: Array<[string, Uint8Array]> = [];
  for (const n of names) {
    const v = fields.get(n);
    if (v !== undefined) entries.push([n, v]);
  }
  return Object.fromEntries(entries);
}

/**
 * Upper bound on the encoded size (bytes) of `project(fields, wanted)`: a string's UTF-8 length
 * is at most 3 × its UTF-16 length; 10 bytes cover the two length varints.
 */
function projectedSize(fields: Map<string, Uint8Array>, wanted: readonly string[] | undefined): number {
  let n = 5;
  if (wanted === undefined) {
    for (const [name, v] of fields) n += 3 * name.length + v.length + 10;
  } else {
    for (const name of wanted) {
      const v = fields.get(name);
      if (v !== undefined) n += 3 * name.length + v.length + 10;
    }
  }
  return n;
}

function toFieldMap(values: KvRecord): Map<string, Uint8Array> {
  return new Map(Object.entries(values));
}

/** The key-value store application. */
export class KvStore implements Application {
  readonly name = 'kv';
  readonly limits: KvLimits;
  private tables = new Map<string, Table>();
  private records = 0;

  constructor(options: KvStoreOptions = {}) {
    this.limits = kvLimits(options.limits);
  }

  /** Number of records over all tables. */
  get size(): number {
    return this.records;
  }

  /** Execute an ordered operation; returns an encoded {@link KvResult}. Never throws. */
  execute(operation: Uint8Array): Uint8Array {
    return this.run(operation, false)!;
  }

  /**
   * Execute `read` / `scan` without ordering; returns `undefined` for any other (valid)
   * operation. Malformed bytes yield an error result (harmless: no state change).
   */
  executeReadOnly(operation: Uint8Array): Uint8Array | undefined {
    return this.run(operation, true);
  }

  /**
   * Typed API for in-process use (tests, the load phase of a benchmark). Values are copied in and
   * out, so callers may mutate their arrays afterwards. Encoding limits (key, field and value
   * sizes) are not checked here (`execute` decodes with them); state and result limits are.
   */
  apply(op: KvOperation): KvResult {
    const owned: KvOperation = 'values' in op ? { ...op, values: copyRecord(op.values) } : op;
    const r = this.applyOwned(owned);
    if (r.type === 'record') return { type: 'record', record: copyRecord(r.record) };
    if (r.type === 'records') return { type: 'records', records: r.records.map((x) => ({ key: x.key, record: copyRecord(x.record) })) };
    return r;
  }

  /** Execute a decoded operation whose value arrays the store may keep; results share arrays with the state. */
  private applyOwned(op: KvOperation): KvResult {
    switch (op.type) {
      case 'read': {
        const rec = this.tables.get(op.table)?.records.get(op.key);
        if (rec === undefined) return { type: 'notFound' };
        if (16 + projectedSize(rec, op.fields) > this.limits.maxResultBytes) return resultTooLarge(this.limits);
        return { type: 'record', record: project(rec, op.fields) };
      }
      case 'scan': {
        const t = this.tables.get(op.table);
        if (t === undefined) return { type: 'records', records: [] };
        const start = lowerBound(t.keys, op.startKey);
        const keys = t.keys.slice(start, start + Math.min(op.count, this.limits.maxScanCount));
        let size = 16;
        for (const key of keys) {
          size += 3 * key.length + 10 + projectedSize(t.records.get(key)!, op.fields);
          if (size > this.limits.maxResultBytes) return resultTooLarge(this.limits);
        }
        return { type: 'records', records: keys.map((key) => ({ key, record: project(t.records.get(key)!, op.fields) })) };
      }
      case 'update': {
        const rec = this.tables.get(op.table)?.records.get(op.key);
        if (rec === undefined) return { type: 'notFound' };
        const merged = new Map(rec);
        for (const [n, v] of Object.entries(op.values)) merged.set(n, v);
        if (merged.size > this.limits.maxFields) return limitError(`record would have ${merged.size} fields`);
        this.tables.get(op.table)!.records.set(op.key, merged);
        return { type: 'ok' };
      }
      case 'insert': {
        let t = this.tables.get(op.table);
        if (this.records >= this.limits.maxRecords && t?.records.has(op.key) !== true) {
          return limitError(`store holds the maximum of ${this.limits.maxRecords} records`);
        }
        if (t === undefined) {
          t = { keys: [], records: new Map() };
          this.tables.set(op.table, t);
        }
        if (!t.records.has(op.key)) {
          t.keys.splice(lowerBound(t.keys, op.key), 0, op.key);
          this.records++;
        }
        t.records.set(op.key, new Map(Object.entries(op.values)));
        return { type: 'ok' };
      }
      case 'delete': {
        const t = this.tables.get(op.table);
        if (t === undefined || !t.records.delete(op.key)) return { type: 'notFound' };
        t.keys.splice(lowerBound(t.keys, op.key), 1);
        this.records--;
        if (t.keys.length === 0) this.tables.delete(op.table);
        return { type: 'ok' };
      }
      case 'readModifyWrite': {
        const rec = this.tables.get(op.table)?.records.get(op.key);
        if (rec === undefined) return { type: 'notFound' };
        if (16 + projectedSize(rec, op.fields) > this.limits.maxResultBytes) return resultTooLarge(this.limits);
        const read = project(rec, op.fields);
        const res = this.applyOwned({ type: 'update', table: op.table, key: op.key, values: op.values });
        return res.type === 'ok' ? { type: 'record', record: read } : res;
      }
    }
  }

  private run(operation: Uint8Array, readOnly: boolean): Uint8Array | undefined {
    let op: KvOperation;
    try {
      op = decodeKvOperation(operation, this.limits);
    } catch (err) {
      return encodeKvResult(decodeErrorResult(err), this.limits);
    }
    if (readOnly && op.type !== 'read' && op.type !== 'scan') return undefined;
    try {
      return encodeKvResult(this.applyOwned(op), this.limits);
    } catch (err) {
      // Only reachable if a result exceeds the limits (e.g. a scan of huge records).
      return encodeKvResult(limitError(err instanceof Error ? err.message : String(err)), this.limits);
    }
  }

  /**
   * Deterministic snapshot: `0x01 tableCount (table recordCount (key record)*)*`, tables, keys
   * and fields in ascending UTF-8 order.
   */
  snapshot(): Uint8Array {
    const w = new ByteWriter(1024);
    w.u8(KV_VERSION);
    const names = [...this.tables.keys()].sort(compareUtf8);
    w.varint(names.length);
    for (const name of names) {
      const t = this.tables.get(name)!;
      w.string(name).varint(t.keys.length);
      for (const key of t.keys) {
        w.string(key);
        writeRecord(w, Object.fromEntries(t.records.get(key)!), this.limits);
      }
    }
    return w.finish();
  }

  /**
   * Replace the state by a {@link snapshot}. Validates everything before swapping.
   * @throws {DecodeError} on malformed, non-canonical or over-limit bytes (state unchanged).
   */
  restore(snapshot: Uint8Array): void {
    const l = this.limits;
    const r = new ByteReader(snapshot);
    const version = r.u8();
    if (version !== KV_VERSION) throw new KvDecodeError('unsupported-version', `unsupported KV snapshot version ${version}`);
    const tables = new Map<string, Table>();
    const tableCount = r.varint(0xffffffff, 'table count');
    let prevName: string | undefined;
    let total = 0;
    for (let i = 0; i < tableCount; i++) {
      const name = r.string(l.maxTableBytes, 'table name');
      if (prevName !== undefined && compareUtf8(prevName, name) >= 0) throw new DecodeError('snapshot tables not strictly ascending');
      prevName = name;
      const n = r.varint(l.maxRecords, 'record count');
      if (n === 0) throw new DecodeError('snapshot holds an empty table');
      total += n;
      if (total > l.maxRecords) throw new DecodeError(`snapshot holds more than ${l.maxRecords} records`);
      const t: Table = { keys: [], records: new Map() };
      for (let k = 0; k < n; k++) {
        const key = r.string(l.maxKeyBytes, 'key');
        if (k > 0 && compareUtf8(t.keys[k - 1]!, key) >= 0) throw new DecodeError('snapshot keys not strictly ascending');
        t.keys.push(key);
        t.records.set(key, toFieldMap(readRecord(r, l)));
      }
      tables.set(name, t);
    }
    r.end();
    this.tables = tables;
    this.records = total;
  }
}

function copyRecord(r: KvRecord): KvRecord {
  return Object.fromEntries(Object.entries(r).map(([n, v]) => [n, v.slice()]));
}

function resultTooLarge(l: KvLimits): KvResult {
  return limitError(`result would exceed ${l.maxResultBytes} bytes`);
}

function limitError(message: string): KvResult {
  return { type: 'error', code: 'limit-exceeded', message };
}

function decodeErrorResult(err: unknown): KvResult {
  if (err instanceof KvDecodeError) return { type: 'error', code: err.code, message: err.message };
  return { type: 'error', code: 'malformed', message: err instanceof Error ? err.message : String(err) };
}
