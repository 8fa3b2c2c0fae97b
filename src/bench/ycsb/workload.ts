/**
 * YCSB CoreWorkload (`site.ycsb.workloads.CoreWorkload`): the load phase (insert `insertcount`
 * records) and the transaction phase (read / update / insert / scan / read-modify-write with
 * the configured proportions and key distribution), producing operations for the KV store
 * (`src/apps/kv.ts`). Deterministic for a given {@link Random}. Browser-safe.
 */
import type { KvOperation, KvRecord, KvResult } from '../../apps/kv-codec.ts';
import type { CoreWorkloadConfig } from './config.ts';
import {
  AcknowledgedCounterGenerator,
  ConstantGenerator,
  CounterGenerator,
  DiscreteGenerator,
  ExponentialGenerator,
  HotspotGenerator,
  ScrambledZipfianGenerator,
  SequentialGenerator,
  SkewedLatestGenerator,
  UniformGenerator,
  ZipfianGenerator,
  fnvhash64,
  type NumberGenerator,
} from './generators.ts';
import type { Random } from './random.ts';

/** YCSB operation kinds. */
export type YcsbOperationKind = 'read' | 'update' | 'insert' | 'scan' | 'readModifyWrite';

/** One transaction-phase operation. */
export interface YcsbTransaction {
  readonly kind: YcsbOperationKind;
  /** The KV operation to execute. */
  readonly operation: KvOperation;
  /**
   * Call when the operation has completed (successfully or not). For inserts this acknowledges
   * the new key so that later reads may choose it (YCSB's acknowledged counter); no-op otherwise.
   */
  complete(): void;
}

/** The CoreWorkload operation generator. */
export class CoreWorkload {
  readonly config: CoreWorkloadConfig;
  /** Field names `field0` .. `field{n-1}`. */
  readonly fieldNames: readonly string[];
  private readonly random: Random;
  private readonly keySequence: CounterGenerator;
  private readonly insertSequence: AcknowledgedCounterGenerator;
  private readonly keyChooser: NumberGenerator;
  private readonly fieldChooser: UniformGenerator;
  private readonly fieldLength: NumberGenerator;
  private readonly scanLength: NumberGenerator;
  private readonly operationChooser: DiscreteGenerator<YcsbOperationKind>;
  private loaded = 0;

  /** @throws {RangeError} if the configuration yields an empty key range for its distribution. */
  constructor(config: CoreWorkloadConfig, random: Random) {
    const c = config;
    this.config = c;
    this.random = random;
    this.fieldNames = Array.from({ length: c.fieldCount }, (_, i) => `${c.fieldNamePrefix}${i}`);
    this.keySequence = new CounterGenerator(c.insertStart);
    this.insertSequence = new AcknowledgedCounterGenerator(c.recordCount);
    this.fieldChooser = new UniformGenerator(random, 0, c.fieldCount - 1);
    this.fieldLength =
      c.fieldLengthDistribution === 'constant'
        ? new ConstantGenerator(c.fieldLength)
        : c.fieldLengthDistribution === 'uniform'
          ? new UniformGenerator(random, c.minFieldLength, c.fieldLength)
          : new ZipfianGenerator(random, c.minFieldLength, c.fieldLength, c.zipfianConstant);
    this.scanLength =
      c.scanLengthDistribution === 'uniform'
        ? new UniformGenerator(random, c.minScanLength, c.maxScanLength)
        : new ZipfianGenerator(random, c.minScanLength, c.maxScanLength, c.zipfianConstant);
    this.operationChooser = new DiscreteGenerator<YcsbOperationKind>(random)
      .add(c.readProportion, 'read')
      .add(c.updateProportion, 'update')
      .add(c.insertProportion, 'insert')
      .add(c.scanProportion, 'scan')
      .add(c.readModifyWriteProportion, 'readModifyWrite');
    this.keyChooser = this.makeKeyChooser();
  }

  private makeKeyChooser(): NumberGenerator {
    const c = this.config;
    const lo = c.insertStart;
    const hi = c.insertStart + c.insertCount - 1;
    switch (c.requestDistribution) {
      case 'uniform':
        return new UniformGenerator(this.random, lo, hi);
      case 'sequential':
        return new SequentialGenerator(lo, hi);
      case 'exponential':
        return new ExponentialGenerator(this.random, c.exponentialPercentile, c.recordCount * c.exponentialFrac);
      case 'hotspot':
        return new HotspotGenerator(this.random, lo, hi, c.hotspotDataFraction, c.hotspotOpnFraction);
      case 'latest':
        return new SkewedLatestGenerator(this.random, this.insertSequence, c.zipfianConstant);
      case 'zipfian': {
        // As YCSB: leave room for the keys the run will insert, so popularity does not shift.
        const expectedNewKeys = Math.trunc(c.operationCount * c.insertProportion * 2.0);
        return new ScrambledZipfianGenerator(this.random, lo, c.insertStart + c.insertCount + expectedNewKeys, c.zipfianConstant);
      }
    }
  }

  /** YCSB's `buildKeyName`: `user` + zero padding + (hashed or plain) key number. */
  keyName(keyNumber: number): string {
    const n = this.config.insertOrder === 'hashed' ? fnvhash64(keyNumber).toString() : String(keyNumber);
    return 'user' + '0'.repeat(Math.max(0, this.config.zeroPadding - n.length)) + n;
  }

  /**
   * A field value of the configured length: random printable ASCII (like `RandomByteIterator`),
   * or with `dataintegrity` the deterministic value of (key, field).
   */
  private value(key: string, field: string): Uint8Array {
    if (this.config.dataIntegrity) return deterministicValue(key, field, this.config.fieldLength);
    const len = this.fieldLength.nextValue();
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i += 4) {
      let r = this.random.nextUint32();
      for (let j = i; j < i + 4 && j < len; j++) {
        out[j] = 0x20 + ((r & 0xff) % 95);
        r >>>= 8;
      }
    }
    return out;
  }

  /** YCSB's `buildValues`: every field. */
  private allValues(key: string): KvRecord {
    return Object.fromEntries(this.fieldNames.map((f) => [f, this.value(key, f)]));
  }

  /** YCSB's `buildSingleValue`: one random field. */
  private singleValue(key: string): KvRecord {
    const f = this.fieldNames[this.fieldChooser.nextValue()]!;
    return { [f]: this.value(key, f) };
  }

  private writeValues(key: string): KvRecord {
    return this.config.writeAllFields ? this.allValues(key) : this.singleValue(key);
  }

  /**
   * With `dataintegrity`, check a result of `transaction` (YCSB's `verifyRow`): every returned
   * field must hold the deterministic value of its key and name, and the fields asked for must
   * be present. Returns a description of the first mismatch, or `undefined` if the result is as
   * expected (always `undefined` without `dataintegrity` or for writes).
   */
  verify(operation: KvOperation, result: KvResult): string | undefined {
    if (!this.config.dataIntegrity) return undefined;
    const check = (key: string, record: KvRecord, fields: readonly string[] | undefined): string | undefined => {
      for (const f of fields ?? this.fieldNames) if (record[f] === undefined) return `${key}: field ${f} missing`;
      for (const [f, v] of Object.entries(record)) {
        if (!bytesEqual(v, deterministicValue(key, f, this.config.fieldLength))) return `${key}: field ${f} holds an unexpected value`;
      }
      return undefined;
    };
    switch (operation.type) {
      case 'read':
      case 'readModifyWrite':
        if (result.type !== 'record') return `${operation.key}: expected a record, got ${result.type}`;
        return check(operation.key, result.record, operation.fields);
      case 'scan': {
        if (result.type !== 'records') return `scan ${operation.startKey}: expected records, got ${result.type}`;
        if (result.records.length > operation.count) return `scan ${operation.startKey}: ${result.records.length} records for count ${operation.count}`;
        for (const r of result.records) {
          const bad = check(r.key, r.record, operation.fields);
          if (bad !== undefined) return bad;
        }
        return undefined;
      }
      default:
        return result.type === 'ok' ? undefined : `${operation.type} ${operation.key}: expected ok, got ${result.type}`;
    }
  }

  /** Fields to read: all (undefined), all by name, or one random field. */
  private readFields(): readonly string[] | undefined {
    if (!this.config.readAllFields) return [this.fieldNames[this.fieldChooser.nextValue()]!];
    return this.config.readAllFieldsByName ? this.fieldNames : undefined;
  }

  /** YCSB's `nextKeynum`: a key number that has been inserted (and acknowledged). */
  private nextKeyNumber(): number {
    const limit = this.insertSequence.lastValue();
    if (limit < 0) throw new RangeError('no records loaded: recordcount is 0');
    let k: number;
    if (this.keyChooser instanceof ExponentialGenerator) {
      do k = limit - this.keyChooser.nextValue();
      while (k < 0);
    } else {
      do k = this.keyChooser.nextValue();
      while (k > limit);
    }
    return k;
  }

  /** Number of load-phase inserts (`insertcount`). */
  get loadCount(): number {
    return this.config.insertCount;
  }

  /** The next load-phase insert, or `undefined` once `insertcount` records were produced. */
  nextLoadOperation(): KvOperation | undefined {
    if (this.loaded >= this.config.insertCount) return undefined;
    this.loaded++;
    const key = this.keyName(this.keySequence.nextValue());
    return { type: 'insert', table: this.config.table, key, values: this.allValues(key) };
  }

  /** All remaining load-phase inserts. */
  *loadOperations(): Generator<KvOperation> {
    for (let op = this.nextLoadOperation(); op !== undefined; op = this.nextLoadOperation()) yield op;
  }

  /**
   * The next transaction-phase operation.
   * @throws {RangeError} if no records exist to operate on (recordcount 0).
   */
  nextTransaction(): YcsbTransaction {
    const kind = this.operationChooser.next();
    const table = this.config.table;
    const done = (): void => {};
    switch (kind) {
      case 'read':
        return { kind, complete: done, operation: withFields({ type: 'read', table, key: this.keyName(this.nextKeyNumber()) }, this.readFields()) };
      case 'update': {
        const key = this.keyName(this.nextKeyNumber());
        return { kind, complete: done, operation: { type: 'update', table, key, values: this.writeValues(key) } };
      }
      case 'scan': {
        const key = this.keyName(this.nextKeyNumber());
        const count = this.scanLength.nextValue();
        return { kind, complete: done, operation: withFields({ type: 'scan', table, startKey: key, count }, this.readFields()) };
      }
      case 'readModifyWrite': {
        const key = this.keyName(this.nextKeyNumber());
        const fields = this.readFields();
        const values = this.writeValues(key);
        const op: KvOperation = fields === undefined ? { type: 'readModifyWrite', table, key, values } : { type: 'readModifyWrite', table, key, fields, values };
        return { kind, complete: done, operation: op };
      }
      case 'insert': {
        const n = this.insertSequence.nextValue();
        const key = this.keyName(n);
        let acked = false;
        return {
          kind,
          operation: { type: 'insert', table, key, values: this.allValues(key) },
          complete: () => {
            if (!acked) this.insertSequence.acknowledge(n);
            acked = true;
          },
        };
      }
    }
  }

  /** `count` transactions (default `operationcount`), each completed as soon as it is consumed. */
  *transactions(count = this.config.operationCount): Generator<YcsbTransaction> {
    for (let i = 0; i < count; i++) {
      const t = this.nextTransaction();
      yield t;
      t.complete();
    }
  }
}

/** Java's `String.hashCode` (UTF-16 code units, int32 arithmetic). */
function javaHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * YCSB's `buildDeterministicValue(key, field)`: `key:field`, then `:` + hashCode of the text so
 * far until long enough, cut to `length` characters (ASCII, so bytes = characters).
 */
export function deterministicValue(key: string, field: string, length: number): Uint8Array {
  let sb = `${key}:${field}`;
  while (sb.length < length) {
    sb += ':';
    sb += String(javaHashCode(sb));
  }
  return new TextEncoder().encode(sb).slice(0, length);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function withFields<T extends KvOperation>(op: T, fields: readonly string[] | undefined): T {
  return fields === undefined ? op : { ...op, fields };
}
