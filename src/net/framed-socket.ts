/**
 * A TCP socket speaking length-prefixed frames ({@link ./frame.ts}), with a bounded send queue.
 * Used by both ends: {@link FrameServer} (accepted connections) and {@link FrameConnection}
 * (dialled connections).
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { FrameDecoder, encodeFrame, DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES } from './frame.ts';
import { FrameError } from './errors.ts';

/** Default bound of bytes queued in the kernel/user-space write buffer of one socket: 32 MiB. */
export const DEFAULT_MAX_QUEUED_BYTES = 32 * 1024 * 1024;

/** Limits of one framed socket. */
export interface FramedSocketOptions {
  /** Largest frame payload accepted or sent (bytes). */
  maxFrameBytes?: number;
  /** Largest number of bytes waiting to be written; a send beyond it is dropped (bytes). */
  maxQueuedBytes?: number;
}

/**
 * Why a framed socket closed. `oversize-frame`: a length prefix above `maxFrameBytes`. The
 * remaining reasons are resource limits enforced by a {@link FrameServer} (see
 * `docs/networking.md`): `first-frame-timeout` (no complete frame soon after connecting),
 * `frame-timeout` (a started frame not completed in time), `idle-timeout` (no traffic and no
 * pending work), `partial-budget` (largest partial frame when the server-wide budget is exceeded),
 * `evicted` (idle connection closed to admit a new one), `garbage` (the application reported
 * an undecodable frame).
 */
export type CloseReason =
  | 'local'
  | 'remote'
  | 'error'
  | 'oversize-frame'
  | 'first-frame-timeout'
  | 'frame-timeout'
  | 'idle-timeout'
  | 'partial-budget'
  | 'evicted'
  | 'garbage';

/**
 * Events: `frame(payload: Buffer)`, `close(reason: CloseReason, error?: Error)` (exactly once).
 */
export class FramedSocket extends EventEmitter {
  readonly maxFrameBytes: number;
  readonly maxQueuedBytes: number;
  private readonly decoder: FrameDecoder;
  private closed = false;
  private corked = false;
  /**
   * Bytes of the last batch accepted by {@link sendBatch} (frame headers included) while the
   * write buffer has not drained since: the queue bound is raised by this much, so frames sent
   * after a large message are not dropped behind it. Reset on `drain`.
   */
  private overshoot = 0;
  /** Frames dropped because the send queue was full. */
  droppedQueueFull = 0;
  /** Exceptions thrown by `frame` listeners (caught so a handler bug never kills the process). */
  handlerErrors = 0;
  /** Complete frames received. */
  framesReceived = 0;
  /**
   * Called after each received chunk with the change (bytes, may be negative) of the bytes held
   * for an incomplete frame, before the chunk's complete frames are emitted. Used by
   * {@link FrameServer} for its server-wide partial-frame budget. Must not throw.
   */
  onPartialChange: ((delta: number) => void) | undefined;

  constructor(
    readonly socket: Socket,
    options: FramedSocketOptions = {},
  ) {
    super();
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.decoder = new FrameDecoder(this.maxFrameBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.finish('error', err));
    socket.on('close', () => this.finish('remote'));
    socket.on('end', () => socket.end());
    socket.on('drain', () => (this.overshoot = 0));
  }

  /** True until the socket closed (either side). */
  get isOpen(): boolean {
    return !this.closed;
  }

  /** Bytes currently held for an incomplete frame (a partial header, or the payload bytes received so far). */
  get partialBytes(): number {
    return this.decoder.bufferedBytes;
  }

  /** True from an accepted {@link sendBatch} until the write buffer drained. */
  get batchInFlight(): boolean {
    return this.overshoot > 0;
  }

  /** Remote `host:port`, for logs. */
  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  /**
   * Queue one frame for sending.
   * @returns false (frame dropped, counted in `droppedQueueFull`) if closed or the queue is full
   * @throws {FrameError} `oversize` if the payload exceeds `maxFrameBytes` (a caller bug)
   */
  send(payload: Uint8Array): boolean {
    if (this.closed) return false;
    if (payload.length > this.maxFrameBytes) {
      throw new FrameError('oversize', `frame of ${payload.length} bytes exceeds the limit of ${this.maxFrameBytes}`);
    }
    if (this.socket.writableLength + payload.length + FRAME_HEADER_BYTES > this.maxQueuedBytes + this.overshoot) {
      this.droppedQueueFull++;
      return false;
    }
    this.corkForTick();
    this.socket.write(encodeFrame(payload, this.maxFrameBytes));
    return true;
  }

  /**
   * Queue several frames all or nothing (the pieces of one fragmented message must not be
   * partly dropped). Accepted when the bytes already queued are below `maxQueuedBytes`: the
   * batch itself may overshoot the bound (by at most its own size), so that one message larger
   * than the bound can still be sent; a second one waits for the queue to drain below the bound.
   * Until the write buffer drains, later {@link send}s may use the same overshoot (they queue
   * behind the batch), so the buffer never exceeds `maxQueuedBytes` + the last batch.
   * @returns false (batch dropped, counted once in `droppedQueueFull`) if closed or the queue is at its bound
   * @throws {FrameError} `oversize` if a payload exceeds `maxFrameBytes` (a caller bug)
   */
  sendBatch(payloads: readonly Uint8Array[]): boolean {
    if (this.closed) return false;
    for (const p of payloads) {
      if (p.length > this.maxFrameBytes) throw new FrameError('oversize', `frame of ${p.length} bytes exceeds the limit of ${this.maxFrameBytes}`);
    }
    if (this.socket.writableLength >= this.maxQueuedBytes) {
      this.droppedQueueFull++;
      return false;
    }
    let total = 0;
    for (const p of payloads) total += FRAME_HEADER_BYTES + p.length;
    this.overshoot = total;
    this.corkForTick();
    for (const p of payloads) this.socket.write(encodeFrame(p, this.maxFrameBytes));
    return true;
  }

  /** Coalesce all frames sent in one tick into one writev (fewer syscalls under load). */
  private corkForTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  /** Close the connection (pending writes are flushed best effort). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.socket.end();
    const s = this.socket;
    // Do not wait for a slow peer to acknowledge the FIN forever.
    setTimeout(() => s.destroy(), 1000).unref();
    this.finish('local');
  }

  /** Close immediately, discarding pending writes. Idempotent. */
  destroy(reason: CloseReason = 'local', error?: Error): void {
    this.socket.destroy();
    this.finish(reason, error);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Buffer[];
    const before = this.decoder.bufferedBytes;
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      if (before !== 0) this.onPartialChange?.(-before);
      this.destroy('oversize-frame', err as Error);
      return;
    }
    const after = this.decoder.bufferedBytes;
    if (after !== before) this.onPartialChange?.(after - before);
    for (const f of frames) {
      if (this.closed) return;
      this.framesReceived++;
      try {
        this.emit('frame', f);
      } catch {
        this.handlerErrors++;
      }
    }
  }

  private finish(reason: CloseReason, error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', reason, error);
  }
}
