/**
 * The CART replica: the server-side handler that turns any {@link ConsensusAdapter} into a
 * service whose replies carry a BLS threshold group signature (issue 4). Used with a
 * ConsensusAdapter (`src/consensus/adapter.ts`).
 *
 * Parts: a TCP client endpoint (length-prefixed frames of `proto/cart.proto`), the BFT client
 * handler (verifies a request's client signature, then submits it to the adapter, or answers it
 * from the reply cache when it was already executed), the {@link CartApplicationProxy} the
 * adapter delivers to, the {@link ShareExchange} (signer, share exchange, aggregator) and the
 * reply path. Any replica accepts any request; the client needs only one correct replica.
 *
 * Bad input never throws out of a handler: frames are decoded into typed errors, answered with
 * an Error frame when a client may retry, counted in metrics, and dropped.
 */
import { pino, type Logger } from 'pino';
import type { AdapterEvent } from '../consensus/adapter.ts';
import type { KeyShare, PublicKeySet } from '../crypto/types.ts';
import { FrameServer, type ServerConnection } from '../net/server.ts';
import {
  DEFAULT_WIRE_LIMITS,
  ErrorCode,
  PROTOCOL_VERSION,
  decodeClientFrame,
  decodePeerFrame,
  encodeClientFrame,
  encodePeerFrame,
  encodeReplicaFrame,
  type CartReply,
  type CartRequest,
  type ErrorCodeValue,
  type PeerMessage,
  type WireLimits,
} from '../wire/codec.ts';
import { WireError } from '../wire/errors.ts';
import { ORDERED_KEY_SET, READONLY_KEY_SET, toHex } from '../wire/digest.ts';
import { ReadOnlyCoordinator, readOnlyKey } from './read-only.ts';
import { CartApplicationProxy, type ExecutedBatch, type OrderedRejection, type OrderedRejectReason } from './app-proxy.ts';
import { RequestVerifier } from './request-verifier.ts';
import { ShareExchange, type SignedBatch } from './share-exchange.ts';
import { ReplicaMetrics, serveMetrics } from './metrics.ts';
import { CartReplicaConfigError, type CartReplica, type CartReplicaOptions, type CartReplicaTuning } from './options.ts';
export { CartReplicaConfigError, type CartReplica, type CartReplicaKeys, type CartReplicaOptions, type CartReplicaTuning } from './options.ts';
import { WaiterRegistry } from './waiters.ts';
import type { Server } from 'node:http';
import { corruptBytes as corrupt } from './byzantine.ts';

function errorCodeOf(e: WireError): ErrorCodeValue {
  switch (e.reason) {
    case 'unsupported-version':
      return ErrorCode.UNSUPPORTED_VERSION;
    case 'too-large':
      return ErrorCode.TOO_LARGE;
    default:
      return ErrorCode.MALFORMED;
  }
}

/**
 * Start a CART replica: listen for clients, start the adapter with CART's application proxy,
 * and exchange signature shares over `network`.
 * @throws {CartReplicaConfigError} if the 'ordered' key set or this replica's share is missing
 * @throws the listen error (e.g. EADDRINUSE) or the adapter's start error
 */
export async function startCartReplica(opts: CartReplicaOptions): Promise<CartReplica> {
  const keySet = opts.keys.publicKeySets.find((k) => k.name === ORDERED_KEY_SET);
  const keyShare = opts.keys.shares.find((s) => s.keySet === ORDERED_KEY_SET);
  if (!keySet || !keyShare) throw new CartReplicaConfigError(`key set '${ORDERED_KEY_SET}' or its share missing`);
  if (keyShare.index !== opts.index) throw new CartReplicaConfigError(`key share index ${keyShare.index} != replica index ${opts.index}`);
  if (opts.network.n !== keySet.replicas || opts.network.self !== opts.index - 1) {
    throw new CartReplicaConfigError(`network (self ${opts.network.self}, n ${opts.network.n}) does not match replica ${opts.index} of ${keySet.replicas}`);
  }
  const r = new Replica(opts, keySet, keyShare);
  try {
    await r.start();
  } catch (e) {
    await r.close();
    throw e;
  }
  return r;
}

class Replica implements CartReplica {
  readonly index: number;
  readonly metrics: ReplicaMetrics;
  readonly proxy: CartApplicationProxy;
  readonly exchange: ShareExchange;
  readonly readOnly: ReadOnlyCoordinator | undefined;
  address = { host: '127.0.0.1', port: 0 };
  metricsAddress: { host: string; port: number } | undefined;
  private readonly log: Logger;
  private readonly server: FrameServer;
  private readonly verifier = new RequestVerifier();
  private readonly limits: WireLimits;
  private readonly t: CartReplicaTuning;
  private readonly now: () => number;
  private readonly waiters: WaiterRegistry<ServerConnection>;
  private readonly inflight = new Set<string>();
  private metricsServer: Server | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;
  /** When this replica last executed an ordered batch (ms, `now()`): ordering makes progress. */
  private lastExecutedAt = Number.NEGATIVE_INFINITY;
  /** Index (1..n) of the replica replies name as `preferredContact` (the leader's), 0 = none. */
  private preferredContact = 0;
  private readonly onPeer = (from: number, bytes: Uint8Array): void => this.handlePeer(from, bytes);

  constructor(
    private readonly o: CartReplicaOptions,
    keySet: PublicKeySet,
    keyShare: KeyShare,
  ) {
    this.index = o.index;
    this.t = o.options ?? {};
    this.now = this.t.now ?? Date.now;
    this.limits = this.t.limits ?? DEFAULT_WIRE_LIMITS;
    this.log = (o.logger ?? pino({ level: 'silent' })).child({ replica: o.index });
    this.metrics = new ReplicaMetrics({ replica: String(o.index) });
    this.waiters = new WaiterRegistry<ServerConnection>({
      maxTotal: this.t.maxWaiting,
      maxPerConnection: this.t.maxWaitingPerConnection,
      now: this.now,
      onCount: (n) => this.metrics.waiting.set(n),
    });
    this.proxy = new CartApplicationProxy(o.application, {
      window: this.t.window,
      maxClients: this.t.maxClients,
      freshnessHorizon: this.t.freshnessHorizon,
      maxCachedResultBytes: this.t.maxCachedResultBytes,
      limits: this.limits,
      verifier: this.verifier,
      onExecuted: (b) => this.onExecuted(b),
      onRejected: (reason, request) => {
        this.metrics.orderedRejected.inc({ reason });
        if (request) this.onOrderedRejection(reason, request);
      },
      onRestored: (sequence) => this.log.info({ sequence: sequence.toString() }, 'state restored from snapshot'),
    });
    const m = this.metrics;
    this.exchange = new ShareExchange({
      index: o.index,
      keySet,
      keyShare,
      crypto: o.crypto,
      tentative: this.t.tentative,
      batchSignatures: this.t.batchSignatures,
      maxBatches: this.t.maxBatches,
      byzantine: this.t.byzantine,
      broadcast: (msg) => this.broadcast(msg),
      send: (to, msg) => this.send(to, msg),
      onReady: (b) => this.onReady(b),
      observer: {
        shareReceived: () => m.sharesReceived.inc(),
        shareRejected: (_from, reason) => m.sharesRejected.inc({ reason }),
        misbehaviour: (signer, kind, sequence) => {
          m.misbehaviour.inc({ signer: String(signer), kind });
          this.log.warn({ signer, kind, sequence: sequence.toString() }, 'replica misbehaviour detected');
        },
        combined: () => m.combined.inc(),
        batchSigned: () => m.batchesSigned.inc(),
        error: (err, context) => this.log.error({ err: err.message, context }, 'share exchange error'),
      },
    });
    const roSet = o.keys.publicKeySets.find((k) => k.name === READONLY_KEY_SET);
    const roShare = o.keys.shares.find((k) => k.keySet === READONLY_KEY_SET);
    this.readOnly =
      (this.t.readOnly ?? true) && roSet && roShare && roShare.index === o.index
        ? new ReadOnlyCoordinator({
            index: o.index,
            keySet: roSet,
            keyShare: roShare,
            crypto: o.crypto,
            application: o.application,
            verifier: this.verifier,
            limits: this.limits,
            timeoutMs: this.t.readOnlyTimeoutMs,
            maxBatchRequests: this.t.readOnlyMaxBatch,
            maxInFlightBatches: this.t.readOnlyMaxInFlight,
            byzantine: this.t.byzantine,
            send: (to, msg) => this.send(to, msg),
            broadcast: (msg) => this.broadcast(msg),
            onReply: (key, reply) => this.sendReply(key, { ...reply, result: this.t.byzantine?.wrongResults ? corrupt(reply.result) : reply.result, replica: this.index, preferredContact: this.preferredContact }),
            onFail: (key) => this.failReadOnly(key),
            onBatchSent: (requests) => {
              m.readOnlyBatches.inc();
              m.readOnlyBatchedRequests.inc(requests);
            },
            observer: {
              shareRejected: (_from, reason) => m.sharesRejected.inc({ reason }),
              misbehaviour: (signer, kind) => {
                m.misbehaviour.inc({ signer: String(signer), kind });
                this.log.warn({ signer, kind, path: 'read-only' }, 'replica misbehaviour detected');
              },
              combined: () => m.combined.inc(),
              error: (err, context) => this.log.error({ err: err.message, context }, 'read-only error'),
            },
          })
        : undefined;
    // frames above the wire limit are still read (and answered with TOO_LARGE) up to 2x the limit
    this.server = new FrameServer({ host: o.listen?.host ?? '127.0.0.1', port: o.listen?.port ?? 0, maxFrameBytes: this.limits.maxFrameBytes * 2 });
    this.metrics.registerFrameServerStats(() => this.server.stats());
  }

  async start(): Promise<void> {
    this.o.network.on('message', this.onPeer);
    if (this.o.startNetwork ?? true) await this.o.network.start();
    this.server.on('connection', (conn: ServerConnection) => {
      conn.on('frame', (payload: Buffer) => {
        try {
          this.handleClientFrame(conn, payload);
        } catch (e) {
          // never let a client frame take the replica down
          this.metrics.framesRejected.inc({ reason: 'internal-error' });
          this.log.error({ err: (e as Error).message, conn: conn.id }, 'client frame handling failed');
        }
      });
      conn.on('close', () => this.waiters.dropConnection(conn.id));
    });
    this.server.on('error', (err: Error) => this.log.error({ err: err.message }, 'client endpoint error'));
    const port = await this.server.listen();
    this.address = { host: this.o.listen?.host ?? '127.0.0.1', port };
    this.o.adapter.onEvent?.((e) => this.onAdapterEvent(e));
    await this.o.adapter.start(this.proxy);
    if (this.o.metrics) {
      const host = this.o.metrics.host ?? '127.0.0.1';
      const served = await serveMetrics(this.metrics.registry, host, this.o.metrics.port ?? 0);
      this.metricsServer = served.server;
      this.metricsAddress = { host, port: served.port };
    }
    const ttl = this.t.waiterTtlMs ?? 60_000;
    this.sweeper = setInterval(() => this.waiters.sweep(ttl), Math.max(100, Math.floor(ttl / 2)));
    this.sweeper.unref();
    this.log.info({ address: this.address, protocol: this.o.adapter.protocol }, 'CART replica started');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.exchange.close();
    this.readOnly?.close();
    this.o.network.off('message', this.onPeer);
    const tasks: Promise<unknown>[] = [this.server.close(), this.o.adapter.stop()];
    if (this.o.startNetwork ?? true) tasks.push(this.o.network.close());
    if (this.metricsServer) {
      const s = this.metricsServer;
      tasks.push(new Promise<void>((resolve) => s.close(() => resolve())));
      s.closeAllConnections?.();
    }
    await Promise.allSettled(tasks);
    this.log.info('CART replica stopped');
  }

  // ---------------------------------------------------------------- client side

  /** Send an Error frame; `sequence` (default: last executed sequence) is the freshness hint. */
  private sendError(conn: ServerConnection, requestId: bigint, code: ErrorCodeValue, message: string, sequence = this.proxy.lastSequence): void {
    try {
      conn.send(encodeReplicaFrame({ type: 'error', error: { requestId, code, message: message.slice(0, 512), supportedVersion: PROTOCOL_VERSION, sequence } }));
    } catch {
      /* connection closed or frame refused: nothing else to do */
    }
  }

  private handleClientFrame(conn: ServerConnection, payload: Uint8Array): void {
    if (this.closed) return;
    let req: CartRequest;
    try {
      req = decodeClientFrame(payload, this.limits);
    } catch (e) {
      const err = e instanceof WireError ? e : new WireError('malformed', String(e));
      this.metrics.framesRejected.inc({ reason: err.reason });
      this.log.debug({ conn: conn.id, reason: err.reason }, 'client frame rejected');
      this.sendError(conn, 0n, errorCodeOf(err), err.message);
      return;
    }
    const clientId = this.verifier.clientId(req);
    if (!this.verifier.verify(req, clientId)) {
      this.metrics.requests.inc({ outcome: 'bad-signature' });
      this.sendError(conn, req.requestId, ErrorCode.BAD_SIGNATURE, 'request signature does not verify');
      return;
    }
    const clientHex = toHex(clientId);
    if (req.readOnly) {
      if (!this.orderReadOnly()) {
        this.handleReadOnly(conn, req, clientId, clientHex);
        return;
      }
      // busy: the read rides in an ordered batch with the writes (answered under 'ordered')
      this.metrics.readOnlyOrdered.inc();
    }
    const key = `${clientHex}:${req.requestId}`;
    const cached = this.proxy.lookup(clientHex, req.requestId);
    if (cached === 'stale') {
      this.metrics.requests.inc({ outcome: 'stale' });
      this.sendError(conn, req.requestId, ErrorCode.STALE_REQUEST, 'request id below the deduplication window');
      return;
    }
    // (an ordered read touches no deduplication state: no freshness gate)
    if (!cached && !req.readOnly && !this.proxy.knowsClient(clientHex) && this.freshnessRefused(req)) {
      // a client this replica does not remember is executed only with a fresh `fresh`; answer
      // one that is certainly stale (every later execution sequence is >= lastSequence), or far
      // ahead of this replica, with our sequence as a hint instead of ordering it
      const last = this.proxy.lastSequence;
      this.metrics.requests.inc({ outcome: 'stale-freshness' });
      this.sendError(conn, req.requestId, ErrorCode.STALE_FRESHNESS, `freshness sequence ${req.fresh ?? 0n} outside [${last} - H, ${last}]; re-sign with the hinted sequence`);
      return;
    }
    const found = cached ? this.exchange.findReply(cached.sequence, clientHex, req.requestId) : undefined;
    if (cached && !found && cached.result === undefined) {
      this.metrics.requests.inc({ outcome: 'result-unavailable' });
      this.sendError(conn, req.requestId, ErrorCode.RESULT_UNAVAILABLE, 'request was executed; its cached result is no longer available');
      return;
    }
    if (!this.waiters.add(key, conn)) {
      this.metrics.requests.inc({ outcome: 'overloaded' });
      this.sendError(conn, req.requestId, ErrorCode.OVERLOADED, 'too many waiting requests');
      return;
    }
    if (cached) {
      if (found) {
        this.metrics.requests.inc({ outcome: 'cached' });
        this.exchange.want(found.batch);
        return;
      }
      // executed, but its batch is no longer retained: order it again; the proxy answers the
      // duplicate from the deduplication table in a fresh batch (never executes it twice)
      this.metrics.requests.inc({ outcome: 'reordered' });
    } else {
      this.metrics.requests.inc({ outcome: 'accepted' });
    }
    this.submit(key, req);
    if (req.readOnly) this.hedgeOrderedRead(key, conn, req, clientId, clientHex);
  }

  /**
   * An ordered read not answered within `readOnlyBusyProgressMs` (ordering stalled after it was
   * submitted, e.g. the primary just failed) is started on the read-only path too; the client
   * takes whichever verified reply comes first (the other is a benign late duplicate).
   */
  private hedgeOrderedRead(key: string, conn: ServerConnection, req: CartRequest, clientId: Uint8Array, clientHex: string): void {
    const timer = setTimeout(() => {
      if (!this.closed && this.waiters.has(key)) this.handleReadOnly(conn, req, clientId, clientHex);
    }, this.t.readOnlyBusyProgressMs ?? 250);
    timer.unref();
  }

  /**
   * `req.fresh` is certainly stale (every later execution sequence is >= lastSequence) or far
   * ahead of this replica: a client not in the deduplication table would be refused in order.
   */
  private freshnessRefused(req: CartRequest): boolean {
    const last = this.proxy.lastSequence;
    const fresh = req.fresh ?? 0n;
    return fresh + this.proxy.freshnessHorizon < last || fresh > last + (this.t.freshnessSlack ?? 10_000n);
  }

  /**
   * Order this read-only request instead of a read-only batch: at least `readOnlyBusyThreshold`
   * ordered requests are in flight and ordering is making progress (a batch executed here within
   * `readOnlyBusyProgressMs`; during a view change reads take the read-only path, which 2f+1
   * live replicas answer at once).
   */
  private orderReadOnly(): boolean {
    const threshold = this.t.readOnlyBusyThreshold ?? 1;
    if (this.readOnly === undefined || threshold <= 0 || this.inflight.size < threshold) return false;
    return this.now() - this.lastExecutedAt < (this.t.readOnlyBusyProgressMs ?? 250);
  }

  private handleReadOnly(conn: ServerConnection, req: CartRequest, clientId: Uint8Array, clientHex: string): void {
    const key = readOnlyKey(clientHex, req.requestId);
    if (!this.readOnly) {
      this.metrics.requests.inc({ outcome: 'read-only-disabled' });
      this.sendError(conn, req.requestId, ErrorCode.READ_ONLY_FAILED, 'read-only path disabled; invoke ordered');
      return;
    }
    if (!this.waiters.add(key, conn)) {
      this.metrics.requests.inc({ outcome: 'overloaded' });
      this.sendError(conn, req.requestId, ErrorCode.OVERLOADED, 'too many waiting requests');
      return;
    }
    const started = this.readOnly.start(req, clientId);
    this.metrics.requests.inc({ outcome: `read-only-${started}` });
    if (started !== 'started') {
      this.waiters.take(key);
      this.sendError(conn, req.requestId, ErrorCode.READ_ONLY_FAILED, started === 'busy' ? 'too many read-only requests' : 'operation is not read-only; invoke ordered');
    }
  }

  private failReadOnly(key: string): void {
    const requestId = BigInt(key.slice(key.lastIndexOf(':') + 1));
    for (const conn of this.waiters.take(key)) this.sendError(conn, requestId, ErrorCode.READ_ONLY_FAILED, 'no 2f+1 matching read-only results in time; invoke ordered');
  }

  /** Send a signed reply to every waiter of `key` and forget them. */
  private sendReply(key: string, reply: CartReply): void {
    if (!this.waiters.has(key) || this.closed) return;
    let frame: Uint8Array;
    try {
      frame = encodeReplicaFrame({ type: 'reply', reply });
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'cannot encode reply');
      return;
    }
    for (const conn of this.waiters.take(key)) {
      try {
        if (conn.send(frame)) this.metrics.repliesSent.inc();
      } catch {
        /* oversize or closed: the client retransmits elsewhere */
      }
    }
  }

  private submit(key: string, req: CartRequest): void {
    // a re-signed retry (same id, newer `fresh`) is a different frame: submit it too
    const ik = `${key}:${req.fresh ?? 0n}`;
    if (this.inflight.has(ik)) return;
    // remember in-flight submissions to avoid resubmitting retransmissions (bounded)
    if (this.inflight.size < (this.t.maxWaiting ?? 100_000)) this.inflight.add(ik);
    this.o.adapter.submit(encodeClientFrame(req)).then(
      () => this.inflight.delete(ik),
      (err: Error) => {
        this.inflight.delete(ik);
        if (this.closed) return;
        this.log.warn({ err: err.message }, 'adapter refused a request');
        for (const conn of this.waiters.take(key)) this.sendError(conn, req.requestId, ErrorCode.UNAVAILABLE, 'replica cannot order requests now');
      },
    );
  }

  // ---------------------------------------------------------------- ordered execution

  /**
   * An ordered request was deterministically refused (no leaf): tell its waiting clients, with
   * the batch sequence as freshness hint. Unsigned: the client treats it as a hint only.
   */
  private onOrderedRejection(reason: OrderedRejectReason, request: OrderedRejection): void {
    const code =
      reason === 'stale-freshness' ? ErrorCode.STALE_FRESHNESS : reason === 'busy' ? ErrorCode.BUSY : reason === 'result-unavailable' ? ErrorCode.RESULT_UNAVAILABLE : reason === 'stale' ? ErrorCode.STALE_REQUEST : reason === 'read-only' ? ErrorCode.READ_ONLY_FAILED : undefined;
    if (code === undefined || this.closed) return;
    const key = `${request.clientHex}:${request.requestId}`;
    if (!this.waiters.has(key)) return;
    for (const conn of this.waiters.take(key)) this.sendError(conn, request.requestId, code, `ordered request refused at sequence ${request.sequence}: ${reason}`, request.sequence);
  }

  private onExecuted(batch: ExecutedBatch): void {
    this.metrics.batchesExecuted.inc();
    this.lastExecutedAt = this.now();
    // runs inside the adapter's executeBatch call: must never throw into the protocol
    try {
      for (const unit of this.exchange.onExecuted(batch)) {
        if (unit.replies.some((r) => this.waiters.has(`${r.clientHex}:${r.requestId}`))) this.exchange.want(unit);
      }
    } catch (e) {
      this.log.error({ err: (e as Error).message, sequence: batch.sequence.toString() }, 'signing an executed batch failed');
    }
  }

  private onReady(batch: SignedBatch): void {
    if (this.closed || !batch.signature) return;
    const lying = this.t.byzantine?.wrongResults === true;
    batch.replies.forEach((r, i) => {
      const key = `${r.clientHex}:${r.requestId}`;
      if (!this.waiters.has(key)) return;
      this.sendReply(key, {
        requestId: r.requestId,
        clientId: r.clientId,
        result: lying ? corrupt(r.result) : r.result,
        keySet: batch.keySet,
        sequence: batch.sequence,
        root: batch.root,
        leafIndex: i,
        leafCount: batch.leaves.length,
        proof: this.exchange.proof(batch, i),
        groupSignature: batch.signature!,
        replica: this.index,
        preferredContact: this.preferredContact,
      });
    });
  }

  private onAdapterEvent(e: AdapterEvent): void {
    switch (e.kind) {
      case 'view-change':
        this.metrics.viewChanges.inc();
        this.metrics.view.set(Number(e.view));
        this.log.info({ view: e.view.toString() }, 'view change');
        break;
      case 'state-transfer':
        this.metrics.stateTransfers.inc();
        this.log.info({ sequence: e.sequence.toString() }, 'state transfer');
        break;
      case 'leader':
        this.log.info({ leader: e.leader }, 'leader');
        // adapters number replicas 0..n-1; CART indices are 1..n
        if (this.t.contactHints !== false && Number.isInteger(e.leader) && e.leader >= 0 && e.leader < this.o.network.n) this.preferredContact = e.leader + 1;
        break;
      case 'error':
        this.log.error({ err: e.error.message }, 'adapter error');
        break;
    }
  }

  // ---------------------------------------------------------------- replica mesh

  private broadcast(msg: PeerMessage): void {
    if (this.closed) return;
    this.o.network.broadcast(encodePeerFrame(msg));
  }

  private send(to: number, msg: PeerMessage): void {
    if (this.closed) return;
    this.o.network.send(to - 1, encodePeerFrame(msg));
  }

  private handlePeer(from: number, bytes: Uint8Array): void {
    if (this.closed) return;
    if (!Number.isInteger(from) || from < 0 || from >= this.o.network.n || from === this.o.network.self) return;
    let msg: PeerMessage;
    try {
      msg = decodePeerFrame(bytes, this.limits);
    } catch (e) {
      const reason = e instanceof WireError ? e.reason : 'malformed';
      this.metrics.peerFramesRejected.inc({ reason });
      return;
    }
    try {
      if (msg.type === 'read-only-batch' || msg.type === 'read-only-batch-share') {
        if (this.readOnly) this.readOnly.onPeerMessage(from + 1, msg);
        else this.metrics.peerFramesRejected.inc({ reason: 'read-only-disabled' });
        return;
      }
      this.exchange.onPeerMessage(from + 1, msg);
    } catch (e) {
      this.log.error({ err: (e as Error).message, from }, 'peer message handling failed');
    }
  }
}
