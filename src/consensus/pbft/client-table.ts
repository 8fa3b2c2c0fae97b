/**
 * Exactly-once bookkeeping per client (Castro & Liskov TOCS 2002 §4.1: "last reply" per client),
 * generalised to pipelined clients, plus the encoding of the core's checkpointed state.
 *
 * Per client the table keeps the highest executed request id `max` and the results of every
 * executed request id in the window (max − W, max]. A request id in the window that is not in
 * the table has not been executed yet and WILL be executed when ordered, even after a later id
 * of the same client — so a faulty primary cannot censor request t by ordering t+1 first (the
 * pitfall of the single "last timestamp" rule with pipelined clients). Ids ≤ max − W are too
 * old and ignored. Memory per client is bounded by W results; the number of clients is bounded
 * by `maxClients`: beyond it the client whose last execution is oldest (ties: smallest id) is
 * evicted — deterministically, since it depends on replicated state only. An evicted client
 * loses exactly-once for requests it retransmits later (cf. BFT-SMaRt's session expiry).
 *
 * The table is replicated state: it is part of every checkpoint snapshot, so state transfer
 * preserves exactly-once.
 */
import { CODEC_LIMITS, DecodeError } from './codec.ts';

/** Outcome of {@link ClientTable.lookup}. */
export type LookupResult =
  | { readonly status: 'new' }
  | { readonly status: 'executed'; readonly result: Uint8Array }
  | { readonly status: 'too-old' };

interface ClientEntry {
  max: bigint;
  /** Sequence number of the batch that last executed a request of this client. */
  lastSeq: bigint;
  results: Map<bigint, Uint8Array>;
}

/** Default bound on the number of clients in the table. */
export const DEFAULT_MAX_CLIENTS = 10_000;

/** Deterministic per-client exactly-once table. */
export class ClientTable {
  private readonly clients = new Map<string, ClientEntry>();

  /**
   * @param window W ≥ 1, the per-client request-id window
   * @param maxClients bound on the number of clients remembered (≥ 1)
   */
  constructor(
    private readonly window: number,
    private readonly maxClients = DEFAULT_MAX_CLIENTS,
  ) {}

  /** Whether request `requestId` of `clientId` is new, executed (with its result), or too old. */
  lookup(clientId: string, requestId: bigint): LookupResult {
    const e = this.clients.get(clientId);
    if (!e) return requestId === 0n ? { status: 'too-old' } : { status: 'new' };
    const r = e.results.get(requestId);
    if (r) return { status: 'executed', result: r };
    if (requestId <= e.max - BigInt(this.window) || requestId === 0n) return { status: 'too-old' };
    return { status: 'new' };
  }

  /**
   * Record the result of a request executed in batch `seq` (caller checked `lookup` is `new`).
   * May evict the least recently served other client when the table is full. `seq` defaults to
   * 0 (only eviction order depends on it).
   */
  record(clientId: string, requestId: bigint, result: Uint8Array, seq = 0n): void {
    let e = this.clients.get(clientId);
    if (!e) {
      if (this.clients.size >= this.maxClients) this.evictOne();
      e = { max: 0n, lastSeq: seq, results: new Map() };
      this.clients.set(clientId, e);
    }
    if (seq > e.lastSeq) e.lastSeq = seq;
    e.results.set(requestId, result);
    if (requestId > e.max) {
      e.max = requestId;
      const floor = e.max - BigInt(this.window);
      for (const id of e.results.keys()) if (id <= floor) e.results.delete(id);
    }
  }

  private evictOne(): void {
    let victim: string | undefined;
    let victimSeq = 0n;
    for (const [id, e] of this.clients) {
      if (victim === undefined || e.lastSeq < victimSeq || (e.lastSeq === victimSeq && id < victim)) {
        victim = id;
        victimSeq = e.lastSeq;
      }
    }
    if (victim !== undefined) this.clients.delete(victim);
  }

  /** Number of clients known (gauge). */
  get size(): number {
    return this.clients.size;
  }

  /** Canonical encoding: clients sorted by id, results sorted by request id. */
  encode(): Uint8Array {
    const parts: Uint8Array[] = [];
    const enc = new TextEncoder();
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, this.clients.size);
    parts.push(head);
    for (const id of [...this.clients.keys()].sort()) {
      const e = this.clients.get(id)!;
      const idBytes = enc.encode(id);
      const h = new Uint8Array(1 + idBytes.length + 8 + 8 + 4);
      const dv = new DataView(h.buffer);
      h[0] = idBytes.length;
      h.set(idBytes, 1);
      dv.setBigUint64(1 + idBytes.length, e.max);
      dv.setBigUint64(9 + idBytes.length, e.lastSeq);
      dv.setUint32(17 + idBytes.length, e.results.size);
      parts.push(h);
      for (const rid of [...e.results.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
        const r = e.results.get(rid)!;
        const rh = new Uint8Array(12);
        const rdv = new DataView(rh.buffer);
        rdv.setBigUint64(0, rid);
        rdv.setUint32(8, r.length);
        parts.push(rh, r);
      }
    }
    return concat(parts);
  }

  /**
   * Decode a table from {@link encode} bytes starting at `offset`.
   * @returns the table and the offset after it
   * @throws {DecodeError} on malformed bytes
   */
  static decode(bytes: Uint8Array, offset: number, window: number, maxClients = DEFAULT_MAX_CLIENTS): { table: ClientTable; next: number } {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let p = offset;
    const need = (n: number): void => {
      if (p + n > bytes.length) throw new DecodeError('truncated', 'client table');
    };
    need(4);
    const count = dv.getUint32(p);
    p += 4;
    if (count > maxClients) throw new DecodeError('too-large', `${count} clients`);
    const table = new ClientTable(window, maxClients);
    const dec = new TextDecoder('utf-8', { fatal: true });
    let prev: string | undefined;
    for (let i = 0; i < count; i++) {
      need(1);
      const len = bytes[p]!;
      p += 1;
      if (len === 0 || len > CODEC_LIMITS.maxClientIdBytes) throw new DecodeError('invalid', 'client id length');
      need(len + 20);
      let id: string;
      try {
        id = dec.decode(bytes.subarray(p, p + len));
      } catch {
        throw new DecodeError('invalid', 'client id not UTF-8');
      }
      if (prev !== undefined && !(prev < id)) throw new DecodeError('invalid', 'client ids not sorted');
      prev = id;
      p += len;
      const max = dv.getBigUint64(p);
      const lastSeq = dv.getBigUint64(p + 8);
      const n = dv.getUint32(p + 16);
      p += 20;
      if (n > window) throw new DecodeError('too-large', 'client results');
      const results = new Map<bigint, Uint8Array>();
      for (let j = 0; j < n; j++) {
        need(12);
        const rid = dv.getBigUint64(p);
        const rlen = dv.getUint32(p + 8);
        p += 12;
        need(rlen);
        results.set(rid, bytes.slice(p, p + rlen));
        p += rlen;
      }
      table.clients.set(id, { max, lastSeq, results });
    }
    return { table, next: p };
  }
}

/** Concatenate byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const STATE_VERSION = 1;

/**
 * Encode the core's checkpointed state: `[version u8][client table][u32 len ‖ app snapshot]`.
 * Its SHA-256 is the checkpoint's state digest.
 */
export function encodeCoreState(table: ClientTable, appSnapshot: Uint8Array): Uint8Array {
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, appSnapshot.length);
  return concat([Uint8Array.of(STATE_VERSION), table.encode(), len, appSnapshot]);
}

/**
 * Decode {@link encodeCoreState} bytes.
 * @throws {DecodeError} on malformed bytes
 */
export function decodeCoreState(bytes: Uint8Array, window: number, maxClients = DEFAULT_MAX_CLIENTS): { table: ClientTable; app: Uint8Array } {
  if (bytes.length < 1 || bytes[0] !== STATE_VERSION) throw new DecodeError('bad-version', 'core state version');
  const { table, next } = ClientTable.decode(bytes, 1, window, maxClients);
  if (next + 4 > bytes.length) throw new DecodeError('truncated', 'app snapshot length');
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(next);
  if (next + 4 + len !== bytes.length) throw new DecodeError('invalid', 'app snapshot length mismatch');
  return { table, app: bytes.slice(next + 4) };
}
