/**
 * `TcpPeerNetwork`: the {@link PeerNetwork} over TCP with mutual authentication.
 *
 * Topology: one TCP connection per pair of replicas; the replica with the LOWER id dials (with
 * reconnect, exponential back-off and jitter), the higher id accepts. On each new connection the
 * signed X25519 handshake of {@link ./handshake.ts} runs; afterwards every frame is a DATA frame
 * with HMAC-SHA256 and a strictly increasing per-direction counter. A newly authenticated
 * session from a peer replaces the old one (the peer restarted). Messages sent while no session
 * is up wait in a bounded per-peer outbox and are flushed when the session is established.
 * See `docs/networking.md`.
 */
import { EventEmitter } from 'node:events';
import type { KeyObject } from 'node:crypto';
import { FrameServer, type ServerConnection } from './server.ts';
import { FrameConnection } from './connection.ts';
import type { BackoffOptions } from './backoff.ts';
import { NetError } from './errors.ts';
import { DEFAULT_MAX_FRAME_BYTES } from './frame.ts';
import { importIdentityPrivateKey, importIdentityPublicKey } from './keys.ts';
import { DATA_HEADER_BYTES, MSG_DATA, MSG_DATA_MULTI, MSG_FINISH, MSG_HEARTBEAT, decodeMulti, encodeMulti, openData, sealData, type SessionKeys } from './handshake.ts';
import type { FrameServerLimitOptions, LimitReason } from './server-limits.ts';
import { RateLimitedWarn, DEFAULT_LOG_INTERVAL_MS } from './rate-limited-log.ts';
import { InitiatorHandshake, ResponderHandshake, type HandshakeStep } from './handshake-machine.ts';
import {
  emptyDropCounters, silentLogger,
  type NetLogger, type PeerDropReason, type PeerMessageListener, type PeerNetwork, type PeerNetworkStats, type PeerStatusListener,
} from './peer-network.ts';

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
  /** Largest message payload in bytes (default 16 MiB − header). */
  maxMessageBytes?: number;
  /** Bound of bytes queued per peer (socket buffer + outbox), default 32 MiB. */
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
}

interface Peer {
  id: number;
  addr: PeerAddress;
  key: KeyObject;
  session: Session | undefined;
  outbox: Buffer[];
  outboxBytes: number;
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
      id: addr.id, addr: { ...addr }, key: importIdentityPublicKey(addr.publicKey), session: undefined, outbox: [], outboxBytes: 0, dial: undefined,
    }));
    this.log = options.logger ?? silentLogger;
    this.now = options.now ?? (() => performance.now());
    this.warnLimited = new RateLimitedWarn(this.log, this.now, options.warnIntervalMs ?? DEFAULT_LOG_INTERVAL_MS);
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_FRAME_BYTES - DATA_HEADER_BYTES;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 32 * 1024 * 1024;
    const me = this.peers[this.self]!.addr;
    this.server = new FrameServer({
      host: options.listenHost ?? me.host,
      port: options.listenPort ?? me.port,
      maxFrameBytes: this.maxMessageBytes + DATA_HEADER_BYTES,
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
        maxFrameBytes: this.maxMessageBytes + DATA_HEADER_BYTES,
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
    if (s) {
      // Coalesce: all messages to this peer in one tick go out as one sealed frame (one MAC,
      // one header) at the end of the tick; a frame-size overflow flushes early.
      if (s.pending.length > 0 && s.pendingBytes + 4 + bytes.length > this.maxMessageBytes) this.flush(s);
      s.pending.push(bytes);
      s.pendingBytes += 4 + bytes.length;
      if (!s.flushScheduled) {
        s.flushScheduled = true;
        process.nextTick(() => this.flush(s));
      }
      this.sent++;
      return true;
    }
    if (p.outboxBytes + bytes.length > this.maxQueuedBytes) {
      this.drops['queue-full']++;
      return false;
    }
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
    if (old && old.channel !== channel) old.channel.close();
    const t = this.now();
    const s: Session = { peer: p.id, keys, sendCounter: 0n, recvCounter: 0n, channel, lastSent: t, lastReceived: t, pending: [], pendingBytes: 0, flushScheduled: false };
    p.session = s;
    this.sessionsEstablished++;
    const queued = p.outbox;
    p.outbox = [];
    p.outboxBytes = 0;
    for (const m of queued) {
      s.sendCounter++;
      if (!channel.send(sealData(keys.send, s.sendCounter, m))) this.drops['queue-full']++;
    }
    this.log.info({ self: this.self, peer: p.id }, 'peer session established');
    this.emit('peer-up', p.id);
    return s;
  }

  private lose(p: Peer, s: Session | undefined): void {
    if (s && p.session === s) {
      p.session = undefined;
      this.log.info({ self: this.self, peer: p.id }, 'peer session lost');
      if (!this.closed) this.emit('peer-down', p.id);
    }
  }

  /** A DATA frame on an established session. */
  private onData(p: Peer, s: Session, frame: Buffer): void {
    if (p.session !== s) return;
    if (frame.length === 0 || (frame[0] !== MSG_DATA && frame[0] !== MSG_HEARTBEAT && frame[0] !== MSG_DATA_MULTI)) {
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
    if (!r.multi) return this.deliver(p.id, r.payload);
    const msgs = decodeMulti(r.payload);
    if (!msgs) return this.drop('malformed', { peer: p.id, what: 'multi-message frame' });
    for (const m of msgs) {
      if (p.session !== s) return; // a listener closed the session
      this.deliver(p.id, m);
    }
  }

  /** Initiator side, for each (re)connect of the dialled connection. */
  private initiate(p: Peer, conn: FrameConnection): void {
    let hs: InitiatorHandshake | undefined;
    let session: Session | undefined;
    let timer: NodeJS.Timeout | undefined;
    const channel: Channel = { send: (b) => conn.send(b), close: () => conn.reset() };
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
          session = this.establish(peer, st.keys, { send: (b) => conn.send(b), close: () => conn.framed.destroy('local') });
        }
      }
    });
  }
}
