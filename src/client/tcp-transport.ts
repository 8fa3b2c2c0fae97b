/**
 * Node TCP transport for the CART client: 4-byte big-endian length-prefixed frames
 * (the framing of `src/net/frame.ts`). No automatic reconnect: the client decides (it fails
 * over to another replica and reconnects lazily).
 */
import { connect as netConnect } from 'node:net';
import { FrameDecoder, encodeFrame } from '../net/frame.ts';
import type { ClientTransport, ReplicaEndpoint, TransportConnection, TransportHandlers } from './transport.ts';

/** Options of {@link TcpTransport}. */
export interface TcpTransportOptions {
  /** Largest frame accepted from a replica (default 4 MiB). */
  readonly maxFrameBytes?: number;
  /** Bytes queued for sending before frames are dropped (default 16 MiB). */
  readonly maxQueuedBytes?: number;
  /** Connect timeout in ms (default 3000). */
  readonly connectTimeoutMs?: number;
}

/** TCP transport (Node only). */
export class TcpTransport implements ClientTransport {
  constructor(private readonly options: TcpTransportOptions = {}) {}

  /** {@inheritDoc ClientTransport.connect} */
  connect(endpoint: ReplicaEndpoint, handlers: TransportHandlers): TransportConnection {
    const maxFrame = this.options.maxFrameBytes ?? 4 * 1024 * 1024;
    const maxQueued = this.options.maxQueuedBytes ?? 16 * 1024 * 1024;
    const decoder = new FrameDecoder(maxFrame);
    const socket = netConnect({ host: endpoint.host, port: endpoint.port });
    socket.setNoDelay(true);
    let closed = false;
    const finish = (reason: string): void => {
      if (closed) return;
      closed = true;
      socket.destroy();
      handlers.onClose(reason);
    };
    const timer = setTimeout(() => finish('connect-timeout'), this.options.connectTimeoutMs ?? 3000);
    timer.unref();
    socket.once('connect', () => clearTimeout(timer));
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch {
        finish('oversize-frame');
        return;
      }
      for (const f of frames) {
        if (closed) return;
        handlers.onFrame(f);
      }
    });
    socket.on('error', (err: Error) => finish(`error: ${err.message}`));
    socket.on('close', () => {
      clearTimeout(timer);
      finish('closed');
    });
    return {
      send(payload: Uint8Array): boolean {
        if (closed || socket.writableLength > maxQueued) return false;
        try {
          socket.write(encodeFrame(payload, maxFrame));
          return true;
        } catch {
          return false;
        }
      },
      close(): void {
        clearTimeout(timer);
        finish('local');
      },
    };
  }
}
