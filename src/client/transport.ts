/**
 * The client's transport seam: how frames reach one replica. The Node TCP implementation is in
 * `tcp-transport.ts`; a browser build supplies e.g. a WebSocket one. Payloads are whole frames
 * (one encoded `ClientFrame` / `ReplicaFrame`), framing is the transport's job.
 */

/** A replica's client endpoint. */
export interface ReplicaEndpoint {
  readonly host: string;
  readonly port: number;
}

/** Callbacks from one transport connection. */
export interface TransportHandlers {
  /** One complete frame arrived. */
  onFrame(payload: Uint8Array): void;
  /** The connection is gone (refused, reset, closed by either side). Called at most once. */
  onClose(reason: string): void;
}

/** One connection to one replica. */
export interface TransportConnection {
  /** Queue a frame; false if it was dropped (closed, queue full). Never throws. */
  send(payload: Uint8Array): boolean;
  /** Close; `onClose` follows. Idempotent. */
  close(): void;
}

/** Opens connections. */
export interface ClientTransport {
  /** Start connecting (asynchronously); frames sent before the connection is up are queued. */
  connect(endpoint: ReplicaEndpoint, handlers: TransportHandlers): TransportConnection;
}
