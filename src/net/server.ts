/**
 * `FrameServer`: a TCP listener whose connections speak length-prefixed frames.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { FramedSocket, type FramedSocketOptions, type CloseReason } from './framed-socket.ts';
import { NetError } from './errors.ts';
import { DEFAULT_MAX_FRAME_BYTES } from './frame.ts';
import {
  expiredReason, pickEvictionVictim, pickLargestPartial, resolveLimits,
  type ConnLimitState, type FrameServerLimitOptions, type LimitReason, type ResolvedLimits,
} from './server-limits.ts';

/** Options of a {@link FrameServer}. */
export interface FrameServerOptions extends FramedSocketOptions, FrameServerLimitOptions {
  /** Interface to bind, default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free port (read it from {@link FrameServer.port} after `listen`). */
  port?: number;
  /**
   * True while the application owes `conn` something (e.g. a reply to a request it is still
   * ordering): such a connection is never closed as idle nor evicted. Combined (or) with
   * {@link ServerConnection.pendingWork}.
   */
  hasPendingWork?: (conn: ServerConnection) => boolean;
}

/**
 * Counters of a {@link FrameServer} (monotonic unless noted). Every refusal and every closure by
 * a limit is counted under exactly one field.
 */
export interface FrameServerStats {
  /** Connections accepted. */
  accepted: number;
  /** Refused: global cap reached, nothing idle enough to evict. */
  rejectedTooMany: number;
  /** Refused: per-address cap reached, nothing of that address idle enough to evict. */
  rejectedPerAddress: number;
  /** Closed: evicted (oldest idle) to admit a new connection. */
  evicted: number;
  /** Closed: bad length prefix (above `maxFrameBytes`). */
  closedOversizeFrame: number;
  /** Closed: the application reported an undecodable frame. */
  closedGarbage: number;
  /** Closed: no complete frame within `firstFrameTimeoutMs`. */
  closedFirstFrameTimeout: number;
  /** Closed: a started frame not completed within `frameTimeoutMs`. */
  closedFrameTimeout: number;
  /** Closed: idle with nothing pending for `idleTimeoutMs`. */
  closedIdle: number;
  /** Closed: largest partial frame while the partial-frame budget was exceeded. */
  closedBudget: number;
  /** Frames not sent because a send queue was full. */
  droppedQueueFull: number;
  /** Exceptions thrown by frame listeners (caught). */
  handlerErrors: number;
  /** Gauge: connections open now. */
  open: number;
  /** Gauge: bytes held in incomplete frames across all connections now. */
  partialBytes: number;
}

/** Stats field counting each {@link LimitReason}. */
const REASON_FIELD: Record<LimitReason, keyof FrameServerStats> = {
  'global-cap': 'rejectedTooMany',
  'per-address-cap': 'rejectedPerAddress',
  evicted: 'evicted',
  'oversize-frame': 'closedOversizeFrame',
  garbage: 'closedGarbage',
  'first-frame-timeout': 'closedFirstFrameTimeout',
  'frame-timeout': 'closedFrameTimeout',
  'idle-timeout': 'closedIdle',
  'partial-budget': 'closedBudget',
};

/**
 * One accepted connection. Events: `frame(payload: Buffer)`, `close(reason: CloseReason)`.
 * Timing fields are maintained by the {@link FrameServer} (milliseconds of its clock).
 */
export class ServerConnection extends EventEmitter implements ConnLimitState {
  /**
   * Work the application owes this connection (e.g. requests awaiting a reply). Increment and
   * decrement it to protect a quiet connection from idle closing and eviction.
   */
  pendingWork = 0;
  /** @internal Last complete frame received or sent (ms). */
  lastActivity: number;
  /** @internal When the current incomplete frame started (ms). */
  partialSince: number;
  /** Remote IP address ('' if unknown). */
  readonly address: string;

  constructor(
    /** Per-server unique connection id (1, 2, ...). */
    readonly id: number,
    readonly framed: FramedSocket,
    /** Accept time (ms). */
    readonly acceptedAt = 0,
    private readonly pendingCheck?: (conn: ServerConnection) => boolean,
  ) {
    super();
    this.lastActivity = acceptedAt;
    this.partialSince = acceptedAt;
    this.address = framed.socket.remoteAddress ?? '';
  }
  /** Remote `host:port`. */
  get remote(): string {
    return this.framed.remote;
  }
  /** True while open. */
  get isOpen(): boolean {
    return this.framed.isOpen;
  }
  /** Complete frames received. */
  get framesReceived(): number {
    return this.framed.framesReceived;
  }
  /** Bytes held for an incomplete frame. */
  get partialBytes(): number {
    return this.framed.partialBytes;
  }
  /** True from an accepted `sendBatch` until the write buffer drained. */
  get batchInFlight(): boolean {
    return this.framed.batchInFlight;
  }
  /** True while the application has work pending for this connection. */
  busy(): boolean {
    return this.pendingWork > 0 || (this.pendingCheck?.(this) ?? false);
  }
  /** Queue one frame; false if dropped (closed or send queue full). @throws {FrameError} oversize */
  send(payload: Uint8Array): boolean {
    const ok = this.framed.send(payload);
    if (ok) this.touch?.();
    return ok;
  }
  /** Queue several frames all or nothing (see {@link FramedSocket.sendBatch}). @throws {FrameError} oversize */
  sendBatch(payloads: readonly Uint8Array[]): boolean {
    const ok = this.framed.sendBatch(payloads);
    if (ok) this.touch?.();
    return ok;
  }
  /** Close this connection. Idempotent. */
  close(): void {
    this.framed.close();
  }
  /** Close this connection because it sent an undecodable frame (counted as `closedGarbage`). Idempotent. */
  closeForGarbage(): void {
    this.framed.destroy('garbage');
  }
  /** @internal Set by the server: records activity at its clock. */
  touch: (() => void) | undefined;
}

/**
 * Listens on `host:port` and emits `connection(conn: ServerConnection)` for each accepted
 * connection (subscribe to `conn.on('frame')` synchronously in that handler), plus
 * `frame(conn, payload)`, `disconnect(conn, reason)` and `limit(reason: LimitReason, remote:
 * string)` for every connection refused or closed by a limit (for logs; counts are in
 * {@link FrameServer.stats}).
 *
 * Limits (see {@link FrameServerLimitOptions} and `docs/networking.md`): global and per-address
 * connection caps with eviction of the oldest idle connection, a first-frame deadline, a
 * per-frame completion deadline, an idle timeout that spares connections with pending work, and
 * a server-wide budget of bytes held in incomplete frames.
 */
export class FrameServer extends EventEmitter {
  private server: Server | undefined;
  private readonly conns = new Set<ServerConnection>();
  private readonly perAddress = new Map<string, Set<ServerConnection>>();
  private nextId = 1;
  private boundPort = 0;
  private partialTotal = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly counters = {
    accepted: 0, rejectedTooMany: 0, rejectedPerAddress: 0, evicted: 0, closedOversizeFrame: 0, closedGarbage: 0,
    closedFirstFrameTimeout: 0, closedFrameTimeout: 0, closedIdle: 0, closedBudget: 0, droppedQueueFull: 0, handlerErrors: 0,
  };
  /** Resolved limits (defaults filled in). */
  readonly limits: ResolvedLimits;
  private readonly now: () => number;

  /** @throws {RangeError} for a negative or non-finite limit option */
  constructor(readonly options: FrameServerOptions = {}) {
    super();
    this.limits = resolveLimits(options, options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.now = options.now ?? Date.now;
  }

  /** Bound port (valid after {@link listen} resolved). */
  get port(): number {
    return this.boundPort;
  }

  /**
   * Start listening (and the deadline sweep).
   * @returns the bound port (useful with `port: 0`)
   * @throws {NetError} `closed` if already listening; the listen error (e.g. EADDRINUSE) otherwise
   */
  async listen(): Promise<number> {
    if (this.server) throw new NetError('closed', 'FrameServer.listen called twice');
    const server = createServer((s) => this.accept(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.emit('error', err));
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : 0;
    if (this.limits.sweepIntervalMs > 0) {
      this.sweeper = setInterval(() => this.sweep(), this.limits.sweepIntervalMs);
      this.sweeper.unref();
    }
    return this.boundPort;
  }

  /** Counters for metrics (a fresh object each call). */
  stats(): FrameServerStats {
    let q = this.counters.droppedQueueFull;
    let h = this.counters.handlerErrors;
    for (const c of this.conns) {
      q += c.framed.droppedQueueFull;
      h += c.framed.handlerErrors;
    }
    return { ...this.counters, droppedQueueFull: q, handlerErrors: h, open: this.conns.size, partialBytes: this.partialTotal };
  }

  /** Open connections. */
  connections(): ServerConnection[] {
    return [...this.conns];
  }

  /**
   * Apply the deadlines now: close connections past their first-frame, frame-completion or idle
   * deadline (counted by reason). Runs every `sweepIntervalMs`; public for tests with an injected clock.
   * @returns the number of connections closed
   */
  sweep(): number {
    const now = this.now();
    let closed = 0;
    for (const c of [...this.conns]) {
      const reason = expiredReason(c, now, this.limits);
      if (reason) {
        this.closeByLimit(c, reason);
        closed++;
      }
    }
    return closed;
  }

  /** Stop listening and close every connection. Idempotent. */
  async close(): Promise<void> {
    const server = this.server;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const c of [...this.conns]) c.framed.destroy('local');
    this.conns.clear();
    this.perAddress.clear();
    if (!server || !server.listening) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private count(reason: LimitReason, remote: string): void {
    (this.counters as Record<string, number>)[REASON_FIELD[reason]]!++;
    this.emit('limit', reason, remote);
  }

  private closeByLimit(c: ServerConnection, reason: 'evicted' | 'first-frame-timeout' | 'frame-timeout' | 'idle-timeout' | 'partial-budget'): void {
    c.framed.destroy(reason);
  }

  /** Make room under `cap` among `pool` by evicting its oldest idle connection; false to refuse. */
  private admit(pool: Iterable<ServerConnection>, size: number, cap: number, now: number): boolean {
    if (size < cap) return true;
    const victim = pickEvictionVictim(pool, now, this.limits.evictIdleAfterMs);
    if (!victim) return false;
    this.closeByLimit(victim, 'evicted');
    return true;
  }

  private accept(socket: Socket): void {
    const now = this.now();
    const address = socket.remoteAddress;
    if (address === undefined) {
      socket.destroy(); // already gone
      return;
    }
    const mine = this.perAddress.get(address);
    if (!this.admit(mine ?? [], mine?.size ?? 0, this.limits.maxConnectionsPerAddress, now)) {
      this.count('per-address-cap', address);
      socket.destroy();
      return;
    }
    if (!this.admit(this.conns, this.conns.size, this.limits.maxConnections, now)) {
      this.count('global-cap', address);
      socket.destroy();
      return;
    }
    this.counters.accepted++;
    const framed = new FramedSocket(socket, this.options);
    const conn = new ServerConnection(this.nextId++, framed, now, this.options.hasPendingWork);
    conn.touch = () => (conn.lastActivity = this.now());
    this.conns.add(conn);
    let set = this.perAddress.get(address);
    if (!set) this.perAddress.set(address, (set = new Set()));
    set.add(conn);
    framed.onPartialChange = (delta) => this.onPartial(conn, delta);
    framed.on('frame', (payload: Buffer) => {
      // a frame completed: any bytes still buffered belong to a frame started in this chunk
      conn.lastActivity = conn.partialSince = this.now();
      conn.emit('frame', payload);
      this.emit('frame', conn, payload);
    });
    framed.on('close', (reason: CloseReason) => {
      if (!this.conns.delete(conn)) return;
      const set = this.perAddress.get(address);
      set?.delete(conn);
      if (set && set.size === 0) this.perAddress.delete(address);
      this.partialTotal -= framed.partialBytes;
      framed.onPartialChange = undefined;
      if (reason in REASON_FIELD) this.count(reason as LimitReason, conn.remote);
      this.counters.droppedQueueFull += framed.droppedQueueFull;
      this.counters.handlerErrors += framed.handlerErrors;
      conn.emit('close', reason);
      this.emit('disconnect', conn, reason);
    });
    this.emit('connection', conn);
  }

  /** Bookkeeping of the partial-frame budget; over budget, close the largest partial frames. */
  private onPartial(conn: ServerConnection, delta: number): void {
    if (conn.partialBytes === delta && delta > 0) conn.partialSince = this.now(); // a new frame started
    this.partialTotal += delta;
    while (this.partialTotal > this.limits.maxPartialBytes) {
      const victim = pickLargestPartial(this.conns);
      if (!victim) break;
      this.closeByLimit(victim, 'partial-budget');
    }
  }
}
