/**
 * `FrameServer`: a TCP listener whose connections speak length-prefixed frames.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { FramedSocket, type FramedSocketOptions, type CloseReason } from './framed-socket.ts';
import { NetError } from './errors.ts';

/** Options of a {@link FrameServer}. */
export interface FrameServerOptions extends FramedSocketOptions {
  /** Interface to bind, default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free port (read it from {@link FrameServer.port} after `listen`). */
  port?: number;
  /** Connections accepted at once; further connections are closed immediately (default 1024). */
  maxConnections?: number;
}

/** Counters of a {@link FrameServer}. */
export interface FrameServerStats {
  accepted: number;
  rejectedTooMany: number;
  closedOversizeFrame: number;
  droppedQueueFull: number;
  open: number;
}

/** One accepted connection. Events: `frame(payload: Buffer)`, `close(reason)`. */
export class ServerConnection extends EventEmitter {
  constructor(
    /** Per-server unique connection id (1, 2, ...). */
    readonly id: number,
    readonly framed: FramedSocket,
  ) {
    super();
  }
  /** Remote `host:port`. */
  get remote(): string {
    return this.framed.remote;
  }
  /** True while open. */
  get isOpen(): boolean {
    return this.framed.isOpen;
  }
  /** Queue one frame; false if dropped (closed or send queue full). @throws {FrameError} oversize */
  send(payload: Uint8Array): boolean {
    return this.framed.send(payload);
  }
  /** Close this connection. Idempotent. */
  close(): void {
    this.framed.close();
  }
}

/**
 * Listens on `host:port` and emits `connection(conn: ServerConnection)` for each accepted
 * connection (subscribe to `conn.on('frame')` synchronously in that handler), plus
 * `frame(conn, payload)` and `disconnect(conn, reason)` for convenience.
 */
export class FrameServer extends EventEmitter {
  private server: Server | undefined;
  private readonly conns = new Set<ServerConnection>();
  private nextId = 1;
  private boundPort = 0;
  private readonly counters = { accepted: 0, rejectedTooMany: 0, closedOversizeFrame: 0, droppedQueueFull: 0 };

  constructor(readonly options: FrameServerOptions = {}) {
    super();
  }

  /** Bound port (valid after {@link listen} resolved). */
  get port(): number {
    return this.boundPort;
  }

  /**
   * Start listening.
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
    return this.boundPort;
  }

  /** Counters for metrics. */
  stats(): FrameServerStats {
    let q = this.counters.droppedQueueFull;
    for (const c of this.conns) q += c.framed.droppedQueueFull;
    return { ...this.counters, droppedQueueFull: q, open: this.conns.size };
  }

  /** Open connections. */
  connections(): ServerConnection[] {
    return [...this.conns];
  }

  /** Stop listening and close every connection. Idempotent. */
  async close(): Promise<void> {
    const server = this.server;
    for (const c of this.conns) c.framed.destroy('local');
    this.conns.clear();
    if (!server || !server.listening) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (this.conns.size >= (this.options.maxConnections ?? 1024)) {
      this.counters.rejectedTooMany++;
      socket.destroy();
      return;
    }
    this.counters.accepted++;
    const framed = new FramedSocket(socket, this.options);
    const conn = new ServerConnection(this.nextId++, framed);
    this.conns.add(conn);
    framed.on('frame', (payload: Buffer) => {
      conn.emit('frame', payload);
      this.emit('frame', conn, payload);
    });
    framed.on('close', (reason: CloseReason) => {
      this.conns.delete(conn);
      if (reason === 'oversize-frame') this.counters.closedOversizeFrame++;
      this.counters.droppedQueueFull += framed.droppedQueueFull;
      conn.emit('close', reason);
      this.emit('disconnect', conn, reason);
    });
    this.emit('connection', conn);
  }
}
