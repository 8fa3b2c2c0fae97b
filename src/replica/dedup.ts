/**
 * Per-client deduplication table with a bounded request-id window (exactly-once execution,
 * Castro & Liskov TOCS 2002 §4.1 "last reply" generalised to pipelined clients).
 *
 * A client may have many requests outstanding, so they can be ordered out of id order. For each
 * client the table keeps the results of the last `window` request ids below and including the
 * highest executed id; an id at or below `highest - window` is stale (rejected, never executed).
 * At most `maxClients` clients are kept; the least recently active one (in execution order) is
 * evicted first. All decisions depend only on the ordered input, so the table is identical at
 * every correct replica and is part of the snapshot.
 */
import { ByteReader, ByteWriter, SnapshotFormatError } from './bytes.ts';

/** The cached outcome of one executed request. */
export interface DedupEntry {
  readonly requestId: bigint;
  /** SHA-256 of the operation that was executed under this id. */
  readonly operationDigest: Uint8Array;
  readonly result: Uint8Array;
  /** Sequence number of the batch that executed it. */
  readonly sequence: bigint;
}

interface ClientRecord {
  readonly clientId: Uint8Array;
  highest: bigint;
  readonly entries: Map<bigint, DedupEntry>;
}

/** Outcome of {@link DedupTable.check}. */
export type DedupVerdict = { readonly kind: 'new' } | { readonly kind: 'duplicate'; readonly entry: DedupEntry } | { readonly kind: 'stale' };

/** See the module comment. */
export class DedupTable {
  private readonly clients = new Map<string, ClientRecord>();

  /**
   * @param window request ids kept per client (>= 1)
   * @param maxClients clients kept (>= 1)
   */
  constructor(
    readonly window: number,
    readonly maxClients: number,
  ) {
    if (!Number.isInteger(window) || window < 1) throw new RangeError('window must be a positive integer');
    if (!Number.isInteger(maxClients) || maxClients < 1) throw new RangeError('maxClients must be a positive integer');
  }

  /** Number of clients tracked. */
  get size(): number {
    return this.clients.size;
  }

  /** Classify `requestId` of client `clientHex` (hex of the 32-byte client id). */
  check(clientHex: string, requestId: bigint): DedupVerdict {
    const c = this.clients.get(clientHex);
    if (!c) return { kind: 'new' };
    const entry = c.entries.get(requestId);
    if (entry) return { kind: 'duplicate', entry };
    if (requestId <= c.highest - BigInt(this.window)) return { kind: 'stale' };
    return { kind: 'new' };
  }

  /** Record a freshly executed request (caller checked it is `new`). */
  record(clientHex: string, clientId: Uint8Array, entry: DedupEntry): void {
    let c = this.clients.get(clientHex);
    if (c) this.clients.delete(clientHex);
    else c = { clientId, highest: 0n, entries: new Map() };
    this.clients.set(clientHex, c); // most recently active last
    c.entries.set(entry.requestId, entry);
    if (entry.requestId > c.highest) {
      c.highest = entry.requestId;
      const floor = c.highest - BigInt(this.window);
      for (const id of c.entries.keys()) if (id <= floor) c.entries.delete(id);
    }
    while (this.clients.size > this.maxClients) this.clients.delete(this.clients.keys().next().value as string);
  }

  /** Deterministic encoding (clients in activity order, entries by ascending id). */
  encode(): Uint8Array {
    const w = new ByteWriter().u32(this.clients.size);
    for (const c of this.clients.values()) {
      w.raw(c.clientId).u64(c.highest);
      const ids = [...c.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      w.u32(ids.length);
      for (const id of ids) {
        const e = c.entries.get(id)!;
        w.u64(e.requestId).u64(e.sequence).raw(e.operationDigest).bytes(e.result);
      }
    }
    return w.finish();
  }

  /**
   * Rebuild a table from {@link encode} output.
   * @throws {SnapshotFormatError} on malformed bytes
   */
  static decode(bytes: Uint8Array, window: number, maxClients: number): DedupTable {
    const t = new DedupTable(window, maxClients);
    const r = new ByteReader(bytes);
    const n = r.u32();
    for (let i = 0; i < n; i++) {
      const clientId = r.raw(32);
      const highest = r.u64();
      const count = r.u32();
      const entries = new Map<bigint, DedupEntry>();
      for (let j = 0; j < count; j++) {
        const requestId = r.u64();
        const sequence = r.u64();
        const operationDigest = r.raw(32);
        const result = r.bytes();
        entries.set(requestId, { requestId, sequence, operationDigest, result });
      }
      t.clients.set(Buffer.from(clientId).toString('hex'), { clientId, highest, entries });
    }
    if (r.remaining !== 0) throw new SnapshotFormatError('trailing bytes in deduplication table');
    return t;
  }
}
