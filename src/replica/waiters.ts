/**
 * Which client connections wait for which request's reply, at one replica. Bounded in total and
 * per connection; entries disappear when answered, when their connection closes, or after a TTL
 * (the client retransmits, possibly elsewhere).
 */

/** Options of {@link WaiterRegistry}. */
export interface WaiterRegistryOptions {
  /** Waiting entries in total (default 100 000). */
  readonly maxTotal?: number;
  /** Waiting entries per connection (default 4096). */
  readonly maxPerConnection?: number;
  /** Millisecond clock. */
  readonly now: () => number;
  /** Called with the new total after every change (for a gauge). */
  readonly onCount?: (count: number) => void;
}

/** See the module comment. `C` is the connection type (anything with a numeric id). */
export class WaiterRegistry<C extends { readonly id: number }> {
  private readonly byKey = new Map<string, Map<number, { conn: C; since: number }>>();
  private readonly byConn = new Map<number, Set<string>>();
  private count = 0;

  constructor(private readonly o: WaiterRegistryOptions) {}

  /** Number of (key, connection) entries. */
  get size(): number {
    return this.count;
  }

  /** Whether anyone waits for `key`. */
  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Register `conn` as waiting for `key`; false when a bound is reached. Idempotent. */
  add(key: string, conn: C): boolean {
    let ws = this.byKey.get(key);
    if (ws?.has(conn.id)) return true;
    let keys = this.byConn.get(conn.id);
    if (this.count >= (this.o.maxTotal ?? 100_000)) return false;
    if ((keys?.size ?? 0) >= (this.o.maxPerConnection ?? 4096)) return false;
    if (!keys) this.byConn.set(conn.id, (keys = new Set()));
    if (!ws) this.byKey.set(key, (ws = new Map()));
    ws.set(conn.id, { conn, since: this.o.now() });
    keys.add(key);
    this.changed(+1);
    return true;
  }

  /** Remove and return every connection waiting for `key`. */
  take(key: string): C[] {
    const ws = this.byKey.get(key);
    if (!ws) return [];
    this.byKey.delete(key);
    for (const id of ws.keys()) this.byConn.get(id)?.delete(key);
    this.changed(-ws.size);
    return [...ws.values()].map((w) => w.conn);
  }

  /** Forget everything connection `id` waited for (it closed). */
  dropConnection(id: number): void {
    const keys = this.byConn.get(id);
    this.byConn.delete(id);
    if (!keys) return;
    let removed = 0;
    for (const key of keys) {
      const ws = this.byKey.get(key);
      if (ws?.delete(id)) {
        removed++;
        if (ws.size === 0) this.byKey.delete(key);
      }
    }
    this.changed(-removed);
  }

  /** Forget entries older than `ttlMs`. */
  sweep(ttlMs: number): void {
    const cutoff = this.o.now() - ttlMs;
    let removed = 0;
    for (const [key, ws] of this.byKey) {
      for (const [id, w] of ws) {
        if (w.since < cutoff) {
          ws.delete(id);
          this.byConn.get(id)?.delete(key);
          removed++;
        }
      }
      if (ws.size === 0) this.byKey.delete(key);
    }
    this.changed(-removed);
  }

  private changed(delta: number): void {
    this.count += delta;
    this.o.onCount?.(this.count);
  }
}
