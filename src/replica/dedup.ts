/**
 * Per-client deduplication table with a bounded request-id window (exactly-once execution,
 * Castro & Liskov TOCS 2002 §4.1 "last reply" generalised to pipelined clients), freshness-gated
 * admission of clients it does not remember, and a global byte budget for cached results.
 *
 * Window: a client may have many requests outstanding, so they can be ordered out of id order.
 * For each client the table keeps the outcome of the last `window` request ids below and
 * including the highest executed id; an id at or below `highest - window` is stale (rejected,
 * never executed).
 *
 * Freshness (docs/protocol.md §"Freshness"): every request carries a signed freshness sequence
 * `fresh`. A client the table does not hold (new, or evicted) is admitted at execution sequence S
 * only if `S - H <= fresh <= S` (H = `horizon`). A client may be evicted only when its last
 * activity sequence `lastActive < S - H`. Every frame of that client that ever executed has
 * `fresh <= (its execution sequence) <= lastActive < S - H <= S' - H` for any later S', so a
 * replayed frame of an evicted client is rejected: exactly-once survives eviction. When the
 * table is full and its least recently active client is not evictable, a new client is refused
 * (`busy`) without executing anything. Trade-off: a Sybil flood of fresh identities can fill the
 * table and lock new clients out for up to H sequences (clients already in the table are not
 * affected); it cannot make a request execute twice.
 *
 * Acknowledgements (docs/protocol.md §4.2): a request may carry the client's signed `ack`, its
 * lowest outstanding request id; the client holds replies for every id below it and never sends
 * them again. {@link DedupTable.acknowledge} forgets those entries and makes their ids stale, so a
 * client with one request at a time keeps one entry instead of a full window of results.
 *
 * Byte budget: cached results are kept in execution order up to `maxResultBytes` in total;
 * beyond it the oldest results' bytes are dropped but the request id stays marked as executed,
 * so a retransmission is answered "result no longer available" instead of being re-executed.
 *
 * All decisions depend only on the ordered input (the batch sequence and request contents), so
 * the table is identical at every correct replica and is part of the snapshot.
 */
import { ByteReader, ByteWriter, SnapshotFormatError } from './bytes.ts';

/** The cached outcome of one executed request. */
export interface DedupEntry {
  readonly requestId: bigint;
  /** SHA-256 of the operation that was executed under this id. */
  readonly operationDigest: Uint8Array;
  /** The result, or undefined once its bytes were dropped for the byte budget. */
  readonly result: Uint8Array | undefined;
  /** Sequence number of the batch that executed it. */
  readonly sequence: bigint;
}

interface StoredEntry {
  readonly requestId: bigint;
  readonly operationDigest: Uint8Array;
  result: Uint8Array | undefined;
  readonly sequence: bigint;
  /** Global execution counter (orders cached results for the byte budget). */
  readonly order: bigint;
}

interface ClientRecord {
  readonly clientId: Uint8Array;
  highest: bigint;
  /** Sequence of the client's last executed (or answered-from-table) request. */
  lastActive: bigint;
  /** Highest acknowledgement: ids below it are stale (0n = none). */
  acked: bigint;
  readonly entries: Map<bigint, StoredEntry>;
}

/** Outcome of {@link DedupTable.check}. */
export type DedupVerdict = { readonly kind: 'new' } | { readonly kind: 'duplicate'; readonly entry: DedupEntry } | { readonly kind: 'stale' };

/** Outcome of {@link DedupTable.admit} for a request that {@link DedupTable.check} found new. */
export type Admission = 'ok' | 'stale-freshness' | 'busy';

/** Limits of a {@link DedupTable}. */
export interface DedupLimits {
  /** Request ids kept per client (>= 1). */
  readonly window: number;
  /** Clients kept (>= 1). */
  readonly maxClients: number;
  /** Freshness horizon H in sequence units (>= 1). */
  readonly horizon: bigint;
  /** Global budget for cached result bytes (>= 0). */
  readonly maxResultBytes: number;
}

/** Default freshness horizon H (sequence units). */
export const DEFAULT_FRESHNESS_HORIZON = 100_000n;
/** Default global budget for cached result bytes (256 MiB). */
export const DEFAULT_MAX_CACHED_RESULT_BYTES = 256 * 1024 * 1024;

const entryKey = (clientHex: string, requestId: bigint): string => `${clientHex}:${requestId}`;

/** See the module comment. */
export class DedupTable {
  /** Clients in activity order (least recently active first). */
  private readonly clients = new Map<string, ClientRecord>();
  /** Entries holding result bytes, in execution order (key `clientHex:requestId`). */
  private readonly cached = new Map<string, { readonly clientHex: string; readonly requestId: bigint }>();
  private bytes = 0;
  private nextOrder = 0n;
  readonly window: number;
  readonly maxClients: number;
  readonly horizon: bigint;
  readonly maxResultBytes: number;

  /** @throws {RangeError} on a non-positive window, maxClients or horizon, or a negative byte budget */
  constructor(limits: DedupLimits) {
    const { window, maxClients, horizon, maxResultBytes } = limits;
    if (!Number.isInteger(window) || window < 1) throw new RangeError('window must be a positive integer');
    if (!Number.isInteger(maxClients) || maxClients < 1) throw new RangeError('maxClients must be a positive integer');
    if (typeof horizon !== 'bigint' || horizon < 1n) throw new RangeError('freshness horizon must be a positive bigint');
    if (!Number.isSafeInteger(maxResultBytes) || maxResultBytes < 0) throw new RangeError('maxResultBytes must be a non-negative integer');
    this.window = window;
    this.maxClients = maxClients;
    this.horizon = horizon;
    this.maxResultBytes = maxResultBytes;
  }

  /** Number of clients tracked. */
  get size(): number {
    return this.clients.size;
  }

  /** Result bytes currently cached (<= maxResultBytes after every call). */
  get cachedResultBytes(): number {
    return this.bytes;
  }

  /** Whether the table holds client `clientHex`. */
  has(clientHex: string): boolean {
    return this.clients.has(clientHex);
  }

  /** Classify `requestId` of client `clientHex` (hex of the 32-byte client id). */
  check(clientHex: string, requestId: bigint): DedupVerdict {
    const c = this.clients.get(clientHex);
    if (!c) return { kind: 'new' };
    if (requestId < c.acked) return { kind: 'stale' };
    const entry = c.entries.get(requestId);
    if (entry) return { kind: 'duplicate', entry };
    if (requestId <= c.highest - BigInt(this.window)) return { kind: 'stale' };
    return { kind: 'new' };
  }

  /** Whether `fresh` lies in the freshness window `[sequence - H, sequence]`. */
  isFresh(fresh: bigint, sequence: bigint): boolean {
    return fresh <= sequence && fresh + this.horizon >= sequence;
  }

  /**
   * May a request of `clientHex` that {@link check} classified `new` execute at `sequence`?
   * A client in the table: always `ok` (its window decides). Otherwise `stale-freshness` unless
   * {@link isFresh}, then `busy` if the table is full and its least recently active client was
   * active at or after `sequence - H`.
   */
  admit(clientHex: string, fresh: bigint, sequence: bigint): Admission {
    if (this.clients.has(clientHex)) return 'ok';
    if (!this.isFresh(fresh, sequence)) return 'stale-freshness';
    if (this.clients.size < this.maxClients) return 'ok';
    return this.evictable(sequence) ? 'ok' : 'busy';
  }

  /** The least recently active client may be evicted at `sequence` (lastActive < sequence - H). */
  private evictable(sequence: bigint): boolean {
    const oldest = this.clients.values().next().value as ClientRecord | undefined;
    return oldest !== undefined && oldest.lastActive + this.horizon < sequence;
  }

  /** Mark client `clientHex` active at `sequence` (a duplicate answered from the table). */
  touch(clientHex: string, sequence: bigint): void {
    const c = this.clients.get(clientHex);
    if (!c) return;
    this.clients.delete(clientHex);
    this.clients.set(clientHex, c);
    if (sequence > c.lastActive) c.lastActive = sequence;
  }

  /**
   * Record a freshly executed request (the caller checked it is `new` and admitted). Evicts the
   * least recently active client if the table was full.
   * @throws {RangeError} if the client is new, the table is full and nobody is evictable (call {@link admit} first)
   */
  record(clientHex: string, clientId: Uint8Array, entry: DedupEntry): void {
    let c = this.clients.get(clientHex);
    if (c) {
      this.clients.delete(clientHex);
    } else {
      if (this.clients.size >= this.maxClients) {
        if (!this.evictable(entry.sequence)) throw new RangeError('deduplication table full: admit() before record()');
        this.evictOldest();
      }
      c = { clientId, highest: 0n, lastActive: entry.sequence, acked: 0n, entries: new Map() };
    }
    this.clients.set(clientHex, c); // most recently active last
    if (entry.sequence > c.lastActive) c.lastActive = entry.sequence;
    const stored: StoredEntry = { ...entry, order: this.nextOrder++ };
    c.entries.set(entry.requestId, stored);
    if (stored.result !== undefined) {
      this.cached.set(entryKey(clientHex, entry.requestId), { clientHex, requestId: entry.requestId });
      this.bytes += stored.result.length;
    }
    if (entry.requestId > c.highest) {
      c.highest = entry.requestId;
      const floor = c.highest - BigInt(this.window);
      for (const [id, e] of c.entries) if (id <= floor) this.forget(clientHex, c, e);
    }
    this.enforceBudget();
  }

  /**
   * Client `clientHex` acknowledged every request id below `ack` (from an ordered, validly signed
   * request whose id is >= `ack`): forget those entries; their ids become stale. Monotone: a lower
   * acknowledgement (an older frame) changes nothing. No effect for a client not in the table.
   */
  acknowledge(clientHex: string, ack: bigint): void {
    const c = this.clients.get(clientHex);
    if (!c || ack <= c.acked) return;
    const from = c.acked;
    c.acked = ack;
    // walk whichever is shorter: the newly acknowledged ids (usually one per request) or the entries
    if (ack - from <= BigInt(c.entries.size)) {
      for (let id = from; id < ack; id++) {
        const e = c.entries.get(id);
        if (e) this.forget(clientHex, c, e);
      }
    } else {
      for (const [id, e] of c.entries) if (id < ack) this.forget(clientHex, c, e);
    }
  }

  private forget(clientHex: string, c: ClientRecord, e: StoredEntry): void {
    c.entries.delete(e.requestId);
    if (e.result !== undefined) {
      this.bytes -= e.result.length;
      this.cached.delete(entryKey(clientHex, e.requestId));
    }
  }

  private evictOldest(): void {
    const [hex, c] = this.clients.entries().next().value as [string, ClientRecord];
    for (const e of [...c.entries.values()]) this.forget(hex, c, e);
    this.clients.delete(hex);
  }

  /** Drop the oldest cached results' bytes (execution order) until within budget. */
  private enforceBudget(): void {
    while (this.bytes > this.maxResultBytes) {
      const first = this.cached.entries().next().value as [string, { clientHex: string; requestId: bigint }] | undefined;
      if (!first) break;
      const [key, ref] = first;
      this.cached.delete(key);
      const e = this.clients.get(ref.clientHex)?.entries.get(ref.requestId);
      if (e?.result !== undefined) {
        this.bytes -= e.result.length;
        e.result = undefined;
      }
    }
  }

  /**
   * Deterministic encoding: next execution counter, then clients in activity order (entries by
   * ascending id). Per client: id(32), highest, lastActive, acked, entries (id, sequence, order,
   * operation digest, has-result flag, result).
   */
  encode(): Uint8Array {
    const w = new ByteWriter().u64(this.nextOrder).u32(this.clients.size);
    for (const c of this.clients.values()) {
      w.raw(c.clientId).u64(c.highest).u64(c.lastActive).u64(c.acked);
      const ids = [...c.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      w.u32(ids.length);
      for (const id of ids) {
        const e = c.entries.get(id)!;
        w.u64(e.requestId).u64(e.sequence).u64(e.order).raw(e.operationDigest);
        if (e.result === undefined) w.raw(Uint8Array.of(0));
        else w.raw(Uint8Array.of(1)).bytes(e.result);
      }
    }
    return w.finish();
  }

  /**
   * Rebuild a table from {@link encode} output under `limits` (cached results are re-queued in
   * execution order and the byte budget is applied).
   * @throws {SnapshotFormatError} on malformed bytes, more clients than `maxClients`, more entries
   * than `window`, a duplicate client or request id
   */
  static decode(bytes: Uint8Array, limits: DedupLimits): DedupTable {
    const t = new DedupTable(limits);
    const r = new ByteReader(bytes);
    t.nextOrder = r.u64();
    const n = r.u32();
    if (n > limits.maxClients) throw new SnapshotFormatError(`${n} clients in the deduplication table, limit ${limits.maxClients}`);
    const withResults: { order: bigint; clientHex: string; requestId: bigint; size: number }[] = [];
    for (let i = 0; i < n; i++) {
      const clientId = r.raw(32);
      const clientHex = Buffer.from(clientId).toString('hex');
      if (t.clients.has(clientHex)) throw new SnapshotFormatError('duplicate client in deduplication table');
      const highest = r.u64();
      const lastActive = r.u64();
      const acked = r.u64();
      const count = r.u32();
      if (count > limits.window) throw new SnapshotFormatError(`${count} entries for one client, window ${limits.window}`);
      const entries = new Map<bigint, StoredEntry>();
      for (let j = 0; j < count; j++) {
        const requestId = r.u64();
        const sequence = r.u64();
        const order = r.u64();
        const operationDigest = r.raw(32);
        const flag = r.raw(1)[0];
        if (flag !== 0 && flag !== 1) throw new SnapshotFormatError('bad result flag');
        const result = flag === 1 ? r.bytes() : undefined;
        if (entries.has(requestId)) throw new SnapshotFormatError('duplicate request id in deduplication table');
        if (requestId < acked) throw new SnapshotFormatError('entry below the acknowledgement');
        if (order >= t.nextOrder) throw new SnapshotFormatError('entry order beyond the execution counter');
        entries.set(requestId, { requestId, sequence, order, operationDigest, result });
        if (result !== undefined) withResults.push({ order, clientHex, requestId, size: result.length });
      }
      t.clients.set(clientHex, { clientId, highest, lastActive, acked, entries });
    }
    if (r.remaining !== 0) throw new SnapshotFormatError('trailing bytes in deduplication table');
    withResults.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    for (const x of withResults) {
      t.cached.set(entryKey(x.clientHex, x.requestId), { clientHex: x.clientHex, requestId: x.requestId });
      t.bytes += x.size;
    }
    t.enforceBudget();
    return t;
  }
}
