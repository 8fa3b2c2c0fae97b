/**
 * In-memory {@link PeerNetwork} for tests: a {@link MemoryHub} links `n` endpoints inside one
 * process. Delivery is asynchronous (`setImmediate`), FIFO per sender→receiver pair, and can be
 * filtered (drops, partitions) with {@link MemoryHub.setFilter}. No authentication is needed:
 * the hub itself knows the true sender, so forged senders are impossible by construction.
 * (For deterministic, seeded fault injection use the simulator in `src/sim/`.)
 */
import { EventEmitter } from 'node:events';
import { NetError } from './errors.ts';
import { emptyDropCounters, type PeerMessageListener, type PeerNetwork, type PeerNetworkStats, type PeerStatusListener } from './peer-network.ts';

/** Decides whether a message from → to is delivered (true) or dropped (false). */
export type MemoryFilter = (from: number, to: number, bytes: Uint8Array) => boolean;

/** Links the endpoints of one in-memory group. */
export class MemoryHub {
  private readonly endpoints: (MemoryPeerNetwork | undefined)[];
  private filter: MemoryFilter = () => true;

  /** @param n group size (replica ids 0..n-1) */
  constructor(readonly n: number) {
    this.endpoints = new Array<MemoryPeerNetwork | undefined>(n).fill(undefined);
  }

  /**
   * The endpoint of replica `id`; a new endpoint replaces a closed one (a "restart").
   * @throws {NetError} `unknown-peer` for ids outside 0..n-1, `bad-config` if `id` is still open
   */
  endpoint(id: number): MemoryPeerNetwork {
    if (!Number.isInteger(id) || id < 0 || id >= this.n) throw new NetError('unknown-peer', `no replica ${id}`);
    const cur = this.endpoints[id];
    if (cur && !cur.isClosed) throw new NetError('bad-config', `replica ${id} endpoint is still open`);
    const ep = new MemoryPeerNetwork(this, id);
    this.endpoints[id] = ep;
    return ep;
  }

  /** Install a delivery filter (e.g. a partition); `undefined` restores full connectivity. */
  setFilter(filter: MemoryFilter | undefined): void {
    this.filter = filter ?? (() => true);
  }

  /** @internal route one message. */
  route(from: number, to: number, bytes: Uint8Array): void {
    if (!this.filter(from, to, bytes)) return;
    const copy = new Uint8Array(bytes);
    setImmediate(() => {
      const ep = this.endpoints[to];
      if (ep && !ep.isClosed && ep.isStarted) ep.receive(from, copy);
    });
  }
}

/** One replica's endpoint on a {@link MemoryHub}. */
export class MemoryPeerNetwork extends EventEmitter implements PeerNetwork {
  readonly n: number;
  private started = false;
  private closed = false;
  private sent = 0;
  private received = 0;
  private readonly drops = emptyDropCounters();

  /** Use {@link MemoryHub.endpoint}. */
  constructor(
    private readonly hub: MemoryHub,
    readonly self: number,
  ) {
    super();
    this.n = hub.n;
  }

  get isClosed(): boolean {
    return this.closed;
  }
  get isStarted(): boolean {
    return this.started;
  }

  async start(): Promise<void> {
    this.started = true;
  }

  send(to: number, bytes: Uint8Array): boolean {
    if (this.closed) return false;
    if (!Number.isInteger(to) || to < 0 || to >= this.n) {
      this.drops['bad-destination']++;
      return false;
    }
    this.sent++;
    this.hub.route(this.self, to, bytes);
    return true;
  }

  broadcast(bytes: Uint8Array): void {
    for (let i = 0; i < this.n; i++) if (i !== this.self) this.send(i, bytes);
  }

  stats(): PeerNetworkStats {
    return {
      sent: this.sent,
      received: this.received,
      sessionsEstablished: 0,
      connectedPeers: [...Array(this.n).keys()].filter((i) => i !== this.self),
      dropped: { ...this.drops },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** @internal called by the hub. */
  receive(from: number, bytes: Uint8Array): void {
    this.received++;
    try {
      this.emit('message', from, bytes);
    } catch {
      // a listener bug must not break the hub; counted as received only
    }
  }

}
