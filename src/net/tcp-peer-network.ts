/**
 * `TcpPeerNetwork`: the {@link PeerNetwork} over TCP with mutual authentication.
 *
 * Topology: one TCP connection per pair of replicas; the replica with the LOWER id dials (with
 * reconnect, exponential back-off and jitter), the higher id accepts. On each new connection the
 * signed X25519 handshake of {@link ./handshake.ts} runs; afterwards every frame is a DATA frame
 * with HMAC-SHA256 and a strictly increasing per-direction counter. A newly authenticated
 * session from a peer replaces the old one (the peer restarted). Messages sent while no session
 * is up wait in a bounded per-peer outbox and are flushed when the session is established.
 * A message larger than one frame (`maxFrameBytes`, 16 MiB) travels as consecutive
 * authenticated FRAGMENT frames and is reassembled by the receiver (at most one partial
 * message, ≤ `maxMessageBytes`, per peer). See `docs/networking.md`.
 */
import { EventEmitter } from 'node:events';
import type { KeyObject } from 'node:crypto';
import { FrameServer, type ServerConnection } from './server.ts';
import { FrameConnection } from './connection.ts';
import type { BackoffOptions } from './backoff.ts';
import { NetError } from './errors.ts';
import { DEFAULT_MAX_FRAME_BYTES, MAX_FRAME_LIMIT } from './frame.ts';
import { importIdentityPrivateKey, importIdentityPublicKey } from './keys.ts';
import {
  DATA_HEADER_BYTES, FRAGMENT_FIRST, FRAGMENT_FIRST_HEADER_BYTES, FRAGMENT_HEADER_BYTES, MSG_DATA, MSG_DATA_FRAGMENT, MSG_DATA_MULTI, MSG_FINISH, MSG_HEARTBEAT,
  decodeMulti, encodeMulti, openData, sealData, sealFragment, type SessionKeys,
} from './handshake.ts';
import type { FrameServerLimitOptions, LimitReason } from './server-limits.ts';
import { RateLimitedWarn, DEFAULT_LOG_INTERVAL_MS } from './rate-limited-log.ts';
import { InitiatorHandshake, ResponderHandshake, type HandshakeStep } from './handshake-machine.ts';
import {
  emptyDropCounters, silentLogger,
  type NetLogger, type PeerDropReason, type PeerMessageListener, type PeerNetwork, type PeerNetworkStats, type PeerStatusListener,
} from './peer-network.ts';

/** Default largest message of a {@link TcpPeerNetwork}: 256 MiB (sent in fragments of one frame each). */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
/** Default bound of bytes queued per peer: 32 MiB (one larger message may overshoot it, see `send`). */
export const DEFAULT_PEER_MAX_QUEUED_BYTES = 32 * 1024 * 1024;

/** Byte-wise equality (a length mismatch returns at once). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || (a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0);
}

/** Address and identity of one replica, as in the config file. */
export interface PeerAddress {
  id: number;
  host: string;
  port: number;
  /** base64 of the raw 32-byte Ed25519 public key */
  publicKey: string;
}

/** Options of a {@link TcpPeerNetwork}. */
export interface TcpPeerNetworkOptions {
  /** This replica's id. */
  self: number;
  /** This replica's Ed25519 private key (KeyObject or base64 PKCS#8 DER). */
  identity: KeyObject | string;
  /** Every replica of the group, ids exactly 0..n-1 (order free). */
  peers: readonly PeerAddress[];
  /** Override the listen address of `self` (e.g. port 0 in tests, `0.0.0.0` on servers). */
  listenHost?: string;
  listenPort?: number;
  /**
   * Largest message in bytes (default {@link DEFAULT_MAX_MESSAGE_BYTES} = 256 MiB, at most
   * 2^32 − 1). Also the bound of the reassembly buffer per peer. Messages above one frame's
   * payload are sent as fragments.
   */
  maxMessageBytes?: number;
  /**
   * Largest frame payload on the wire, DATA header included (default 16 MiB). Messages up to
   * `maxFrameBytes − 41` go in one frame; larger ones are fragmented. Lower it only in tests.
   */
  maxFrameBytes?: number;
  /**
   * Bound of bytes queued per peer (socket buffer + outbox), default 32 MiB. A message larger
   * than one frame is accepted while the queue is below the bound and may overshoot it by its
   * own size (so a `maxMessageBytes` message can always be sent to a drained link).
   */
  maxQueuedBytes?: number;
  /** Reconnect back-off. */
  backoff?: BackoffOptions;
  /** Close a connection whose handshake has not completed after this long (ms, default 5000). */
  handshakeTimeoutMs?: number;
  /** Send an authenticated heartbeat on a session idle for this long (ms, default 1000; 0 = off). */
  heartbeatMs?: number;
  /** Reset a session that received nothing for this long (ms, default 10 000; 0 = off). */
  idleTimeoutMs?: number;
  /** Uniform random in [0,1) for back-off jitter. */
  random?: () => number;
  /** Monotonic milliseconds for heartbeat bookkeeping (default performance.now). */
  now?: () => number;
  logger?: NetLogger;
  /** Minimum interval between two warnings of the same drop reason (ms, default 5000; 0 = log every drop). */
  warnIntervalMs?: number;
  /** Connections accepted from one IP address at once (default 2n + 8; all replicas may share one host). */
  maxConnectionsPerAddress?: number;
  /** Overrides of the listener's other limits (see {@link FrameServerLimitOptions}). */
  listenerLimits?: FrameServerLimitOptions;
}

/** A channel a session writes to (either side of the TCP connection). */
interface Channel {
  send(b: Uint8Array): boolean;
  /** All or nothing (the fragments of one message); accepted while the queue is below its bound. */
  sendBatch(frames: readonly Uint8Array[]): boolean;
  /** True from an accepted batch until the write buffer drained. */
  batchInFlight(): boolean;
  close(): void;
}

interface Session {
  peer: number;
  keys: SessionKeys;
  sendCounter: bigint;
  recvCounter: bigint;
  channel: Channel;
  lastSent: number;
  lastReceived: number;
  /** Messages sent in this tick, sealed together at the end of it (see {@link TcpPeerNetwork.send}). */
  pending: Uint8Array[];
  pendingBytes: number;
  flushScheduled: boolean;
  /** The last message above one frame sent on this session, while its frames may still be queued (released by the heartbeat). */
  lastLarge: Uint8Array | undefined;
  /** The fragmented message being received (buffer of its announced length, bytes received so far). */
  partial: { buf: Buffer; received: number } | undefined;
}

interface Peer {
  id: number;
  addr: PeerAddress;
  key: KeyObject;
  session: Session | undefined;
  outbox: Buffer[];
  outboxBytes: number;
  /** Size of the last message above one frame accepted into the outbox (the bound is raised by it, see `send`). */
  outboxOvershoot: number;
  /** Dialled connection (only when self < id). */
  dial: FrameConnection | undefined;
}

/** The authenticated TCP peer network. Events: see {@link PeerNetwork}. */
export class TcpPeerNetwork extends EventEmitter implements PeerNetwork {
  readonly self: number;
  readonly n: number;
  private readonly identity: KeyObject;
  private readonly peers: Peer[];
  private readonly server: FrameServer;
  private readonly drops = emptyDropCounters();
  private readonly log: NetLogger;
  private readonly warnLimited: RateLimitedWarn;
  private readonly maxMessageBytes: number;
  private readonly maxQueuedBytes: number;
  private readonly maxFrameBytes: number;
  /** Largest DATA payload of one frame: messages above it are fragmented. */
  private readonly frameCapacity: number;
  private sent = 0;
  private received = 0;
  private sessionsEstablished = 0;
  private listening = false;
  private started = false;
  private closed = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  /** @throws {NetError} `bad-config` for ids not exactly 0..n-1, bad keys, or self out of range */
  constructor(private readonly options: TcpPeerNetworkOptions) {
    super();
    const n = options.peers.length;
    const sorted = [...options.peers].sort((a, b) => a.id - b.id);
    sorted.forEach((p, i) => {
      if (p.id !== i) throw new NetError('bad-config', `peer ids must be exactly 0..${n - 1}`);
    });
    if (!Number.isInteger(options.self) || options.self < 0 || options.self >= n) {
      throw new NetError('bad-config', `self id ${options.self} not in 0..${n - 1}`);
    }
    if (n > 0xffff) throw new NetError('bad-config', 'at most 65535 replicas');
    this.self = options.self;
    this.n = n;
    this.identity = typeof options.identity === 'string' ? importIdentityPrivateKey(options.identity) : options.identity;
    this.peers = sorted.map((addr) => ({
      id: addr.id, addr: { ...addr }, key: importIdentityPublicKey(addr.publicKey), session: undefined, outbox: [], outboxBytes: 0, outboxOvershoot: 0, dial: undefined,
    }));
    this.log = options.logger ?? silentLogger;
    this.now = options.now ?? (() => performance.now());
    this.warnLimited = new RateLimitedWarn(this.log, this.now, options.warnIntervalMs ?? DEFAULT_LOG_INTERVAL_MS);
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isInteger(this.maxMessageBytes) || this.maxMessageBytes < 1 || this.maxMessageBytes > 0xffff_ffff) {
      throw new NetError('bad-config', `maxMessageBytes must be an integer in 1..2^32-1, got ${this.maxMessageBytes}`);
    }
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(this.maxFrameBytes) || this.maxFrameBytes < DATA_HEADER_BYTES + FRAGMENT_FIRST_HEADER_BYTES + 1 || this.maxFrameBytes > MAX_FRAME_LIMIT) {
      throw new NetError('bad-config', `maxFrameBytes must be an integer in ${DATA_HEADER_BYTES + FRAGMENT_FIRST_HEADER_BYTES + 1}..2^32-1, got ${this.maxFrameBytes}`);
    }
    this.frameCapacity = this.maxFrameBytes - DATA_HEADER_BYTES;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_PEER_MAX_QUEUED_BYTES;
    const me = this.peers[this.self]!.addr;
    this.server = new FrameServer({
      host: options.listenHost ?? me.host,
      port: options.listenPort ?? me.port,
      maxFrameBytes: this.maxFrameBytes,
      maxQueuedBytes: this.maxQueuedBytes,
      maxConnections: 4 * n + 16,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 2 * n + 8,
      // Backstop only: the handshake timer (handshakeTimeoutMs) normally closes silent connections
      // first. Established sessions are protected (pendingWork) and watched by the session idle
      // timeout, not by the listener's.
      firstFrameTimeoutMs: 2 * (options.handshakeTimeoutMs ?? 5000),
      idleTimeoutMs: 0,
      ...options.listenerLimits,
    });
    this.server.on('connection', (c: ServerConnection) => this.accept(c));
    this.server.on('limit', (reason: LimitReason, remote: string) => {
      if (reason === 'oversize-frame' || reason === 'garbage') return; // counted by the connection's close handler
      this.drop(reason === 'global-cap' || reason === 'per-address-cap' ? 'connection-refused' : 'connection-limit', { remote, limit: reason });
    });
  }

  /** Bound listen port (after {@link listen}). */
  get port(): number {
    return this.server.port;
  }

  /** Start listening only (use before {@link setPeerAddress} when ports are picked by the OS). */
  async listen(): Promise<number> {
    if (this.closed) throw new NetError('closed', 'peer network closed');
    if (!this.listening) {
      this.listening = true;
      await this.server.listen();
    }
    return this.server.port;
  }

  /** Change where replica `id` is dialled (effective from the next connect attempt). */
  setPeerAddress(id: number, host: string, port: number): void {
    const p = this.peers[id];
    if (!p) throw new NetError('unknown-peer', `no replica ${id}`);
    p.addr.host = host;
    p.addr.port = port;
    p.dial?.setAddress(host, port);
  }

  async start(): Promise<void> {
    await this.listen();
    if (this.started || this.closed) return;
    this.started = true;
    for (const p of this.peers) {
      if (p.id <= this.self) continue;
      const conn = new FrameConnection({
        host: p.addr.host,
        port: p.addr.port,
        maxFrameBytes: this.maxFrameBytes,
        maxQueuedBytes: this.maxQueuedBytes,
        queueWhileDisconnected: false,
        backoff: this.options.backoff ?? { initialMs: 50, maxMs: 2000 },
        ...(this.options.random ? { random: this.options.random } : {}),
      });
      p.dial = conn;
      this.initiate(p, conn);
      conn.start();
    }
    const hb = this.options.heartbeatMs ?? 1000;
    if (hb > 0) {
      this.heartbeatTimer = setInterval(() => this.heartbeat(), hb);
      this.heartbeatTimer.unref();
    }
  }

  /** Keep idle sessions alive; reset sessions whose peer went silent (half-open TCP). */
  private heartbeat(): void {
    const now = this.now();
    const hb = this.options.heartbeatMs ?? 1000;
    const idle = this.options.idleTimeoutMs ?? 10_000;
    for (const p of this.peers) {
      const s = p.session;
      if (!s) continue;
      if (idle > 0 && now - s.lastReceived > idle) {
        this.log.warn({ self: this.self, peer: p.id }, 'peer session idle; resetting');
        s.channel.close();
        this.lose(p, s);
        continue;
      }
      if (s.lastLarge && !s.channel.batchInFlight()) s.lastLarge = undefined;
      if (now - s.lastSent >= hb) {
        s.sendCounter++;
        s.lastSent = now;
        s.channel.send(sealData(s.keys.send, s.sendCounter, new Uint8Array(0), MSG_HEARTBEAT));
      }
    }
  }

  send(to: number, bytes: Uint8Array): boolean {
    if (this.closed) return false;
    if (bytes.length > this.maxMessageBytes) throw new NetError('too-large', `message of ${bytes.length} bytes exceeds ${this.maxMessageBytes}`);
    if (to === this.self) {
      const copy = Buffer.from(bytes);
      this.sent++;
      setImmediate(() => {
        if (!this.closed) this.deliver(this.self, copy);
      });
      return true;
    }
    const p = this.peers[to];
    if (!p || !Number.isInteger(to)) {
      this.drops['bad-destination']++;
      return false;
    }
    const s = p.session;
    if (s && bytes.length > this.frameCapacity) {
      // Larger than one frame: flush what this tick queued before it (send order), then its
      // fragments go out as consecutive frames, all or nothing. A copy of the large message
      // still queued on this session is not queued again: protocols retransmit large messages
      // (PBFT: VIEW-CHANGE, NEW-VIEW) faster than a busy link drains them.
      if (s.lastLarge && s.channel.batchInFlight() && sameBytes(s.lastLarge, bytes)) {
        this.sent++;
        return true;
      }
      this.flush(s);
      if (!this.sendFragments(s, bytes)) {
        this.drops['queue-full']++;
        return false;
      }
      this.sent++;
      return true;
    }
    if (s) {
      // Coalesce: all messages to this peer in one tick go out as one sealed frame (one MAC,
      // one header) at the end of the tick; a frame-size overflow flushes early.
      if (s.pending.length > 0 && s.pendingBytes + 4 + bytes.length > this.frameCapacity) this.flush(s);
      s.pending.push(bytes);
      s.pendingBytes += 4 + bytes.length;
      if (!s.flushScheduled) {
        s.flushScheduled = true;
        process.nextTick(() => this.flush(s));
      }
      this.sent++;
      return true;
    }
    // a message above one frame is accepted below the bound and may overshoot it; later ones
    // may use the same overshoot (see maxQueuedBytes)
    const big = bytes.length > this.frameCapacity;
    if (big ? p.outboxBytes >= this.maxQueuedBytes : p.outboxBytes + bytes.length > this.maxQueuedBytes + p.outboxOvershoot) {
      this.drops['queue-full']++;
      return false;
    }
    if (big) p.outboxOvershoot = bytes.length;
    p.outbox.push(Buffer.from(bytes));
    p.outboxBytes += bytes.length;
    this.sent++;
    return true;
  }

  /** Seal and send the messages queued for `s` (one DATA frame, or one DATA_MULTI for several). */
  private flush(s: Session): void {
    s.flushScheduled = false;
    const msgs = s.pending;
    if (msgs.length === 0) return;
    s.pending = [];
    s.pendingBytes = 0;
    if (this.closed || this.peers[s.peer]?.session !== s) {
      this.drops['queue-full'] += msgs.length; // session gone meanwhile: lost like in-flight frames
      return;
    }
    s.sendCounter++;
    s.lastSent = this.now();
    const frame = msgs.length === 1 ? sealData(s.keys.send, s.sendCounter, msgs[0]!) : sealData(s.keys.send, s.sendCounter, encodeMulti(msgs), MSG_DATA_MULTI);
    if (!s.channel.send(frame)) this.drops['queue-full'] += msgs.length;
  }

  /**
   * Seal `bytes` (> one frame) as consecutive FRAGMENT frames and hand them to the channel all
   * or nothing. Nothing else is sent on the session in between (this runs synchronously).
   */
  private sendFragments(s: Session, bytes: Uint8Array): boolean {
    const frames: Buffer[] = [];
    let counter = s.sendCounter;
    let off = 0;
    while (off < bytes.length) {
      const first = off === 0;
      const room = this.frameCapacity - (first ? FRAGMENT_FIRST_HEADER_BYTES : FRAGMENT_HEADER_BYTES);
      const end = Math.min(bytes.length, off + room);
      counter++;
      frames.push(sealFragment(s.keys.send, counter, first, bytes.length, bytes.subarray(off, end)));
      off = end;
    }
    if (!s.channel.sendBatch(frames)) return false;
    s.lastLarge = bytes;
    s.sendCounter = counter;
    s.lastSent = this.now();
    return true;
  }

  broadcast(bytes: Uint8Array): void {
    for (const p of this.peers) if (p.id !== this.self) this.send(p.id, bytes);
  }

  stats(): PeerNetworkStats {
    return {
      sent: this.sent,
      received: this.received,
      sessionsEstablished: this.sessionsEstablished,
      connectedPeers: this.peers.filter((p) => p.session).map((p) => p.id),
      dropped: { ...this.drops },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    for (const p of this.peers) {
      p.dial?.close();
      p.session?.channel.close();
      p.session = undefined;
      p.outbox = [];
      p.outboxBytes = 0;
      p.outboxOvershoot = 0;
    }
    await this.server.close();
  }

  /** Count a drop and warn (rate-limited per reason: a flood of bad connections must not flood the log). */
  private drop(reason: PeerDropReason, detail: object): void {
    this.drops[reason]++;
    this.warnLimited.warn(reason, { self: this.self, reason, ...detail }, 'peer frame or connection dropped');
  }

  private deliver(from: number, bytes: Uint8Array): void {
    this.received++;
    try {
      this.emit('message', from, bytes);
    } catch (err) {
      this.log.warn({ self: this.self, from, err: String(err) }, 'message listener threw');
    }
  }

  /** Session established on `channel`: replace any older one, flush the outbox. */
  private establish(p: Peer, keys: SessionKeys, channel: Channel): Session {
    const old = p.session;
    if (old) old.partial = undefined;
    if (old && old.channel !== channel) old.channel.close();
    const t = this.now();
    const s: Session = {
      peer: p.id, keys, sendCounter: 0n, recvCounter: 0n, channel, lastSent: t, lastReceived: t, pending: [], pendingBytes: 0, flushScheduled: false, lastLarge: undefined, partial: undefined,
    };
    p.session = s;
    this.sessionsEstablished++;
    const queued = p.outbox;
    p.outbox = [];
    p.outboxBytes = 0;
    p.outboxOvershoot = 0;
    for (const m of queued) {
      if (m.length > this.frameCapacity) {
        if (!this.sendFragments(s, m)) this.drops['queue-full']++;
        continue;
      }
      s.sendCounter++;
      if (!channel.send(sealData(keys.send, s.sendCounter, m))) this.drops['queue-full']++;
    }
    this.log.info({ self: this.self, peer: p.id }, 'peer session established');
    this.emit('peer-up', p.id);
    return s;
  }

  private lose(p: Peer, s: Session | undefined): void {
    if (s) {
      s.partial = undefined; // a session reset discards a partially received message
      s.lastLarge = undefined;
    }
    if (s && p.session === s) {
      p.session = undefined;
      this.log.info({ self: this.self, peer: p.id }, 'peer session lost');
      if (!this.closed) this.emit('peer-down', p.id);
    }
  }

  /** A DATA frame on an established session. */
  private onData(p: Peer, s: Session, frame: Buffer): void {
    if (p.session !== s) return;
    const t = frame[0];
    if (frame.length === 0 || (t !== MSG_DATA && t !== MSG_HEARTBEAT && t !== MSG_DATA_MULTI && t !== MSG_DATA_FRAGMENT)) {
      this.drop(frame.length > 0 && frame[0]! <= MSG_FINISH ? 'unexpected' : 'malformed', { peer: p.id });
      return;
    }
    const r = openData(s.keys.receive, frame);
    if (!r.ok) {
      this.drop(r.reason, { peer: p.id });
      return;
    }
    if (r.counter <= s.recvCounter) {
      this.drop('replay', { peer: p.id, counter: String(r.counter), last: String(s.recvCounter) });
      return;
    }
    s.recvCounter = r.counter;
    s.lastReceived = this.now();
    if (r.heartbeat) return;
    if (r.fragment) return this.onFragment(p, s, r.payload);
    if (s.partial) return this.resetForFragment(p, s, 'bad-fragment', { what: 'DATA frame inside a fragmented message' });
    if (!r.multi) return this.deliver(p.id, r.payload);
    const msgs = decodeMulti(r.payload);
    if (!msgs) return this.drop('malformed', { peer: p.id, what: 'multi-message frame' });
    for (const m of msgs) {
      if (p.session !== s) return; // a listener closed the session
      this.deliver(p.id, m);
    }
  }

  /**
   * One authenticated FRAGMENT frame: start, extend or complete the peer's partial message.
   * Memory: the buffer has the announced length, at most `maxMessageBytes`; anything out of
   * sequence drops the message and resets the session (the stream position is lost).
   */
  private onFragment(p: Peer, s: Session, payload: Buffer): void {
    if (payload.length < FRAGMENT_HEADER_BYTES) return this.resetForFragment(p, s, 'bad-fragment', { what: 'empty fragment' });
    const flags = payload[0]!;
    if (flags === FRAGMENT_FIRST) {
      if (s.partial) return this.resetForFragment(p, s, 'bad-fragment', { what: 'first fragment inside a fragmented message' });
      if (payload.length < FRAGMENT_FIRST_HEADER_BYTES) return this.resetForFragment(p, s, 'bad-fragment', { what: 'short first fragment' });
      const total = payload.readUInt32BE(1);
      if (total > this.maxMessageBytes) return this.resetForFragment(p, s, 'oversize-message', { bytes: total, limit: this.maxMessageBytes });
      const data = payload.subarray(FRAGMENT_FIRST_HEADER_BYTES);
      if (data.length > total) return this.resetForFragment(p, s, 'bad-fragment', { what: 'fragment beyond the announced length' });
      if (data.length === total) return this.deliver(p.id, data);
      const buf = Buffer.allocUnsafe(total);
      data.copy(buf, 0);
      s.partial = { buf, received: data.length };
      return;
    }
    if (flags !== 0) return this.resetForFragment(p, s, 'bad-fragment', { what: `fragment flags ${flags}` });
    const m = s.partial;
    if (!m) return this.resetForFragment(p, s, 'bad-fragment', { what: 'fragment without a first fragment' });
    const data = payload.subarray(FRAGMENT_HEADER_BYTES);
    if (m.received + data.length > m.buf.length) return this.resetForFragment(p, s, 'bad-fragment', { what: 'fragment beyond the announced length' });
    data.copy(m.buf, m.received);
    m.received += data.length;
    if (m.received === m.buf.length) {
      s.partial = undefined;
      this.deliver(p.id, m.buf);
    }
  }

  /** Drop the peer's partial message (counted under `reason`) and reset the session. */
  private resetForFragment(p: Peer, s: Session, reason: 'bad-fragment' | 'oversize-message', detail: object): void {
    s.partial = undefined;
    this.drop(reason, { peer: p.id, ...detail });
    s.channel.close();
    this.lose(p, s);
  }

  /** Initiator side, for each (re)connect of the dialled connection. */
  private initiate(p: Peer, conn: FrameConnection): void {
    let hs: InitiatorHandshake | undefined;
    let session: Session | undefined;
    let timer: NodeJS.Timeout | undefined;
    const channel: Channel = { send: (b) => conn.send(b), sendBatch: (f) => conn.sendBatch(f), batchInFlight: () => conn.batchInFlight, close: () => conn.reset() };
    const stopTimer = (): void => {
      if (timer) clearTimeout(timer);
      timer = undefined;
    };
    const run = (steps: HandshakeStep[]): void => {
      for (const st of steps) {
        if (st.kind === 'send') conn.send(st.frame);
        else if (st.kind === 'fail') {
          stopTimer();
          hs = undefined;
          this.drop(st.reason, { peer: p.id, ...st.detail });
          conn.reset();
        } else {
          stopTimer();
          hs = undefined;
          session = this.establish(p, st.keys, channel);
        }
      }
    };
    conn.on('open', () => {
      session = undefined;
      hs = new InitiatorHandshake(this.self, p, this.identity);
      timer = setTimeout(() => {
        this.drop('handshake-timeout', { peer: p.id });
        conn.reset();
      }, this.options.handshakeTimeoutMs ?? 5000);
      run(hs.start());
    });
    conn.on('disconnect', (reason: string) => {
      stopTimer();
      if (reason === 'oversize-frame') this.drop('oversize-frame', { peer: p.id });
      this.lose(p, session);
      session = undefined;
      hs = undefined;
    });
    conn.on('close', stopTimer);
    conn.on('frame', (frame: Buffer) => {
      if (session) this.onData(p, session, frame);
      else if (hs) run(hs.onFrame(frame));
    });
  }

  /** Responder side: an accepted connection. Only lower ids of the group may dial us. */
  private accept(conn: ServerConnection): void {
    let hs: ResponderHandshake | undefined = new ResponderHandshake(this.self, this.identity, (id) =>
      Number.isInteger(id) && id < this.self ? this.peers[id]?.key : undefined,
    );
    let peer: Peer | undefined;
    let session: Session | undefined;
    const timer = setTimeout(() => {
      this.drop('handshake-timeout', { remote: conn.remote });
      conn.close();
    }, this.options.handshakeTimeoutMs ?? 5000);
    conn.on('close', (reason: string) => {
      clearTimeout(timer);
      if (reason === 'oversize-frame') this.drop('oversize-frame', { remote: conn.remote });
      if (peer) this.lose(peer, session);
    });
    conn.on('frame', (frame: Buffer) => {
      if (session) return this.onData(peer!, session, frame);
      if (!hs) return;
      for (const st of hs.onFrame(frame)) {
        if (st.kind === 'send') conn.send(st.frame);
        else if (st.kind === 'fail') {
          hs = undefined;
          clearTimeout(timer);
          this.drop(st.reason, { remote: conn.remote, ...st.detail });
          conn.framed.destroy('local');
        } else {
          hs = undefined;
          clearTimeout(timer);
          conn.pendingWork = 1; // an authenticated session: never evicted or closed as idle by the listener
          peer = this.peers[st.peer]!;
          session = this.establish(peer, st.keys, {
            send: (b) => conn.send(b), sendBatch: (f) => conn.sendBatch(f), batchInFlight: () => conn.batchInFlight, close: () => conn.framed.destroy('local'),
          });
        }
      }
    });
  }
}
