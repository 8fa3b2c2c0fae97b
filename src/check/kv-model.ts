/**
 * Sequential specification of the YCSB key-value store (`src/apps/kv.ts`) for the
 * linearizability checker, written independently of the store so that it can catch its bugs.
 *
 * Semantics (mirroring the store's documented contract):
 * - `read` → `notFound` if absent, else `record` = the requested fields that exist (all if none given).
 * - `update` → `notFound` if absent (no change), else `ok` and the given fields are overwritten.
 * - `insert` → `ok`; creates or replaces the whole record.
 * - `delete` → `notFound` if absent, else `ok`.
 * - `readModifyWrite` → `notFound` if absent, else `record` (read before the write) and update.
 * - `scan` → `records`: up to min(count, maxScanCount) records with key ≥ startKey in UTF-8 order.
 * - An `error` result means the store rejected the operation (malformed, over limits): it is
 *   legal in any state and has no effect. A client that cannot tell whether an operation took
 *   effect (timeout, crash) must record an unknown outcome (`output === undefined`) instead.
 *
 * Partitioning (P-compositionality): every (table, key) is an independent register, except that
 * `scan` reads many keys of one table. Tables with at least one scan whose outcome is known are
 * therefore checked as one partition per table (state = the whole table); all other tables are
 * checked per key. Reads and scans with unknown outcome carry no information and are dropped.
 */
import { compareUtf8 } from '../apps/codec.ts';
import { DEFAULT_KV_LIMITS, type KvOperation, type KvRecord, type KvResult } from '../apps/kv-codec.ts';
import type { Operation } from './history.ts';
import { checkLinearizable, type CheckBudget, type CheckResult, type Model } from './linearizability.ts';

/** One stored record in canonical form: field name → value as hex. */
interface Rec {
  readonly fields: ReadonlyMap<string, string>;
  /** Canonical text: sorted `name=hex` pairs. */
  readonly canon: string;
}

/** Model state: `table \0 key` → record. Immutable; every step makes a new map if it writes. */
export type KvModelState = ReadonlyMap<string, Rec>;

/** Options of the KV model. */
export interface KvModelOptions {
  /** Must equal the store's `maxScanCount` (default {@link DEFAULT_KV_LIMITS}). */
  readonly maxScanCount?: number;
}

const hex = (v: Uint8Array): string => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');

function makeRec(fields: Map<string, string>): Rec {
  const names = [...fields.keys()].sort(compareUtf8);
  return { fields, canon: names.map((n) => `${JSON.stringify(n)}=${fields.get(n)}`).join(',') };
}

function recFrom(values: KvRecord): Rec {
  return makeRec(new Map(Object.entries(values).map(([n, v]) => [n, hex(v)])));
}

/** Projection of `rec` onto `wanted` (all fields if undefined), as canonical text. */
function projectCanon(rec: Rec, wanted: readonly string[] | undefined): string {
  const m = new Map<string, string>();
  for (const n of wanted ?? rec.fields.keys()) {
    const v = rec.fields.get(n);
    if (v !== undefined) m.set(n, v);
  }
  return makeRec(m).canon;
}

const slot = (table: string, key: string): string => `${table}\u0000${key}`;

const keyCache = new WeakMap<KvModelState, string>();

/** Builds the KV {@link Model} (with per-key / per-table partitioning). */
export function kvModel(options: KvModelOptions = {}): Model<KvModelState, KvOperation, KvResult> {
  const maxScan = options.maxScanCount ?? DEFAULT_KV_LIMITS.maxScanCount;
  const empty: KvModelState = new Map();

  const with_ = (s: KvModelState, k: string, r: Rec | undefined): KvModelState => {
    const m = new Map(s);
    if (r === undefined) m.delete(k);
    else m.set(k, r);
    return m;
  };

  const step = (s: KvModelState, op: KvOperation, out: KvResult | undefined): { ok: boolean; state: KvModelState } => {
    if (out !== undefined && out.type === 'error') return { ok: true, state: s };
    const known = out !== undefined;
    switch (op.type) {
      case 'read': {
        const r = s.get(slot(op.table, op.key));
        if (!known) return { ok: true, state: s };
        if (r === undefined) return { ok: out.type === 'notFound', state: s };
        return { ok: out.type === 'record' && recFrom(out.record).canon === projectCanon(r, op.fields), state: s };
      }
      case 'update':
      case 'readModifyWrite': {
        const k = slot(op.table, op.key);
        const r = s.get(k);
        if (r === undefined) return { ok: !known || out.type === 'notFound', state: s };
        let ok = !known;
        if (known) {
          ok = op.type === 'update' ? out.type === 'ok' : out.type === 'record' && recFrom(out.record).canon === projectCanon(r, op.fields);
        }
        const merged = new Map(r.fields);
        for (const [n, v] of Object.entries(op.values)) merged.set(n, hex(v));
        return { ok, state: with_(s, k, makeRec(merged)) };
      }
      case 'insert':
        return { ok: !known || out.type === 'ok', state: with_(s, slot(op.table, op.key), recFrom(op.values)) };
      case 'delete': {
        const k = slot(op.table, op.key);
        if (!s.has(k)) return { ok: !known || out.type === 'notFound', state: s };
        return { ok: !known || out.type === 'ok', state: with_(s, k, undefined) };
      }
      case 'scan': {
        if (!known) return { ok: true, state: s };
        if (out.type !== 'records') return { ok: false, state: s };
        const prefix = `${op.table}\u0000`;
        const keys: string[] = [];
        for (const k of s.keys()) {
          if (k.startsWith(prefix)) {
            const key = k.slice(prefix.length);
            if (compareUtf8(key, op.startKey) >= 0) keys.push(key);
          }
        }
        keys.sort(compareUtf8);
        const want = keys.slice(0, Math.max(0, Math.min(op.count, maxScan)));
        if (want.length !== out.records.length) return { ok: false, state: s };
        for (let i = 0; i < want.length; i++) {
          const got = out.records[i]!;
          if (got.key !== want[i] || recFrom(got.record).canon !== projectCanon(s.get(prefix + want[i])!, op.fields)) {
            return { ok: false, state: s };
          }
        }
        return { ok: true, state: s };
      }
    }
  };

  return {
    init: () => empty,
    step,
    stateKey(s) {
      let k = keyCache.get(s);
      if (k === undefined) {
        k = [...s.keys()].sort().map((slotKey) => `${JSON.stringify(slotKey)}:${s.get(slotKey)!.canon}`).join(';');
        keyCache.set(s, k);
      }
      return k;
    },
    partition: partitionKv,
    describe: describeKv,
  };
}

function partitionKv(ops: readonly Operation<KvOperation, KvResult>[]): { name: string; ops: Operation<KvOperation, KvResult>[] }[] {
  const useful = ops.filter((o) => o.output !== undefined || (o.input.type !== 'read' && o.input.type !== 'scan'));
  const scanned = new Set<string>();
  for (const o of useful) if (o.input.type === 'scan') scanned.add(o.input.table);
  const parts = new Map<string, Operation<KvOperation, KvResult>[]>();
  for (const o of useful) {
    const t = o.input.table;
    const name = scanned.has(t) ? `table ${JSON.stringify(t)}` : `key ${JSON.stringify(t)}/${JSON.stringify((o.input as { key: string }).key)}`;
    let p = parts.get(name);
    if (p === undefined) {
      p = [];
      parts.set(name, p);
    }
    p.push(o);
  }
  return [...parts.entries()].map(([name, list]) => ({ name, ops: list }));
}

function showRecord(r: KvRecord): string {
  const dec = new TextDecoder();
  const names = Object.keys(r).sort(compareUtf8);
  return `{${names.map((n) => `${n}:${JSON.stringify(dec.decode(r[n]))}`).join(',')}}`;
}

/** Readable one-line rendering of a KV operation and its result. */
export function describeKv(op: KvOperation, out: KvResult | undefined): string {
  let o: string;
  switch (op.type) {
    case 'read':
      o = `read ${op.table}/${op.key}${op.fields ? ` [${op.fields.join(',')}]` : ''}`;
      break;
    case 'scan':
      o = `scan ${op.table} from ${op.startKey} count ${op.count}`;
      break;
    case 'delete':
      o = `delete ${op.table}/${op.key}`;
      break;
    default:
      o = `${op.type} ${op.table}/${op.key} ${showRecord(op.values)}`;
  }
  let r: string;
  if (out === undefined) r = '?';
  else if (out.type === 'record') r = `record ${showRecord(out.record)}`;
  else if (out.type === 'records') r = `records [${out.records.map((x) => `${x.key}${showRecord(x.record)}`).join(' ')}]`;
  else if (out.type === 'error') r = `error ${out.code}`;
  else r = out.type;
  return `${o} -> ${r}`;
}

/**
 * Checks a KV history for linearizability (per-key / per-table partitions, budget per partition).
 * Never throws for any history.
 */
export function checkKvHistory(
  ops: readonly Operation<KvOperation, KvResult>[],
  budget: CheckBudget = {},
  options: KvModelOptions = {},
): CheckResult<KvOperation, KvResult> {
  return checkLinearizable(kvModel(options), ops, budget);
}
