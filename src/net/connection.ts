/**
 * `FrameConnection`: the dialling side of a framed TCP connection, with automatic reconnect
 * (exponential back-off + jitter) and a bounded send queue that also holds frames while
 * disconnected.
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect } from 'node:net';
import { FramedSocket, type FramedSocketOptions, type CloseReason, DEFAULT_MAX_QUEUED_BYTES } from './framed-socket.ts';
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import { FrameError } from './errors.ts';
import { DEFAULT_MAX_FRAME_BYTES } from './frame.ts';

/** Options of a {@link FrameConnection}. */
export interface FrameConnectionOptions extends FramedSocketOptions {
  host: string;
  port: number;
  /** Reconnect after a failure or remote close (default true). */
  reconnect?: boolean;
  /** Back-off between reconnect attempts. */
  backoff?: BackoffOptions;
  /** Abort a connect attempt after this many milliseconds (default 3000). */
  connectTimeoutMs?: number;
  /**
   * Keep frames sent while disconnected and flush them on the next connect (default true).
   * Bounded by `maxQueuedBytes` together with the socket's own write buffer.
   */
  queueWhileDisconnected?: boolean;
  /** Uniform random source in [0,1) for jitter (default Math.random). */
  random?: () => number;
}

/** Counters of a {@link FrameConnection}. */
export interface FrameConnectionStats {
  connects: number;
  connectFailures: number;
  disconnects: number;
  droppedQueueFull: number;
  queuedBytes: number;
}

/**
 * Events: `open()` on each successful connect, `frame(payload: Buffer)`,
 * `disconnect(reason: CloseReason | 'connect-failed', error?)` whenever a socket ends,
 * `close()` once after {@link close}.
 */
export class FrameConnection extends EventEmitter {
  private framed: FramedSocket | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private connecting = false;
  private closed = false;
  private readonly counters = { connects: 0, connectFailures: 0, disconnects: 0, droppedQueueFull: 0 };
  private readonly maxFrameBytes: number;
  private readonly maxQueuedBytes: number;

  constructor(readonly options: FrameConnectionOptions) {
    super();
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  }

  /** True while a socket is connected. */
  get isOpen(): boolean {
    return this.framed?.isOpen ?? false;
  }

  /** True from an accepted {@link sendBatch} until the socket's write buffer drained. */
  get batchInFlight(): boolean {
    return this.framed?.batchInFlight ?? false;
  }

  /** True after {@link close}. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Begin connecting (idempotent); retries per the back-off until {@link close}. */
  start(): this {
    if (!this.closed && !this.framed && !this.connecting && !this.timer) this.dial();
    return this;
  }

  /**
   * Wait until connected.
   * @throws {Error} after `timeoutMs` (default 5000) or if closed meanwhile
   */
  async waitOpen(timeoutMs = 5000): Promise<void> {
    if (this.isOpen) return;
    this.start();
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        cleanup();
        reject(new Error(`connect to ${this.options.host}:${this.options.port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const onOpen = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        reject(new Error('connection closed'));
      };
      const cleanup = (): void => {
        clearTimeout(t);
        this.off('open', onOpen);
        this.off('close', onClose);
      };
      this.on('open', onOpen);
      this.on('close', onClose);
    });
  }

  /**
   * Send one frame (queued while disconnected if `queueWhileDisconnected`).
   * @returns false if the frame was dropped (closed, disconnected without queueing, queue full)
   * @throws {FrameError} `oversize` if the payload exceeds `maxFrameBytes`
   */
  send(payload: Uint8Array): boolean {
    if (this.closed) return false;
    if (payload.length > this.maxFrameBytes) {
      throw new FrameError('oversize', `frame of ${payload.length} bytes exceeds the limit of ${this.maxFrameBytes}`);
    }
    if (this.framed?.isOpen) {
      const ok = this.framed.send(payload);
      if (!ok) this.counters.droppedQueueFull++;
      return ok;
    }
    if (this.options.queueWhileDisconnected === false || this.pendingBytes + payload.length > this.maxQueuedBytes) {
      this.counters.droppedQueueFull++;
      return false;
    }
    this.pending.push(Buffer.from(payload));
    this.pendingBytes += payload.length;
    return true;
  }

  /**
   * Send several frames all or nothing (see {@link FramedSocket.sendBatch}: accepted while the
   * queue is below `maxQueuedBytes`, which the batch may overshoot).
   * @returns false if the batch was dropped (closed, disconnected without queueing, queue full)
   * @throws {FrameError} `oversize` if a payload exceeds `maxFrameBytes`
   */
  sendBatch(payloads: readonly Uint8Array[]): boolean {
    if (this.closed) return false;
    for (const p of payloads) {
      if (p.length > this.maxFrameBytes) throw new FrameError('oversize', `frame of ${p.length} bytes exceeds the limit of ${this.maxFrameBytes}`);
    }
    if (this.framed?.isOpen) {
      const ok = this.framed.sendBatch(payloads);
      if (!ok) this.counters.droppedQueueFull++;
      return ok;
    }
    if (this.options.queueWhileDisconnected === false || this.pendingBytes >= this.maxQueuedBytes) {
      this.counters.droppedQueueFull++;
      return false;
    }
    for (const p of payloads) {
      this.pending.push(Buffer.from(p));
      this.pendingBytes += p.length;
    }
    return true;
  }

  /** Change the address used from the next connect attempt on. */
  setAddress(host: string, port: number): void {
    this.options.host = host;
    this.options.port = port;
  }

  /** Drop the current socket (if any) and reconnect per the back-off; for tests and failover. */
  reset(): void {
    this.framed?.destroy('local');
  }

  /** Counters for metrics. */
  stats(): FrameConnectionStats {
    return { ...this.counters, queuedBytes: this.pendingBytes };
  }

  /** Close for good: no more reconnects, pending frames discarded. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
    this.pendingBytes = 0;
    this.framed?.close();
    this.emit('close');
  }

  private dial(): void {
    this.connecting = true;
    const socket = netConnect({ host: this.options.host, port: this.options.port });
    const timeout = setTimeout(() => socket.destroy(new Error('connect timeout')), this.options.connectTimeoutMs ?? 3000);
    const onError = (err: Error): void => {
      clearTimeout(timeout);
      this.connecting = false;
      this.counters.connectFailures++;
      this.emit('disconnect', 'connect-failed', err);
      this.scheduleReconnect();
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timeout);
      socket.off('error', onError);
      this.connecting = false;
      if (this.closed) {
        socket.destroy();
        return;
      }
      this.attempt = 0;
      this.counters.connects++;
      const framed = new FramedSocket(socket, this.options);
      this.framed = framed;
      framed.on('frame', (p: Buffer) => this.emit('frame', p));
      framed.on('close', (reason: CloseReason, err?: Error) => {
        this.counters.droppedQueueFull += framed.droppedQueueFull;
        if (this.framed === framed) this.framed = undefined;
        this.counters.disconnects++;
        if (!this.closed) {
          this.emit('disconnect', reason, err);
          this.scheduleReconnect();
        }
      });
      const queued = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      for (const p of queued) framed.send(p);
      this.emit('open');
    });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.options.reconnect === false || this.timer) return;
    const delay = backoffDelay(this.attempt++, this.options.backoff ?? {}, this.options.random ?? Math.random);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed && !this.framed && !this.connecting) this.dial();
    }, delay);
  }
}
