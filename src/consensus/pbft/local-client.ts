/**
 * {@link LocalPbftClient}: a PBFT client co-located with one replica (its "home replica", see
 * `Authenticator.clientHome` in `api.ts`), for wrappers such as CART's adapter that submit on
 * behalf of the replica itself. Instead of a TCP client talking to every replica's client port
 * and collecting f+1 signed REPLYs, it
 * - hands each signed REQUEST to its home replica's core in-process, and broadcasts it over the
 *   already authenticated replica mesh, so every replica learns it from the home replica's link
 *   (no client-signature check there) before the PRE-PREPARE that carries it;
 * - completes a request on the home replica's own (unsigned, in-process) REPLY — the home
 *   replica only reports when it executed the request itself, which is what the wrapper waits
 *   for;
 * - retransmits (local core + mesh broadcast) on timeout with doubling back-off, so lost
 *   messages, a faulty primary or a view change never strand a request.
 * The request stays Ed25519-signed: a replica that sees it first inside a PRE-PREPARE (or a
 * re-proposal after a view change) checks the signature as for any client.
 *
 * Per request this saves, at every replica: one client-signature check (in the PRE-PREPARE),
 * one REPLY signature, and at the home replica n REPLY checks and the client sockets.
 */
import type { ClientSigner } from './api.ts';
import { DecodeError, decodeMessage, encodeMessage, signedBytes } from './codec.ts';
import type { RequestMsg } from './messages.ts';
import type { Clock } from './node.ts';

/** Options of a {@link LocalPbftClient}. */
export interface LocalPbftClientOptions {
  /** Client id (1…64 UTF-8 bytes) whose home is the co-located replica. */
  readonly clientId: string;
  /** Signs requests (the replicas' `verifyClient` must accept it for `clientId`). */
  readonly signer: ClientSigner;
  /** The replicas' client window W: at most this many requests are outstanding. */
  readonly clientWindow: number;
  /** Max requests outstanding (≤ clientWindow); more are queued. */
  readonly maxOutstanding: number;
  /** Max requests queued behind the outstanding ones; more are refused (default 100 000). */
  readonly maxQueued?: number;
  /** First retransmission timeout (ms); doubles per retransmission up to 16×. */
  readonly retransmitTimeoutMs: number;
  readonly clock: Clock;
  /** Feed an encoded REQUEST to the home replica's core, as a client request. */
  readonly toHome: (bytes: Uint8Array) => void;
  /** Send an encoded REQUEST to every other replica over the authenticated replica mesh. */
  readonly toPeers: (bytes: Uint8Array) => void;
  /**
   * Whether the home replica is the active primary right now: then the first transmission goes
   * to it only (its PRE-PREPARE carries the request to the others, who accept it on the
   * primary's signature); retransmissions always go to every replica. Default: never.
   */
  readonly homeIsPrimary?: () => boolean;
}

/** Counters of a {@link LocalPbftClient} (same shape as the TCP client's). */
export interface LocalPbftClientStats {
  invoked: number;
  completed: number;
  outstanding: number;
  queued: number;
  repliesReceived: number;
  retransmissions: number;
  /** Replies that were malformed, for another client or for no outstanding request. */
  repliesIgnored: number;
}

/** `invoke` refused: closed, or the queue is full. */
export class LocalPbftClientError extends Error {
  override readonly name = 'LocalPbftClientError';
}

interface Outstanding {
  readonly bytes: Uint8Array;
  readonly resolve: (result: Uint8Array) => void;
  readonly reject: (err: Error) => void;
  timer: unknown;
  timeoutMs: number;
}

/** Max back-off multiplier of the retransmission timeout. */
const MAX_BACKOFF = 16;

/** See the module doc. */
export class LocalPbftClient {
  private nextId = 1n;
  private readonly outstanding = new Map<bigint, Outstanding>();
  private readonly queue: { payload: Uint8Array; resolve: (r: Uint8Array) => void; reject: (e: Error) => void }[] = [];
  private readonly counters = { invoked: 0, completed: 0, repliesReceived: 0, retransmissions: 0, repliesIgnored: 0 };
  private readonly limit: number;
  private closed = false;

  constructor(private readonly o: LocalPbftClientOptions) {
    if (!(o.clientWindow >= 1)) throw new RangeError('clientWindow must be ≥ 1');
    this.limit = Math.max(1, Math.min(o.maxOutstanding, o.clientWindow));
  }

  /**
   * Order `payload`; resolves with the home replica's result once it executed the request.
   * @throws (rejects) {@link LocalPbftClientError} when closed or the queue is full
   */
  invoke(payload: Uint8Array): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new LocalPbftClientError('client closed'));
    return new Promise<Uint8Array>((resolve, reject) => {
      if (this.outstanding.size < this.limit) return this.dispatch(payload, resolve, reject);
      if (this.queue.length >= (this.o.maxQueued ?? 100_000)) return reject(new LocalPbftClientError('submission queue full'));
      this.queue.push({ payload, resolve, reject });
    });
  }

  /** A REPLY frame from the home replica (in-process). Never throws. */
  onReply(bytes: Uint8Array): void {
    this.counters.repliesReceived++;
    let m;
    try {
      m = decodeMessage(bytes);
    } catch (e) {
      if (e instanceof DecodeError) return void this.counters.repliesIgnored++;
      throw e;
    }
    if (m.type !== 'reply' || m.clientId !== this.o.clientId) return void this.counters.repliesIgnored++;
    const w = this.outstanding.get(m.requestId);
    if (!w) return void this.counters.repliesIgnored++;
    this.outstanding.delete(m.requestId);
    this.o.clock.clearTimeout(w.timer);
    this.counters.completed++;
    w.resolve(m.result);
    this.pump();
  }

  /** Counters. */
  stats(): LocalPbftClientStats {
    return { ...this.counters, outstanding: this.outstanding.size, queued: this.queue.length };
  }

  /** Reject everything outstanding or queued; later invocations are refused. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = new LocalPbftClientError('client closed');
    for (const w of this.outstanding.values()) {
      this.o.clock.clearTimeout(w.timer);
      w.reject(err);
    }
    this.outstanding.clear();
    for (const q of this.queue.splice(0)) q.reject(err);
  }

  private dispatch(payload: Uint8Array, resolve: (r: Uint8Array) => void, reject: (e: Error) => void): void {
    const requestId = this.nextId++;
    const unsigned: RequestMsg = { type: 'request', clientId: this.o.clientId, requestId, payload, sig: new Uint8Array() };
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage({ ...unsigned, sig: this.o.signer.sign(signedBytes(unsigned)) });
    } catch (e) {
      return reject(e instanceof Error ? e : new LocalPbftClientError(String(e)));
    }
    const w: Outstanding = { bytes, resolve, reject, timer: undefined, timeoutMs: this.o.retransmitTimeoutMs };
    this.outstanding.set(requestId, w);
    this.counters.invoked++;
    this.arm(requestId, w);
    this.send(bytes, this.o.homeIsPrimary?.() ?? false);
  }

  /** Peers first: if the home replica is the primary, the REQUEST precedes its PRE-PREPARE on every link. */
  private send(bytes: Uint8Array, homeOnly = false): void {
    if (!homeOnly) this.o.toPeers(bytes);
    this.o.toHome(bytes);
  }

  private arm(requestId: bigint, w: Outstanding): void {
    w.timer = this.o.clock.setTimeout(() => {
      if (this.closed || this.outstanding.get(requestId) !== w) return;
      this.counters.retransmissions++;
      w.timeoutMs = Math.min(w.timeoutMs * 2, this.o.retransmitTimeoutMs * MAX_BACKOFF);
      this.arm(requestId, w);
      this.send(w.bytes);
    }, w.timeoutMs);
  }

  private pump(): void {
    while (!this.closed && this.outstanding.size < this.limit && this.queue.length > 0) {
      const q = this.queue.shift()!;
      this.dispatch(q.payload, q.resolve, q.reject);
    }
  }
}
