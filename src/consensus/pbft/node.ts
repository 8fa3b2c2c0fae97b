/**
 * `PbftNode`: the runtime around one deterministic PBFT replica core — the only place where
 * the core meets sockets, timers and the clock ("I/O at the edges").
 *
 * - Replica mesh: an authenticated {@link PeerNetwork}; a message from replica j enters the core
 *   as `{kind:'message', from: j}` with j authenticated by the transport (see `api.ts`).
 * - Client endpoint: a {@link FrameServer}; every frame is a PBFT REQUEST and enters the core as
 *   `{kind:'request'}`. The runtime remembers which connections carried requests of which client
 *   id (decoded at the edge) and routes `reply` outputs there; replies for clients with no
 *   connection here are dropped (the client retransmits to all).
 * - Timers: the core's named timers on an injected {@link Clock}.
 * Inputs are processed one at a time, synchronously, in arrival order; the core never throws
 * for any input, and a core bug is caught, counted and logged instead of killing the process.
 */
import { FrameServer, silentLogger, type NetLogger, type PeerNetwork, type ServerConnection } from '../../net/index.ts';
import { decodeMessage } from './codec.ts';
import type { PbftMetrics, ReplicaInput, ReplicaOutput, ReplicaTimer } from './api.ts';

/** What the runtime needs from a replica core (`PbftReplica` in `replica.ts`). */
export interface ReplicaCore {
  /** Called once; may return initial effects (timers, state fetch). */
  start(): readonly ReplicaOutput[] | void;
  /** Feed one input; returns effects to perform in order. Never throws. */
  handle(input: ReplicaInput): readonly ReplicaOutput[];
  /** Current counters, if the core exposes them. */
  metrics?(): PbftMetrics;
  /** Whether this replica is the primary of its current view and not in a view change. */
  isActivePrimary?(): boolean;
}

/** Injected clock: wall time for logs and timers. */
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. */
export const systemClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Informational core outputs, re-emitted to observers. */
export type NodeEvent = Extract<ReplicaOutput, { kind: 'delivered' | 'view-change' | 'state-transfer' | 'stable-checkpoint' }>;

/** Options of a {@link PbftNode}. */
export interface PbftNodeOptions {
  /** This replica's id. */
  id: number;
  core: ReplicaCore;
  /** Replica mesh (started by the node). */
  peers: PeerNetwork;
  /** Client endpoint address; omit `clientPort` or set 0 to pick a free port. */
  clientHost?: string;
  clientPort?: number;
  /** Client frame limit in bytes (default: 16 MiB). */
  maxClientFrameBytes?: number;
  /** Max simultaneous client connections (default 4096). */
  maxClientConnections?: number;
  clock?: Clock;
  logger?: NetLogger;
  /** Observer of informational outputs (deliveries, view changes, state transfers). */
  onEvent?: (event: NodeEvent) => void;
}

/** Counters of the runtime edge (the core's own counters are in `metrics()`). */
export interface PbftNodeStats {
  clientConnections: number;
  clientFrames: number;
  repliesSent: number;
  /** Reply outputs for clients with no connection here. */
  repliesUnroutable: number;
  /** Exceptions thrown by the core (bugs) — caught, logged. */
  coreErrors: number;
  /** Outputs that could not be performed (e.g. a message above the frame limit). */
  outputErrors: number;
}

/** A running PBFT replica: core + mesh + client endpoint + timers. */
export class PbftNode {
  readonly id: number;
  private readonly core: ReplicaCore;
  private readonly peers: PeerNetwork;
  private readonly clientServer: FrameServer;
  private readonly clock: Clock;
  private readonly log: NetLogger;
  private readonly timers = new Map<ReplicaTimer, unknown>();
  /** client id → connections that carried its requests. */
  private readonly routes = new Map<string, Set<ServerConnection>>();
  /** connection → client ids seen on it (to clean `routes` on close). */
  private readonly connClients = new Map<ServerConnection, Set<string>>();
  private readonly counters = { clientFrames: 0, repliesSent: 0, repliesUnroutable: 0, coreErrors: 0, outputErrors: 0 };
  /** client id → in-process reply handler of a co-located client (see {@link attachLocalClient}). */
  private readonly localClients = new Map<string, (bytes: Uint8Array) => void>();
  private running = false;
  private closed = false;

  constructor(private readonly options: PbftNodeOptions) {
    this.id = options.id;
    this.core = options.core;
    this.peers = options.peers;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
    this.clientServer = new FrameServer({
      host: options.clientHost ?? '127.0.0.1',
      port: options.clientPort ?? 0,
      maxConnections: options.maxClientConnections ?? 4096,
      ...(options.maxClientFrameBytes !== undefined ? { maxFrameBytes: options.maxClientFrameBytes } : {}),
    });
    this.peers.on('message', (from, bytes) => this.input({ kind: 'message', from, bytes }));
    this.clientServer.on('frame', (conn: ServerConnection, bytes: Buffer) => this.onClientFrame(conn, bytes));
    this.clientServer.on('disconnect', (conn: ServerConnection) => this.forget(conn));
  }

  /** Bound client port (after {@link listenClients} or {@link start}). */
  get clientPort(): number {
    return this.clientServer.port;
  }

  /** Open the client endpoint only (to learn its port before the mesh starts). */
  async listenClients(): Promise<number> {
    if (this.clientServer.port === 0) await this.clientServer.listen();
    return this.clientServer.port;
  }

  /**
   * Start the client endpoint, the mesh and the core.
   * @returns the bound client port
   */
  async start(): Promise<number> {
    await this.listenClients();
    await this.peers.start();
    if (!this.running && !this.closed) {
      this.running = true;
      this.perform(this.safe(() => this.core.start() ?? []));
    }
    return this.clientServer.port;
  }

  /**
   * Route REPLY outputs for `clientId` to `onReply` in-process (a client co-located with this
   * replica, e.g. {@link LocalPbftClient}) instead of to client connections.
   */
  attachLocalClient(clientId: string, onReply: (bytes: Uint8Array) => void): void {
    this.localClients.set(clientId, onReply);
  }

  /**
   * Feed an encoded REQUEST to the core as a client request, from a co-located client. Deferred
   * to a microtask, so it is safe to call from inside the core's own callbacks (the
   * application's `executeBatch`): the core handles one input at a time.
   */
  submitLocal(bytes: Uint8Array): void {
    queueMicrotask(() => this.input({ kind: 'request', bytes, local: true }));
  }

  /** Whether this replica is the active primary (false if the core does not tell). */
  isActivePrimary(): boolean {
    return this.core.isActivePrimary?.() ?? false;
  }

  /** Core counters (if the core exposes them). */
  metrics(): PbftMetrics | undefined {
    return this.core.metrics?.();
  }

  /** Runtime-edge counters. */
  stats(): PbftNodeStats {
    return { ...this.counters, clientConnections: this.clientServer.stats().open };
  }

  /** Stop timers, the client endpoint and the mesh. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    for (const h of this.timers.values()) this.clock.clearTimeout(h);
    this.timers.clear();
    await Promise.all([this.clientServer.close(), this.peers.close()]);
  }

  private onClientFrame(conn: ServerConnection, bytes: Buffer): void {
    this.counters.clientFrames++;
    try {
      const m = decodeMessage(bytes);
      if (m.type === 'request') this.remember(conn, m.clientId);
    } catch {
      // malformed: the core drops and counts it below
    }
    this.input({ kind: 'request', bytes });
  }

  private remember(conn: ServerConnection, clientId: string): void {
    let ids = this.connClients.get(conn);
    if (!ids) this.connClients.set(conn, (ids = new Set()));
    if (ids.has(clientId)) return;
    if (ids.size >= 64) return; // bound per-connection state
    ids.add(clientId);
    let conns = this.routes.get(clientId);
    if (!conns) this.routes.set(clientId, (conns = new Set()));
    conns.add(conn);
  }

  private forget(conn: ServerConnection): void {
    const ids = this.connClients.get(conn);
    if (!ids) return;
    this.connClients.delete(conn);
    for (const id of ids) {
      const conns = this.routes.get(id);
      conns?.delete(conn);
      if (conns && conns.size === 0) this.routes.delete(id);
    }
  }

  private input(input: ReplicaInput): void {
    if (!this.running) return;
    this.perform(this.safe(() => this.core.handle(input)));
  }

  private safe(fn: () => readonly ReplicaOutput[]): readonly ReplicaOutput[] {
    try {
      return fn();
    } catch (err) {
      this.counters.coreErrors++;
      this.log.warn({ pbftId: this.id, err: String((err as Error)?.stack ?? err) }, 'replica core threw (bug); input dropped');
      return [];
    }
  }

  private perform(outputs: readonly ReplicaOutput[]): void {
    for (const o of outputs) {
      try {
        this.performOne(o);
      } catch (err) {
        // e.g. a frame above the transport limit: drop this effect, keep the others
        this.counters.outputErrors++;
        this.log.warn({ pbftId: this.id, kind: o.kind, err: String(err) }, 'could not perform a core output');
      }
    }
  }

  private performOne(o: ReplicaOutput): void {
    switch (o.kind) {
      case 'send':
        if (o.to === 'all') this.peers.broadcast(o.bytes);
        else this.peers.send(o.to, o.bytes);
        break;
      case 'reply': {
        const local = this.localClients.get(o.clientId);
        if (local) {
          this.counters.repliesSent++;
          local(o.bytes);
          break;
        }
        const conns = this.routes.get(o.clientId);
        if (!conns || conns.size === 0) {
          this.counters.repliesUnroutable++;
          break;
        }
        for (const c of conns) c.send(o.bytes);
        this.counters.repliesSent++;
        break;
      }
      case 'set-timer': {
        const old = this.timers.get(o.timer);
        if (old !== undefined) this.clock.clearTimeout(old);
        const timer = o.timer;
        this.timers.set(
          timer,
          this.clock.setTimeout(() => {
            this.timers.delete(timer);
            this.input({ kind: 'timer', timer });
          }, o.afterMs),
        );
        break;
      }
      case 'cancel-timer': {
        const h = this.timers.get(o.timer);
        if (h !== undefined) this.clock.clearTimeout(h);
        this.timers.delete(o.timer);
        break;
      }
      default:
        if (o.kind === 'view-change') this.log.info({ pbftId: this.id, view: String(o.view) }, 'entered view');
        if (o.kind === 'state-transfer') this.log.info({ pbftId: this.id, sequence: String(o.sequence) }, 'state transfer installed');
        try {
          this.options.onEvent?.(o);
        } catch (err) {
          this.log.warn({ pbftId: this.id, err: String(err) }, 'event observer threw');
        }
    }
  }
}
