/**
 * The `PeerNetwork` interface: authenticated, point-to-point message passing among the
 * replicas `0..n-1` of one group. Implemented over TCP ({@link TcpPeerNetwork}) and in memory
 * ({@link MemoryPeerNetwork}, for tests). Used by the PBFT runtime and by CART's share exchange.
 *
 * Guarantees of a correct implementation: a message handed to `on('message')` with sender `j`
 * was sent by replica `j` to this replica in the current session, is delivered at most once,
 * and messages from one sender arrive in send order. Delivery is best effort (a message may be
 * lost when a connection breaks or a queue is full): protocols on top retransmit.
 */

/** Why a frame or message was dropped. Every drop is counted under one of these reasons. */
export type PeerDropReason =
  /** frame too short, unknown type, bad version */
  | 'malformed'
  /** length prefix above the frame limit (connection closed) */
  | 'oversize-frame'
  /** HMAC check failed (forged or tampered frame) */
  | 'bad-mac'
  /** counter not above the last accepted one (replayed or reordered frame) */
  | 'replay'
  /** handshake signature did not verify with the configured key of the claimed replica */
  | 'bad-signature'
  /** handshake addressed to another replica id */
  | 'misrouted'
  /** handshake claims an id outside the group, or a dial direction that the rules forbid */
  | 'unknown-peer'
  /** handshake not completed in time */
  | 'handshake-timeout'
  /** a frame that is not allowed in the current connection state */
  | 'unexpected'
  /** a message announced (first fragment) larger than `maxMessageBytes` (session reset) */
  | 'oversize-message'
  /** a fragment out of sequence (no first piece, a second first piece, more bytes than announced, DATA inside a fragmented message, bad flags; session reset) */
  | 'bad-fragment'
  /** outgoing: send queue full */
  | 'queue-full'
  /** outgoing: destination id outside the group */
  | 'bad-destination'
  /** incoming connection refused by the listener's connection caps (global or per address) */
  | 'connection-refused'
  /** incoming connection closed by a listener limit (no handshake frame in time, stalled frame, partial-frame budget, evicted) */
  | 'connection-limit';

/** Counters of a peer network, for metrics. */
export interface PeerNetworkStats {
  /** Messages sent (accepted for sending). */
  sent: number;
  /** Messages delivered to `message` listeners. */
  received: number;
  /** Sessions established since start (a reconnect counts again). */
  sessionsEstablished: number;
  /** Peers with an authenticated session right now. */
  connectedPeers: number[];
  /** Drops by reason. */
  dropped: Record<PeerDropReason, number>;
}

/** Listener of authenticated messages. `bytes` is owned by the listener. */
export type PeerMessageListener = (from: number, bytes: Uint8Array) => void;
/** Listener of session up/down changes. */
export type PeerStatusListener = (peer: number) => void;

/** Authenticated message passing among replicas `0..n-1`. */
export interface PeerNetwork {
  /** This replica's id. */
  readonly self: number;
  /** Group size. */
  readonly n: number;
  /** Start listening and connecting. Resolves once listening (not when all peers are up). */
  start(): Promise<void>;
  /**
   * Send `bytes` to replica `to` (may be `self`: delivered locally, asynchronously).
   * @returns false if dropped right away (counted: `queue-full`, `bad-destination`, closed)
   */
  send(to: number, bytes: Uint8Array): boolean;
  /** Send to every replica except `self`. */
  broadcast(bytes: Uint8Array): void;
  /** `message(from, bytes)`: an authenticated message arrived. */
  on(event: 'message', listener: PeerMessageListener): this;
  /** `peer-up(id)` / `peer-down(id)`: a session with `id` was established / lost. */
  on(event: 'peer-up' | 'peer-down', listener: PeerStatusListener): this;
  off(event: 'message', listener: PeerMessageListener): this;
  off(event: 'peer-up' | 'peer-down', listener: PeerStatusListener): this;
  /** Counters. */
  stats(): PeerNetworkStats;
  /** Close every connection and stop listening. Idempotent. */
  close(): Promise<void>;
}

/** A zeroed drop counter record. */
export function emptyDropCounters(): Record<PeerDropReason, number> {
  return {
    malformed: 0,
    'oversize-frame': 0,
    'bad-mac': 0,
    replay: 0,
    'bad-signature': 0,
    misrouted: 0,
    'unknown-peer': 0,
    'handshake-timeout': 0,
    unexpected: 0,
    'oversize-message': 0,
    'bad-fragment': 0,
    'queue-full': 0,
    'bad-destination': 0,
    'connection-refused': 0,
    'connection-limit': 0,
  };
}

/** Minimal structured logger (pino-compatible). */
export interface NetLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** A logger that discards everything. */
export const silentLogger: NetLogger = { debug() {}, info() {}, warn() {} };
