/**
 * `PbftTcpClient`: the native PBFT client over TCP — the runtime around the deterministic
 * client core ({@link PbftClientCore}: f+1 matching replies, retransmission, view learning).
 *
 * It keeps one reconnecting {@link FrameConnection} per replica's client port, feeds REPLY
 * frames to the core, performs the core's sends and per-request timers, and turns completions
 * into resolved promises. Many requests may be outstanding (pipelining): up to
 * `maxOutstanding` (≤ the replicas' client window) are in flight, further `invoke`s wait in a
 * bounded FIFO queue.
 */
import { FrameConnection, silentLogger, type BackoffOptions, type NetLogger } from '../../net/index.ts';
import type { KeyObject } from 'node:crypto';
import type { ClientInput, ClientOutput, ReplicaId } from './api.ts';
import { systemClock, type Clock } from './node.ts';
import { PbftClientCore } from './client-core.ts';
import { Ed25519Authenticator, Ed25519ClientSigner } from './auth.ts';
import { importIdentityPrivateKey } from '../../net/index.ts';
import { protocolConfig, replicaKeyObjects, type PbftClusterConfig } from './config.ts';

/** What the TCP client needs from the client core. */
export interface ClientCore {
  /** Start a new request; returns its id and the effects (first transmission, timer). */
  submit(payload: Uint8Array): { requestId: bigint; outputs: readonly ClientOutput[] };
  /** Feed a reply or a timer expiry. Never throws. */
  handle(input: ClientInput): readonly ClientOutput[];
  /** False while the client window is exhausted (then `submit` would throw). */
  canSubmit?(): boolean;
  /** The view the client believes current (primary = view mod n), if the core tracks it. */
  readonly currentView?: bigint;
}

/** Where a replica's client endpoint is. */
export interface ReplicaEndpoint {
  id: ReplicaId;
  host: string;
  clientPort: number;
}

/** Options of a {@link PbftTcpClient}. */
export interface PbftTcpClientOptions {
  replicas: readonly ReplicaEndpoint[];
  core: ClientCore;
  /** Requests in flight at once (default 256; keep ≤ the replicas' `clientWindow`). */
  maxOutstanding?: number;
  /** Requests waiting for a slot (default 100 000); beyond, `invoke` rejects with `queue-full`. */
  maxQueued?: number;
  /** Largest frame accepted from a replica (bytes, default 16 MiB). */
  maxFrameBytes?: number;
  /** Largest request payload (bytes, default 1 MiB — set to the replicas' `maxRequestBytes`). */
  maxRequestBytes?: number;
  backoff?: BackoffOptions;
  clock?: Clock;
  random?: () => number;
  logger?: NetLogger;
}

/** Why an invocation failed. */
export type ClientErrorCode = 'closed' | 'queue-full' | 'too-large';

/** A failed invocation. */
export class PbftClientError extends Error {
  override readonly name = 'PbftClientError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Counters of a {@link PbftTcpClient}. */
export interface PbftTcpClientStats {
  invoked: number;
  completed: number;
  outstanding: number;
  queued: number;
  repliesReceived: number;
  connectedReplicas: number;
}

interface Waiter {
  resolve(result: Uint8Array): void;
  reject(err: Error): void;
}

/** The native PBFT client over TCP. */
export class PbftTcpClient {
  private readonly conns = new Map<ReplicaId, FrameConnection>();
  private readonly waiting = new Map<bigint, Waiter>();
  private readonly timers = new Map<bigint, unknown>();
  private readonly queue: { payload: Uint8Array; waiter: Waiter }[] = [];
  private readonly clock: Clock;
  private readonly log: NetLogger;
  private readonly maxOutstanding: number;
  private readonly maxQueued: number;
  private readonly counters = { invoked: 0, completed: 0, repliesReceived: 0 };
  private closed = false;

  constructor(private readonly options: PbftTcpClientOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
    this.maxOutstanding = options.maxOutstanding ?? 256;
    this.maxQueued = options.maxQueued ?? 100_000;
    for (const r of options.replicas) {
      const conn = new FrameConnection({
        host: r.host,
        port: r.clientPort,
        backoff: options.backoff ?? { initialMs: 20, maxMs: 1000 },
        ...(options.maxFrameBytes !== undefined ? { maxFrameBytes: options.maxFrameBytes } : {}),
        ...(options.random ? { random: options.random } : {}),
      });
      conn.on('frame', (bytes: Buffer) => {
        this.counters.repliesReceived++;
        this.perform(this.options.core.handle({ kind: 'reply', from: r.id, bytes }));
      });
      this.conns.set(r.id, conn);
    }
  }

  /** Begin connecting to every replica (idempotent; `invoke` also does this). */
  connect(): this {
    if (!this.closed) for (const c of this.conns.values()) c.start();
    return this;
  }

  /**
   * Wait until at least `count` replicas are connected.
   * @throws {Error} after `timeoutMs`
   */
  async waitConnected(count: number, timeoutMs = 10_000): Promise<void> {
    this.connect();
    const deadline = Date.now() + timeoutMs;
    while (this.connectedCount() < count) {
      if (this.closed) throw new PbftClientError('closed', 'client closed');
      if (Date.now() > deadline) throw new Error(`only ${this.connectedCount()} of ${count} replicas connected after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * Order `payload` and return its result once f+1 replicas sent matching replies.
   * Retransmits (per the core) until it completes or the client is closed.
   * @throws {PbftClientError} `closed` if closed before completion, `queue-full` if too many
   *   invocations wait, `too-large` if the payload exceeds `maxRequestBytes`
   */
  invoke(payload: Uint8Array): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new PbftClientError('closed', 'client closed'));
    const max = this.options.maxRequestBytes ?? 1 << 20;
    if (payload.length > max) return Promise.reject(new PbftClientError('too-large', `request of ${payload.length} bytes exceeds ${max}`));
    this.connect();
    return new Promise<Uint8Array>((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.queue.length === 0 && this.hasSlot()) this.dispatch(payload, waiter);
      else if (this.queue.length < this.maxQueued) this.queue.push({ payload, waiter });
      else reject(new PbftClientError('queue-full', `${this.queue.length} invocations already waiting`));
    });
  }

  /** The view the client believes current (primary = view mod n); undefined if unknown. */
  get currentView(): bigint | undefined {
    return this.options.core.currentView;
  }

  /** Counters. */
  stats(): PbftTcpClientStats {
    return {
      ...this.counters,
      outstanding: this.waiting.size,
      queued: this.queue.length,
      connectedReplicas: this.connectedCount(),
    };
  }

  /** Close every connection; pending invocations reject with `closed`. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.timers.values()) this.clock.clearTimeout(h);
    this.timers.clear();
    for (const c of this.conns.values()) c.close();
    const err = new PbftClientError('closed', 'client closed');
    for (const w of this.waiting.values()) w.reject(err);
    for (const q of this.queue) q.waiter.reject(err);
    this.waiting.clear();
    this.queue.length = 0;
  }

  private hasSlot(): boolean {
    return this.waiting.size < this.maxOutstanding && (this.options.core.canSubmit?.() ?? true);
  }

  private connectedCount(): number {
    let k = 0;
    for (const c of this.conns.values()) if (c.isOpen) k++;
    return k;
  }

  private dispatch(payload: Uint8Array, waiter: Waiter): void {
    this.counters.invoked++;
    const { requestId, outputs } = this.options.core.submit(payload);
    this.waiting.set(requestId, waiter);
    this.perform(outputs);
  }

  private perform(outputs: readonly ClientOutput[]): void {
    for (const o of outputs) {
      switch (o.kind) {
        case 'send':
          if (o.to === 'all') for (const c of this.conns.values()) c.send(o.bytes);
          else this.conns.get(o.to)?.send(o.bytes);
          break;
        case 'set-timer': {
          const old = this.timers.get(o.requestId);
          if (old !== undefined) this.clock.clearTimeout(old);
          const id = o.requestId;
          this.timers.set(
            id,
            this.clock.setTimeout(() => {
              this.timers.delete(id);
              if (!this.closed) this.perform(this.options.core.handle({ kind: 'timer', requestId: id }));
            }, o.afterMs),
          );
          break;
        }
        case 'cancel-timer': {
          const h = this.timers.get(o.requestId);
          if (h !== undefined) this.clock.clearTimeout(h);
          this.timers.delete(o.requestId);
          break;
        }
        case 'complete': {
          const w = this.waiting.get(o.requestId);
          if (!w) break;
          this.waiting.delete(o.requestId);
          const h = this.timers.get(o.requestId);
          if (h !== undefined) this.clock.clearTimeout(h);
          this.timers.delete(o.requestId);
          this.counters.completed++;
          w.resolve(o.result);
          while (this.queue.length > 0 && !this.closed && this.hasSlot()) {
            const next = this.queue.shift()!;
            this.dispatch(next.payload, next.waiter);
          }
          break;
        }
      }
    }
  }
}

/** Options of {@link createPbftTcpClient}. */
export interface CreatePbftTcpClientOptions extends Omit<PbftTcpClientOptions, 'core' | 'replicas'> {
  cluster: PbftClusterConfig;
  /** Client id (1..64 UTF-8 bytes); must be fresh, or continue above `firstRequestId`. */
  clientId: string;
  /** The client's Ed25519 private key (registered in the config, or any key if unknown clients are allowed). */
  privateKey: KeyObject | string;
  /** Retransmission timeout (ms, default 500). */
  retransmitTimeoutMs?: number;
  /** Send first transmissions to all replicas (default false: to the believed primary). */
  sendToAll?: boolean;
  firstRequestId?: bigint;
  /** Override replica endpoints (e.g. ports announced at start-up); default from `cluster`. */
  endpoints?: readonly ReplicaEndpoint[];
}

/**
 * A native client for a configured cluster: Ed25519-signed requests, replies checked against
 * the replicas' public keys, f+1 matching replies per result.
 * @throws {RangeError} for a bad client id; {@link NetError} for a bad key
 */
export function createPbftTcpClient(o: CreatePbftTcpClientOptions): PbftTcpClient {
  const key = typeof o.privateKey === 'string' ? importIdentityPrivateKey(o.privateKey) : o.privateKey;
  const proto = protocolConfig(o.cluster);
  const verifier = new Ed25519Authenticator({ privateKey: key, replicaKeys: replicaKeyObjects(o.cluster) });
  const core = new PbftClientCore(
    o.clientId,
    {
      n: proto.n,
      f: proto.f,
      retransmitTimeoutMs: o.retransmitTimeoutMs ?? 500,
      clientWindow: proto.clientWindow,
      ...(o.sendToAll !== undefined ? { sendToAll: o.sendToAll } : {}),
      ...(o.firstRequestId !== undefined ? { firstRequestId: o.firstRequestId } : {}),
    },
    new Ed25519ClientSigner(key),
    (replica, bytes, sig) => verifier.verify(replica, bytes, sig),
  );
  const { cluster: _c, clientId: _i, privateKey: _k, retransmitTimeoutMs: _r, sendToAll: _s, firstRequestId: _f, endpoints, ...rest } = o;
  return new PbftTcpClient({
    ...rest,
    core,
    replicas: endpoints ?? o.cluster.replicas.map((r) => ({ id: r.id, host: r.host, clientPort: r.clientPort })),
    maxOutstanding: Math.min(o.maxOutstanding ?? 256, proto.clientWindow),
    maxRequestBytes: o.maxRequestBytes ?? proto.maxRequestBytes,
  });
}
