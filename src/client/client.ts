/**
 * The CART client (issue 4 §client): needs only replica addresses and the group public key.
 *
 * Each invocation gets a fresh request id and is signed with the client's Ed25519 key. It is
 * sent to one contact replica; on a timeout, a closed connection, an error notice or a reply
 * that fails verification, the client fails over to the next replica (same request id, so the
 * request still executes at most once). The first reply whose Merkle proof and group signature
 * verify and that matches the request completes the invocation; everything else is counted and
 * dropped. Many invocations may be outstanding (pipelining), up to `maxOutstanding`; more wait
 * in a FIFO queue.
 *
 * Freshness (docs/protocol.md §"Freshness"): every request carries a signed freshness sequence,
 * the highest batch sequence of this client's verified ordered replies (0 for a new client).
 * A replica answers a request whose sequence is too old (or far ahead) with STALE_FRESHNESS and
 * its own sequence as an unauthenticated hint; the client re-signs the SAME request id with the
 * hint and sends it again (bounded by `maxAttempts`). Keeping the request id means at most one
 * of the frames can ever execute; a lying hint costs at most a rejected attempt and a failover.
 *
 * Browser-safe except for the default transport ({@link TcpTransport}, Node only), which is
 * loaded lazily; pass `transport` to avoid it.
 */
import type { PublicKeySet } from '../crypto/verify.ts';
import {
  DEFAULT_WIRE_LIMITS,
  ErrorCode,
  decodeReplicaFrame,
  encodeClientFrame,
  type CartErrorNotice,
  type CartReply,
  type WireLimits,
} from '../wire/codec.ts';
import { digest, ORDERED_KEY_SET, READONLY_KEY_SET } from '../wire/digest.ts';
import { ClientConfigError, ClosedError, NoQuorumError, RequestRejectedError, RequestTooLargeError, TimeoutError } from './errors.ts';
import { createClientIdentity, signRequest, type ClientIdentity } from './identity.ts';
import { ReplyVerifier, type ReplyRejectReason, type SignatureVerifier, defaultSignatureVerifier } from './reply-verifier.ts';
import type { ClientTransport, ReplicaEndpoint, TransportConnection } from './transport.ts';

/** Options of {@link connect}. */
export interface CartClientOptions {
  /** Client endpoints of all n replicas, in replica index order (1..n). */
  readonly replicas: readonly ReplicaEndpoint[];
  /** Public key sets (from the public key file); the 'ordered' set is required unless `groupPublicKey` is given. */
  readonly publicKeySets?: readonly PublicKeySet[];
  /** Group public key of the 'ordered' key set (alternative to `publicKeySets`). */
  readonly groupPublicKey?: Uint8Array;
  /** Time to wait for a verified reply from one replica before failing over, ms (default 2000). */
  readonly timeoutMs?: number;
  /** Replicas tried per invocation before giving up (default 2n). */
  readonly maxAttempts?: number;
  /** Invocations in flight at once (default 128; must stay below the replicas' window). */
  readonly maxOutstanding?: number;
  /** Signing identity (default: a fresh random Ed25519 key). */
  readonly identity?: ClientIdentity;
  /** First request id (default 1). A client reusing an identity must continue above its last id. */
  readonly firstRequestId?: bigint;
  /** Index (0-based into `replicas`) of the first contact replica (default 0). */
  readonly contact?: number;
  /**
   * Use the unordered read-only path for `invokeReadOnly` (default: true when the 'readonly'
   * key set is known). Otherwise read-only invocations are ordered.
   */
  readonly readOnlyPath?: boolean;
  /** Transport (default: Node TCP). */
  readonly transport?: ClientTransport;
  /** BLS verifier (default: pure-JS pairing from src/crypto/verify.ts). */
  readonly verifier?: SignatureVerifier;
  /** Verify the distinct roots of replies that arrive together in one batch check (default true). */
  readonly batchVerification?: boolean;
  /**
   * Follow contact hints (default true): a verified reply from the current contact may name
   * another replica as `preferredContact` (the wrapped protocol's leader); new requests then go
   * there. The hint is unsigned, so it is never followed to a replica that failed this client
   * (timeout, closed connection, error notice, bad reply) within `contactHintHoldoffMs`.
   */
  readonly followContactHints?: boolean;
  /**
   * See `followContactHints` (ms, default 10 × `timeoutMs`). Doubles with each consecutive
   * failure of the same replica (up to 32×), so a leader replica that keeps failing — e.g. one
   * that drops client requests — draws the client back ever more rarely; a verified reply from it
   * resets it. Hints are followed at most once per `timeoutMs` (replicas that disagree about the
   * leader during a view change cannot make the client bounce on every reply).
   */
  readonly contactHintHoldoffMs?: number;
  /** Millisecond clock for hint hold-offs (default `Date.now`; injected by tests). */
  readonly now?: () => number;
  readonly limits?: WireLimits;
}

/** Counters of one client. */
export interface CartClientStats {
  /** Invocations started. */
  invoked: number;
  /** Invocations completed with a verified reply. */
  verified: number;
  /** Invocations that failed (timeout, rejected, closed). */
  failed: number;
  /**
   * Replies or frames rejected, by reason. `late` counts benign duplicates: replies for a request
   * already completed, and further replies a replica sent while its first one was being checked
   * (e.g. its answer to a retransmission) when that one verified. `unsolicited`: replies from
   * replicas not asked, from one that already sent a bad reply for this request, or sent while
   * its bad reply was being checked.
   */
  rejected: Record<ReplyRejectReason | 'error-notice' | 'late' | 'unsolicited', number>;
  /** Switches to another replica. */
  failovers: number;
  /** Contact changes made on a reply's `preferredContact` hint. */
  contactHintsFollowed: number;
  /** Read-only invocations answered (on the read-only path or ordered by a busy contact) / re-issued as ordered. */
  readOnlyVerified: number;
  readOnlyFallbacks: number;
  /** Of `readOnlyVerified`: answered under the 'ordered' key set (the contact ordered them with the writes). */
  readOnlyOrdered: number;
  /** Attempts that timed out. */
  timeouts: number;
  /** Requests re-signed with a newer freshness sequence after a STALE_FRESHNESS hint. */
  freshnessRetries: number;
  /** Signature checks performed (single or batch, each ~one pairing check), and replies verified from the root cache. */
  pairingChecks: number;
  cacheHits: number;
  /** Batch checks, and the distinct roots they covered. */
  batchChecks: number;
  batchedRoots: number;
}

interface Pending {
  readonly requestId: bigint;
  readonly operationDigest: Uint8Array;
  /** The signed frame, and its freshness sequence (both replaced when re-signed). */
  frame: Uint8Array;
  fresh: bigint;
  /** Acknowledgement signed into the request: the lowest id outstanding when it was sent. */
  readonly ack: bigint;
  readonly keySet: string;
  readonly readOnly: boolean;
  readonly queued: Queued;
  readonly resolve: (result: Uint8Array) => void;
  readonly reject: (err: Error) => void;
  target: number;
  attempts: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  readonly errors: Map<number, Set<number>>;
  /** Replicas this request was sent to, and those that already sent a bad reply for it. */
  readonly sentTo: Set<number>;
  readonly lied: Set<number>;
  /**
   * Replicas with a reply for this request under verification right now, and how many further
   * replies each sent meanwhile (dropped unchecked; counted once the verdict is known).
   */
  readonly checking: Map<number, number>;
  /** Why each failed attempt failed (for the final error message). */
  readonly causes: Map<FailoverCause, number>;
}

type FailoverCause = 'timeout' | 'closed' | 'error' | 'bad-reply';

/** What went wrong, for a user: `2 timed out (no reply within 2000 ms), 6 connection refused or closed — is the cluster running?`. */
function describeCauses(causes: ReadonlyMap<FailoverCause, number>, timeoutMs: number): string {
  const label: Record<FailoverCause, string> = {
    timeout: `timed out (no verified reply within ${timeoutMs} ms)`,
    closed: 'connection refused or closed',
    error: 'answered with an error notice',
    'bad-reply': 'sent a reply that failed verification',
  };
  const parts = [...causes].map(([c, k]) => `${k} ${label[c]}`);
  let hint = '';
  if (causes.has('bad-reply')) hint = ' — replies did not verify: are the public key file and cluster.json from the same deployment as the running replicas?';
  else if (causes.size === 1 && causes.has('closed')) hint = ' — no replica accepted a connection: is the cluster running at the addresses in cluster.json?';
  return parts.length ? `: ${parts.join(', ')}${hint}` : '';
}

interface Queued {
  readonly operation: Uint8Array;
  readonly readOnly: boolean;
  readonly resolve: (result: Uint8Array) => void;
  readonly reject: (err: Error) => void;
}

/** A CART client; create with {@link connect}. */
export class CartClient {
  /** This client's id (SHA-256 of its public key). */
  readonly clientId: Uint8Array;
  private readonly identity: ClientIdentity;
  private readonly n: number;
  private readonly f: number;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly maxOutstanding: number;
  private readonly limits: WireLimits;
  private readonly replyVerifier: ReplyVerifier;
  private readonly conns: (TransportConnection | undefined)[];
  private readonly pending = new Map<bigint, Pending>();
  private readonly queue: Queued[] = [];
  private nextId: bigint;
  /** Highest batch sequence of a verified ordered reply: the freshness sequence of new requests. */
  private freshness = 0n;
  private contact: number;
  /** When each replica last failed this client (ms, `now()`; contact hints avoid them), and how many times in a row. */
  private readonly failedAt: number[];
  private readonly failures: number[];
  /** When the client last moved on a hint. */
  private lastHintAt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private readonly followHints: boolean;
  private readonly hintHoldoffMs: number;
  private readonly readOnlyPath: boolean;
  private closed = false;
  private readonly counters: CartClientStats = {
    invoked: 0,
    verified: 0,
    failed: 0,
    rejected: { malformed: 0, 'unknown-request': 0, 'wrong-client': 0, 'wrong-key-set': 0, 'bad-proof': 0, 'bad-signature': 0, 'error-notice': 0, late: 0, unsolicited: 0 },
    failovers: 0,
    contactHintsFollowed: 0,
    readOnlyVerified: 0,
    readOnlyFallbacks: 0,
    readOnlyOrdered: 0,
    timeouts: 0,
    freshnessRetries: 0,
    pairingChecks: 0,
    cacheHits: 0,
    batchChecks: 0,
    batchedRoots: 0,
  };

  /** Use {@link connect}. */
  constructor(
    private readonly options: CartClientOptions,
    private readonly transport: ClientTransport,
  ) {
    this.n = options.replicas.length;
    if (this.n < 1) throw new ClientConfigError('at least one replica endpoint is required');
    this.f = Math.floor((this.n - 1) / 3);
    const keys = new Map<string, Uint8Array>();
    for (const ks of options.publicKeySets ?? []) keys.set(ks.name, ks.groupPublicKey);
    if (options.groupPublicKey) keys.set(ORDERED_KEY_SET, options.groupPublicKey);
    if (!keys.has(ORDERED_KEY_SET)) throw new ClientConfigError(`the '${ORDERED_KEY_SET}' group public key is required`);
    this.replyVerifier = new ReplyVerifier(keys, options.verifier ?? defaultSignatureVerifier, 4096, options.batchVerification ?? true);
    this.readOnlyPath = (options.readOnlyPath ?? true) && keys.has(READONLY_KEY_SET);
    this.identity = options.identity ?? createClientIdentity();
    this.clientId = this.identity.clientId;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.maxAttempts = options.maxAttempts ?? 2 * this.n;
    this.maxOutstanding = options.maxOutstanding ?? 128;
    this.limits = options.limits ?? DEFAULT_WIRE_LIMITS;
    this.nextId = options.firstRequestId ?? 1n;
    this.contact = (options.contact ?? 0) % this.n;
    this.failedAt = new Array<number>(this.n).fill(-Infinity);
    this.failures = new Array<number>(this.n).fill(0);
    this.now = options.now ?? Date.now;
    this.followHints = options.followContactHints ?? true;
    this.hintHoldoffMs = options.contactHintHoldoffMs ?? 10 * this.timeoutMs;
    this.conns = new Array<TransportConnection | undefined>(this.n).fill(undefined);
  }

  /**
   * Invoke an ordered operation; resolves with the verified result.
   * @throws {RequestTooLargeError} operation above the wire limit
   * @throws {TimeoutError} every attempt timed out; {@link NoQuorumError} no verified reply otherwise
   * @throws {RequestRejectedError} f+1 replicas reported the same error; {@link ClosedError} client closed
   */
  invoke(operation: Uint8Array): Promise<Uint8Array> {
    return this.enqueue(operation, false);
  }

  /**
   * Invoke a read-only operation. With the read-only path (default when the 'readonly' key set
   * is known) it is executed without ordering by the replicas and the reply is signed under the
   * 'readonly' key set (t = 2f+1); if that fails in any way (no 2f+1 matching results, timeout,
   * an operation that is not read-only, a bad reply) the client re-issues it as an ordered
   * invocation with a new request id. The result reflects a committed state held by at least
   * f+1 correct replicas (not linearizable; see docs/protocol.md §4.4).
   * @throws as {@link invoke}
   */
  invokeReadOnly(operation: Uint8Array): Promise<Uint8Array> {
    return this.enqueue(operation, this.readOnlyPath);
  }

  /** The freshness sequence new requests carry (highest sequence of a verified ordered reply). */
  get freshnessSequence(): bigint {
    return this.freshness;
  }

  /** Invocations in flight plus queued. */
  get outstanding(): number {
    return this.pending.size + this.queue.length;
  }

  /** A snapshot of the counters. */
  stats(): CartClientStats {
    return {
      ...this.counters,
      rejected: { ...this.counters.rejected },
      pairingChecks: this.replyVerifier.pairingChecks,
      cacheHits: this.replyVerifier.cacheHits,
      batchChecks: this.replyVerifier.batchChecks,
      batchedRoots: this.replyVerifier.batchedRoots,
    };
  }

  /** Close all connections; outstanding invocations reject with {@link ClosedError}. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new ClosedError());
    }
    this.pending.clear();
    for (const q of this.queue.splice(0)) q.reject(new ClosedError());
    for (let i = 0; i < this.n; i++) {
      this.conns[i]?.close();
      this.conns[i] = undefined;
    }
  }

  private enqueue(operation: Uint8Array, readOnly: boolean): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new ClosedError());
    if (operation.length > this.limits.maxOperationBytes) return Promise.reject(new RequestTooLargeError(operation.length, this.limits.maxOperationBytes));
    return new Promise<Uint8Array>((resolve, reject) => {
      this.counters.invoked++;
      const q: Queued = { operation, readOnly, resolve, reject };
      if (this.pending.size < this.maxOutstanding) this.dispatch(q);
      else this.queue.push(q);
    });
  }

  /** Start one invocation: assign a request id, sign, send to the contact replica. */
  private dispatch(q: Queued): void {
    const requestId = this.nextId++;
    const fresh = this.freshness;
    // every id below the lowest one still outstanding has its reply (pending is in id order)
    const lowest = this.pending.keys().next().value as bigint | undefined;
    const ack = lowest !== undefined && lowest < requestId ? lowest : requestId;
    const p: Pending = {
      requestId,
      operationDigest: digest(q.operation),
      frame: this.sign(requestId, q.readOnly, q.operation, fresh, ack),
      fresh,
      ack,
      keySet: q.readOnly ? READONLY_KEY_SET : ORDERED_KEY_SET,
      readOnly: q.readOnly,
      queued: q,
      resolve: (r) => {
        this.counters.verified++;
        if (q.readOnly) this.counters.readOnlyVerified++;
        q.resolve(r);
      },
      reject: (e) => {
        this.counters.failed++;
        q.reject(e);
      },
      target: this.contact,
      attempts: 0,
      timer: undefined,
      errors: new Map(),
      sentTo: new Set(),
      lied: new Set(),
      checking: new Map(),
      causes: new Map(),
    };
    this.pending.set(requestId, p);
    this.attempt(p);
  }

  /** Sign and encode one request frame. */
  private sign(requestId: bigint, readOnly: boolean, operation: Uint8Array, fresh: bigint, ack: bigint): Uint8Array {
    const signature = signRequest(this.identity, requestId, readOnly, operation, fresh, ack);
    return encodeClientFrame({ clientPublicKey: this.identity.publicKey, requestId, operation, readOnly, signature, fresh, ack });
  }

  private attempt(p: Pending): void {
    p.attempts++;
    if (p.timer) clearTimeout(p.timer);
    p.timer = setTimeout(() => this.onTimeout(p), this.timeoutMs);
    const conn = this.connection(p.target);
    p.sentTo.add(p.target);
    if (!conn.send(p.frame)) this.failover(p, p.target, 'closed');
  }

  private onTimeout(p: Pending): void {
    if (this.pending.get(p.requestId) !== p) return;
    this.counters.timeouts++;
    this.failover(p, p.target, 'timeout');
  }

  /** Move `p` to the next replica after `failed`; give up after `maxAttempts`. */
  private failover(p: Pending, failed: number, cause: FailoverCause): void {
    if (this.pending.get(p.requestId) !== p || p.target !== failed) return;
    p.causes.set(cause, (p.causes.get(cause) ?? 0) + 1);
    this.failedAt[failed] = this.now();
    this.failures[failed]!++;
    const timedOut = cause === 'timeout';
    if (p.readOnly) {
      // an unresponsive contact is left behind for the ordered retry too
      if ((cause === 'timeout' || cause === 'closed') && this.contact === failed) this.contact = (failed + 1) % this.n;
      // read-only path failed: re-issue as an ordered invocation (new request id)
      this.counters.readOnlyFallbacks++;
      if (p.timer) clearTimeout(p.timer);
      this.pending.delete(p.requestId);
      if (!this.closed) this.dispatch({ ...p.queued, readOnly: false });
      return;
    }
    if (p.attempts >= this.maxAttempts) {
      this.finish(p);
      const msg = `no verified reply for request ${p.requestId} after ${p.attempts} attempts${describeCauses(p.causes, this.timeoutMs)}`;
      p.reject(timedOut ? new TimeoutError(msg, p.attempts) : new NoQuorumError(msg, p.attempts));
      return;
    }
    this.counters.failovers++;
    p.target = (failed + 1) % this.n;
    if (this.contact === failed) this.contact = p.target;
    // defer so a burst of failures (closed connection) does not recurse
    queueMicrotask(() => {
      if (this.pending.get(p.requestId) === p && !this.closed) this.attempt(p);
    });
  }

  private finish(p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    this.pending.delete(p.requestId);
    while (this.queue.length > 0 && this.pending.size < this.maxOutstanding && !this.closed) this.dispatch(this.queue.shift()!);
  }

  private connection(i: number): TransportConnection {
    const existing = this.conns[i];
    if (existing) return existing;
    const conn = this.transport.connect(this.options.replicas[i]!, {
      onFrame: (payload) => this.onFrame(i, payload),
      onClose: () => {
        if (this.conns[i] === conn) this.conns[i] = undefined;
        for (const p of [...this.pending.values()]) if (p.target === i) this.failover(p, i, 'closed');
      },
    });
    this.conns[i] = conn;
    return conn;
  }

  private onFrame(from: number, payload: Uint8Array): void {
    if (this.closed) return;
    let msg;
    try {
      msg = decodeReplicaFrame(payload, this.limits);
    } catch {
      this.counters.rejected.malformed++;
      return;
    }
    if (msg.type === 'error') this.onErrorNotice(from, msg.error);
    else void this.onReply(from, msg.reply);
  }

  private onErrorNotice(from: number, e: CartErrorNotice): void {
    this.counters.rejected['error-notice']++;
    const p = this.pending.get(e.requestId);
    if (!p) return;
    if (e.code === ErrorCode.STALE_FRESHNESS) {
      // an unauthenticated hint: re-sign the same request id (so at most one frame executes)
      // with the hinted sequence, or our own verified one if the hint is lower; each re-signing
      // costs an attempt, so a lying replica cannot keep us busy
      const hint = e.sequence ?? 0n;
      const fresh = hint > this.freshness ? hint : this.freshness;
      if (!p.readOnly && from === p.target && fresh !== p.fresh && p.attempts < this.maxAttempts) {
        this.counters.freshnessRetries++;
        p.fresh = fresh;
        p.frame = this.sign(p.requestId, false, p.queued.operation, fresh, p.ack);
        queueMicrotask(() => {
          if (this.pending.get(p.requestId) === p && !this.closed) this.attempt(p);
        });
        return;
      }
      this.failover(p, from, 'error');
      return;
    }
    let who = p.errors.get(e.code);
    if (!who) p.errors.set(e.code, (who = new Set()));
    who.add(from);
    if (who.size >= this.f + 1 && e.code !== ErrorCode.OVERLOADED && e.code !== ErrorCode.UNAVAILABLE && e.code !== ErrorCode.READ_ONLY_FAILED) {
      this.finish(p);
      p.reject(new RequestRejectedError(e.code, `${who.size} replicas rejected request ${p.requestId}: ${e.message}`));
      return;
    }
    this.failover(p, from, 'error');
  }

  private async onReply(from: number, reply: CartReply): Promise<void> {
    const p = this.pending.get(reply.requestId);
    if (!p) {
      this.counters.rejected.late++;
      return;
    }
    // only replicas we asked may answer, and each gets one chance to lie per request: a
    // Byzantine replica cannot make the client spend unbounded pairing checks
    const copies = p.checking.get(from);
    if (copies !== undefined) {
      p.checking.set(from, copies + 1); // e.g. its answer to a retransmission: classified with the verdict
      return;
    }
    if (!p.sentTo.has(from) || p.lied.has(from)) {
      this.counters.rejected.unsolicited++;
      return;
    }
    p.checking.set(from, 0);
    // a read-only request may be answered under 'ordered' too: a busy contact orders it with the
    // writes, and an ordered reply (t = f+1 over a committed batch) is linearizable
    const keySet = p.readOnly && reply.keySet === ORDERED_KEY_SET ? ORDERED_KEY_SET : p.keySet;
    const verdict = await this.replyVerifier.check(reply, {
      keySet,
      clientId: this.clientId,
      requestId: p.requestId,
      operationDigest: p.operationDigest,
    });
    // replies that came from `from` during the check: benign duplicates of a good reply, or
    // more of a liar's (never checked: one chance to lie per request)
    this.counters.rejected[verdict.ok ? 'late' : 'unsolicited'] += p.checking.get(from) ?? 0;
    p.checking.delete(from);
    if (verdict.ok && keySet === ORDERED_KEY_SET && reply.sequence > this.freshness) this.freshness = reply.sequence;
    if (this.pending.get(reply.requestId) !== p) {
      if (verdict.ok) this.counters.rejected.late++;
      return;
    }
    if (!verdict.ok) {
      this.counters.rejected[verdict.reason]++;
      p.lied.add(from);
      this.failover(p, from, 'bad-reply');
      return;
    }
    this.failures[from] = 0;
    this.followHint(from, reply.preferredContact);
    if (p.readOnly && keySet === ORDERED_KEY_SET) this.counters.readOnlyOrdered++;
    this.finish(p);
    p.resolve(reply.result);
  }

  /**
   * A verified reply from `from` names `hint` (1..n) as the preferred contact: move new requests
   * there if `from` is the current contact, no hint was followed within `timeoutMs`, and `hint`
   * has not failed us within its hold-off (`contactHintHoldoffMs`, doubled per consecutive
   * failure up to 32×). Unsigned, so a Byzantine contact can only send us to another replica,
   * which we leave on its first failure and return to ever more rarely.
   */
  private followHint(from: number, hint: number | undefined): void {
    if (!this.followHints || hint === undefined || !Number.isInteger(hint) || hint < 1 || hint > this.n) return;
    const to = hint - 1;
    if (to === this.contact || from !== this.contact) return;
    const now = this.now();
    if (now - this.lastHintAt < this.timeoutMs) return;
    const failures = this.failures[to]!;
    const holdoff = failures === 0 ? 0 : this.hintHoldoffMs * 2 ** Math.min(failures - 1, 5);
    if (now - this.failedAt[to]! < holdoff) return;
    this.contact = to;
    this.lastHintAt = now;
    this.counters.contactHintsFollowed++;
  }
}

/**
 * Create a CART client. Connections are opened lazily on first use.
 * @throws {ClientConfigError} no replicas, or no 'ordered' group public key
 */
export async function connect(options: CartClientOptions): Promise<CartClient> {
  let transport = options.transport;
  const onNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (!transport) {
    const { TcpTransport } = await import('./tcp-transport.ts');
    transport = new TcpTransport({ maxFrameBytes: (options.limits ?? DEFAULT_WIRE_LIMITS).maxFrameBytes });
  }
  let identity = options.identity;
  if (!identity && onNode) {
    // node:crypto signs ~50x faster than the pure-JS fallback
    const { createNodeClientIdentity } = await import('./node-identity.ts');
    identity = createNodeClientIdentity();
  }
  return new CartClient({ ...options, identity }, transport);
}
