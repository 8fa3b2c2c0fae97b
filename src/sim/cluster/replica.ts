/**
 * One simulated CART replica: the built-in PBFT core, the adapter's native PBFT client (CART's
 * "BFT client handler"), CART's application proxy over the KV store, the share exchange
 * (signer + aggregator) and the client front end, all on the simulated network and clock.
 *
 * The PBFT core, {@link CartApplicationProxy} and {@link ShareExchange} are the production
 * classes. The front end mirrors `src/replica/server.ts` (decode, verify the client signature,
 * answer from the reply cache or submit, reply once the group signature is ready; contact hints
 * naming the PBFT primary, a busy contact ordering reads with the writes), because the
 * production replica binds a TCP endpoint and has no injectable client endpoint yet.
 *
 * Byzantine behaviour is injected here (front end, share exchange switches) and in the
 * simulator's network interceptor (silence, equivocation).
 */
import type { PbftConfig, ReplicaOutput } from '../../consensus/pbft/api.ts';
import { SimAuthenticator } from '../../consensus/pbft/auth.ts';
import { PbftClientCore } from '../../consensus/pbft/client-core.ts';
import { PbftReplica } from '../../consensus/pbft/replica.ts';
import type { CryptoService, KeyShare, PublicKeySet } from '../../crypto/types.ts';
import { KvStore, decodeKvResult, encodeKvResult, kvRecordFromStrings, type KvResult } from '../../apps/kv.ts';
import type { Application } from '../../apps/application.ts';
import { CartApplicationProxy, type ExecutedBatch } from '../../replica/app-proxy.ts';
import { RequestVerifier } from '../../replica/request-verifier.ts';
import { ShareExchange, type ByzantineOptions, type SignedBatch } from '../../replica/share-exchange.ts';
import { ReadOnlyCoordinator, readOnlyKey } from '../../replica/read-only.ts';
import { DEFAULT_WIRE_LIMITS, ErrorCode, PROTOCOL_VERSION, decodeClientFrame, decodePeerFrame, encodeClientFrame, encodePeerFrame, encodeReplicaFrame, type CartReply, type CartRequest, type ErrorCodeValue, type PeerMessage } from '../../wire/codec.ts';
import { toHex } from '../../wire/digest.ts';
import type { SimNetwork } from '../network.ts';
import type { Scheduler } from '../scheduler.ts';
import type { ByzantineMode } from './types.ts';

/** Channels multiplexed over one simulated network. */
export type Channel = 'pbft' | 'pbft-reply' | 'peer' | 'client' | 'reply';

/** A message on the simulated network. */
export interface SimMsg {
  readonly ch: Channel;
  readonly bytes: Uint8Array;
}

/** Node id of replica r's native PBFT client (the adapter's submit path). */
export const ADAPTER_BASE = 100;
/** Node id of CART client c. */
export const CLIENT_BASE = 1000;

/** Dependencies of a {@link SimCartReplica}. */
export interface SimReplicaDeps {
  readonly id: number;
  readonly n: number;
  readonly f: number;
  readonly config: PbftConfig;
  readonly keySet: PublicKeySet;
  readonly keyShare: KeyShare;
  /** The 'readonly' key set (t = 2f+1) and this replica's share: enables the read-only path. */
  readonly readOnlyKeys?: { readonly keySet: PublicKeySet; readonly keyShare: KeyShare };
  readonly crypto: CryptoService;
  readonly net: SimNetwork<SimMsg>;
  readonly scheduler: Scheduler;
  readonly authSeed: string;
  /** Timer rate (clock skew): timers fire after afterMs · skew. */
  readonly skew: number;
  /** Incarnation (restart count), makes the adapter client id fresh after a restart. */
  readonly incarnation: number;
  readonly byzantine: ByzantineMode | undefined;
  /** Called with every batch the PBFT core delivered, with CART's results (oracles). */
  readonly onDelivered: (replica: number, sequence: bigint, requests: readonly Uint8Array[], results: readonly Uint8Array[]) => void;
  readonly onEvent: (replica: number, what: string) => void;
  /** Executed batches retained by the share exchange (memory bound). */
  readonly maxBatches: number;
}

/**
 * The signature units the share exchange returns: one batch (one signature per batch) or, since
 * per-reply signatures became switchable, a list. Accepts both shapes.
 */
function units(x: unknown): SignedBatch[] {
  if (x === undefined || x === null) return [];
  return Array.isArray(x) ? (x as SignedBatch[]) : [x as SignedBatch];
}

const corrupt = (b: Uint8Array): Uint8Array => {
  const out = Uint8Array.from(b.length ? b : [0]);
  out[out.length - 1] = (out[out.length - 1]! ^ 0x01) & 0xff;
  return out;
};

/** See the module comment. */
export class SimCartReplica {
  readonly core: PbftReplica;
  readonly proxy: CartApplicationProxy;
  readonly exchange: ShareExchange;
  private readonly readOnly: ReadOnlyCoordinator | undefined;
  private readonly client: PbftClientCore;
  private readonly verifier = new RequestVerifier();
  private readonly timers = new Map<string, number>();
  private readonly clientTimers = new Map<bigint, number>();
  /** request key → client node ids waiting for the reply. */
  private readonly waiters = new Map<string, Set<number>>();
  private readonly inflight = new Map<bigint, string>();
  private readonly inflightKeys = new Set<string>();
  /** CART index (1..n) replies name as preferred contact: the PBFT primary's (docs/protocol.md §4.6). */
  private preferredContact = 1;
  /** Virtual time of the last executed batch (busy reads need ordering to progress). */
  private lastExecutedAt = Number.NEGATIVE_INFINITY;
  private readonly backlog: Array<{ key: string; frame: Uint8Array }> = [];
  /** Last reply frame sent per client node (for `replay-old-reply`). */
  private readonly lastReply = new Map<number, CartReply>();
  private stopped = false;

  constructor(private readonly d: SimReplicaDeps) {
    const byz: ByzantineOptions = {
      badShares: d.byzantine === 'bad-shares',
      wrongResults: d.byzantine === 'other-result-share',
      forgeShareIndex: d.byzantine === 'forged-share-index',
    };
    const store = new KvStore();
    const application = d.byzantine === 'wrong-execution' ? new WrongExecution(store) : store;
    this.proxy = new CartApplicationProxy(application, {
      onExecuted: (b) => this.onExecuted(b),
      // mirrors server.ts onOrderedRejection: tell waiting clients, batch sequence as hint
      onRejected: (reason, r) => {
        const code = { 'stale-freshness': ErrorCode.STALE_FRESHNESS, busy: ErrorCode.BUSY, 'result-unavailable': ErrorCode.RESULT_UNAVAILABLE, stale: ErrorCode.STALE_REQUEST, 'read-only': ErrorCode.READ_ONLY_FAILED }[reason as string];
        const ws = r && code !== undefined ? this.waiters.get(`${r.clientHex}:${r.requestId}`) : undefined;
        if (!r || code === undefined || !ws) return;
        this.waiters.delete(`${r.clientHex}:${r.requestId}`);
        for (const node of ws) this.sendError(node, r.requestId, code, `ordered request refused: ${reason}`, r.sequence);
      },
      onRestored: (seq) => d.onEvent(d.id, `state restored at seq ${seq}`),
    });
    this.exchange = new ShareExchange({
      index: d.id + 1,
      keySet: d.keySet,
      keyShare: d.keyShare,
      crypto: d.crypto,
      maxBatches: d.maxBatches,
      byzantine: byz,
      broadcast: (msg) => this.broadcastPeer(msg),
      send: (to, msg) => this.sendPeer(to - 1, msg),
      onReady: (b) => this.onReady(b),
    });
    this.readOnly = d.readOnlyKeys
      ? new ReadOnlyCoordinator({
          index: d.id + 1,
          keySet: d.readOnlyKeys.keySet,
          keyShare: d.readOnlyKeys.keyShare,
          crypto: d.crypto,
          application,
          verifier: this.verifier,
          limits: DEFAULT_WIRE_LIMITS,
          timeoutMs: 1000,
          byzantine: byz,
          send: (to, msg) => this.sendPeer(to - 1, msg),
          broadcast: (msg) => this.broadcastPeer(msg),
          onReply: (key, reply) => this.sendReply(key, { ...reply, replica: d.id + 1 }),
          onFail: (key) => this.failReadOnly(key),
        })
      : undefined;
    const app = {
      executeBatch: (sequence: bigint, requests: readonly Uint8Array[]): Uint8Array[] => {
        const results = this.proxy.executeBatch({ sequence, requests });
        d.onDelivered(d.id, sequence, requests, results);
        return results;
      },
      snapshot: (): Uint8Array => this.proxy.snapshot(),
      restore: (snapshot: Uint8Array, sequence: bigint): void => this.proxy.restore(snapshot, sequence),
    };
    this.core = new PbftReplica(d.id, d.config, app, new SimAuthenticator(d.authSeed, d.id, d.n), {
      onDrop: (reason, detail) => {
        if (reason === 'internal-error') d.onEvent(d.id, `PBFT internal error: ${detail}`);
      },
    });
    const clientId = `cart/${d.id}/${d.incarnation}`;
    const verify = new SimAuthenticator(d.authSeed, 0, d.n);
    this.client = new PbftClientCore(
      clientId,
      { n: d.n, f: d.f, retransmitTimeoutMs: d.config.requestTimeoutMs * 2, clientWindow: d.config.clientWindow },
      SimAuthenticator.clientSigner(d.authSeed, clientId),
      (replica, bytes, sig) => verify.verify(replica, bytes, sig),
    );
  }

  /** Boot: arm the core's timers (a restarted replica asks its peers for state). */
  start(): void {
    this.perform(this.core.start());
  }

  /** Crash: stop all timers and ignore everything from now on. */
  stop(): void {
    this.stopped = true;
    for (const h of this.timers.values()) this.d.scheduler.cancel({ id: h });
    for (const h of this.clientTimers.values()) this.d.scheduler.cancel({ id: h });
    this.timers.clear();
    this.clientTimers.clear();
    this.exchange.close();
    this.readOnly?.close();
  }

  /** Deliver a message addressed to replica node `id`. */
  deliver(from: number, msg: SimMsg): void {
    if (this.stopped) return;
    if (msg.ch === 'pbft') {
      if (from < this.d.n) this.perform(this.core.handle({ kind: 'message', from, bytes: msg.bytes }));
      else this.perform(this.core.handle({ kind: 'request', bytes: msg.bytes }));
    } else if (msg.ch === 'peer' && from < this.d.n) {
      let pm: PeerMessage;
      try {
        pm = decodePeerFrame(msg.bytes);
      } catch {
        return; // counted as a rejected peer frame in production; dropped here
      }
      if (pm.type === 'read-only-batch' || pm.type === 'read-only-batch-share') this.readOnly?.onPeerMessage(from + 1, pm);
      else this.exchange.onPeerMessage(from + 1, pm);
    } else if (msg.ch === 'client' && from >= CLIENT_BASE) {
      this.onClientFrame(from, msg.bytes);
    }
  }

  /** Deliver a message addressed to this replica's adapter client node. */
  deliverToAdapter(from: number, msg: SimMsg): void {
    if (this.stopped || msg.ch !== 'pbft-reply' || from >= this.d.n) return;
    this.performClient(this.client.handle({ kind: 'reply', from, bytes: msg.bytes }));
  }

  /** Sizes of the replica's bounded structures (memory oracle). */
  sizes(): { waiters: number; inflight: number; backlog: number; pbftLog: number; pbftPending: number } {
    const m = this.core.metrics();
    return { waiters: this.waiters.size, inflight: this.inflight.size, backlog: this.backlog.length, pbftLog: m.logEntries, pbftPending: m.pendingRequests };
  }

  // ------------------------------------------------------------ PBFT core and adapter client

  private setTimer(map: Map<string | bigint, number>, name: string | bigint, afterMs: number, fire: () => void): void {
    const old = map.get(name);
    if (old !== undefined) this.d.scheduler.cancel({ id: old });
    const h = this.d.scheduler.after(Math.max(1, Math.round(afterMs * this.d.skew)), () => {
      map.delete(name);
      if (!this.stopped) fire();
    });
    map.set(name, h.id);
  }

  private perform(outs: readonly ReplicaOutput[]): void {
    for (const o of outs) {
      switch (o.kind) {
        case 'send':
          if (o.to === 'all') {
            for (let j = 0; j < this.d.n; j++) if (j !== this.d.id) this.d.net.send(this.d.id, j, { ch: 'pbft', bytes: o.bytes });
          } else this.d.net.send(this.d.id, o.to, { ch: 'pbft', bytes: o.bytes });
          break;
        case 'reply': {
          const m = /^cart\/(\d+)\//.exec(o.clientId);
          if (m) this.d.net.send(this.d.id, ADAPTER_BASE + Number(m[1]), { ch: 'pbft-reply', bytes: o.bytes });
          break;
        }
        case 'set-timer':
          this.setTimer(this.timers as Map<string | bigint, number>, o.timer, o.afterMs, () => this.perform(this.core.handle({ kind: 'timer', timer: o.timer })));
          break;
        case 'cancel-timer': {
          const h = this.timers.get(o.timer);
          if (h !== undefined) this.d.scheduler.cancel({ id: h });
          this.timers.delete(o.timer);
          break;
        }
        case 'view-change':
          this.d.onEvent(this.d.id, `view ${o.view}`);
          this.preferredContact = Number(o.view % BigInt(this.d.n)) + 1;
          break;
        case 'state-transfer':
          this.d.onEvent(this.d.id, `state transfer to seq ${o.sequence}`);
          break;
        default:
          break;
      }
    }
  }

  private performClient(outs: ReturnType<PbftClientCore['handle']>): void {
    const node = ADAPTER_BASE + this.d.id;
    for (const o of outs) {
      switch (o.kind) {
        case 'send':
          if (o.to === 'all') for (let j = 0; j < this.d.n; j++) this.d.net.send(node, j, { ch: 'pbft', bytes: o.bytes });
          else this.d.net.send(node, o.to, { ch: 'pbft', bytes: o.bytes });
          break;
        case 'set-timer':
          this.setTimer(this.clientTimers as Map<string | bigint, number>, o.requestId, o.afterMs, () => this.performClient(this.client.handle({ kind: 'timer', requestId: o.requestId })));
          break;
        case 'cancel-timer': {
          const h = this.clientTimers.get(o.requestId);
          if (h !== undefined) this.d.scheduler.cancel({ id: h });
          this.clientTimers.delete(o.requestId);
          break;
        }
        case 'complete': {
          const key = this.inflight.get(o.requestId);
          this.inflight.delete(o.requestId);
          if (key !== undefined) this.inflightKeys.delete(key);
          this.pump();
          break;
        }
      }
    }
  }

  /** Submit queued requests while the adapter client's window allows. */
  private pump(): void {
    while (this.backlog.length > 0 && this.client.canSubmit()) {
      const { key, frame } = this.backlog.shift()!;
      const { requestId, outputs } = this.client.submit(frame);
      this.inflight.set(requestId, key);
      this.performClient(outputs);
    }
  }

  // ------------------------------------------------------------ CART front end

  private sendError(node: number, requestId: bigint, code: ErrorCodeValue, message: string, sequence = this.proxy.lastSequence): void {
    this.d.net.send(this.d.id, node, { ch: 'reply', bytes: encodeReplicaFrame({ type: 'error', error: { requestId, code, message, supportedVersion: PROTOCOL_VERSION, sequence } }) });
  }

  private onClientFrame(node: number, bytes: Uint8Array): void {
    let req: CartRequest;
    try {
      req = decodeClientFrame(bytes);
    } catch {
      this.sendError(node, 0n, ErrorCode.MALFORMED, 'malformed frame');
      return;
    }
    const clientId = this.verifier.clientId(req);
    if (!this.verifier.verify(req, clientId)) {
      this.sendError(node, req.requestId, ErrorCode.BAD_SIGNATURE, 'request signature does not verify');
      return;
    }
    if (this.d.byzantine === 'replay-old-reply') {
      const old = this.lastReply.get(node);
      if (old && old.requestId !== req.requestId) {
        // The stale reply as is, and relabelled with the new request id.
        this.d.net.send(this.d.id, node, { ch: 'reply', bytes: encodeReplicaFrame({ type: 'reply', reply: old }) });
        this.d.net.send(this.d.id, node, { ch: 'reply', bytes: encodeReplicaFrame({ type: 'reply', reply: { ...old, requestId: req.requestId } }) });
      }
    }
    const clientHex = toHex(clientId);
    // a busy contact (ordered requests in flight, ordering progressing) orders reads with the
    // writes (server.ts orderReadOnly)
    const busy = this.readOnly !== undefined && this.inflightKeys.size + this.backlog.length >= 1 && this.d.scheduler.now - this.lastExecutedAt < 250;
    if (req.readOnly && !busy) {
      this.onReadOnly(node, req, clientId, clientHex);
      return;
    }
    const key = `${clientHex}:${req.requestId}`;
    const cached = this.proxy.lookup(clientHex, req.requestId);
    if (cached === 'stale') {
      this.sendError(node, req.requestId, ErrorCode.STALE_REQUEST, 'request id below the deduplication window');
      return;
    }
    // freshness pre-check for clients this replica does not hold (mirrors server.ts)
    const fresh = req.fresh ?? 0n;
    if (!cached && !req.readOnly && !this.proxy.knowsClient(clientHex) && this.freshnessRefused(fresh)) {
      this.sendError(node, req.requestId, ErrorCode.STALE_FRESHNESS, 'freshness sequence outside the horizon');
      return;
    }
    let ws = this.waiters.get(key);
    if (!ws) this.waiters.set(key, (ws = new Set()));
    ws.add(node);
    if (cached) {
      for (const unit of units(this.exchange.batch(cached.sequence))) {
        if (unit.replies.some((r) => r.clientHex === clientHex && r.requestId === req.requestId)) {
          this.exchange.want(unit);
          return;
        }
      }
    }
    if (cached && cached.result === undefined) {
      ws.delete(node);
      if (ws.size === 0) this.waiters.delete(key);
      this.sendError(node, req.requestId, ErrorCode.RESULT_UNAVAILABLE, 'cached result no longer available');
      return;
    }
    // a re-signed retry (same id, newer fresh) is a different frame
    const ik = `${key}:${fresh}`;
    if (this.inflightKeys.has(ik)) return;
    this.inflightKeys.add(ik);
    this.backlog.push({ key: ik, frame: encodeClientFrame(req) });
    this.pump();
    // an ordered read unanswered after 250 ms is started on the read-only path too (server.ts hedgeOrderedRead)
    if (req.readOnly) this.d.scheduler.after(250, () => {
      if (!this.stopped && this.waiters.has(key)) this.onReadOnly(node, req, clientId, clientHex);
    });
  }

  /** Mirrors `server.ts` freshnessRefused (slack 10 000). */
  private freshnessRefused(fresh: bigint): boolean {
    const last = this.proxy.lastSequence;
    return fresh + this.proxy.freshnessHorizon < last || fresh > last + 10_000n;
  }

  /** Read-only path (mirrors `server.ts` handleReadOnly): unordered, 'readonly' key set, t = 2f+1. */
  private onReadOnly(node: number, req: CartRequest, clientId: Uint8Array, clientHex: string): void {
    const key = readOnlyKey(clientHex, req.requestId);
    if (!this.readOnly) {
      this.sendError(node, req.requestId, ErrorCode.READ_ONLY_FAILED, 'read-only path disabled; invoke ordered');
      return;
    }
    let ws = this.waiters.get(key);
    if (!ws) this.waiters.set(key, (ws = new Set()));
    ws.add(node);
    const started = this.readOnly.start(req, clientId);
    if (started !== 'started') {
      this.waiters.delete(key);
      this.sendError(node, req.requestId, ErrorCode.READ_ONLY_FAILED, `read-only ${started}; invoke ordered`);
    }
  }

  private failReadOnly(key: string): void {
    const ws = this.waiters.get(key);
    if (!ws || this.stopped) return;
    const requestId = BigInt(key.slice(key.lastIndexOf(':') + 1));
    for (const node of ws) this.sendError(node, requestId, ErrorCode.READ_ONLY_FAILED, 'no 2f+1 matching read-only results in time; invoke ordered');
    this.waiters.delete(key);
  }

  /** Send a signed reply (ordered or read-only) to every waiter of `key`, with Byzantine tampering. */
  private sendReply(key: string, reply: CartReply): void {
    const ws = this.waiters.get(key);
    if (!ws || this.stopped) return;
    // contact hint: the primary's replica; a Byzantine replica lures clients to itself
    reply = { ...reply, preferredContact: this.d.byzantine ? this.d.id + 1 : this.preferredContact };
    if (this.d.byzantine === 'wrong-results') reply = { ...reply, result: corrupt(reply.result) };
    if (this.d.byzantine === 'bad-group-signature') reply = { ...reply, groupSignature: corrupt(reply.groupSignature) };
    const frame = encodeReplicaFrame({ type: 'reply', reply });
    for (const node of ws) {
      this.lastReply.set(node, reply);
      this.d.net.send(this.d.id, node, { ch: 'reply', bytes: frame });
    }
    this.waiters.delete(key);
  }

  private onExecuted(batch: ExecutedBatch): void {
    this.lastExecutedAt = this.d.scheduler.now;
    for (const unit of units(this.exchange.onExecuted(batch))) {
      if (unit.replies.some((r) => this.waiters.has(`${r.clientHex}:${r.requestId}`))) this.exchange.want(unit);
    }
  }

  private onReady(batch: SignedBatch): void {
    if (this.stopped || !batch.signature) return;
    batch.replies.forEach((r, i) => {
      const key = `${r.clientHex}:${r.requestId}`;
      if (!this.waiters.has(key)) return;
      this.sendReply(key, {
        requestId: r.requestId,
        clientId: r.clientId,
        result: r.result,
        keySet: batch.keySet,
        sequence: batch.sequence,
        root: batch.root,
        leafIndex: i,
        leafCount: batch.leaves.length,
        proof: this.exchange.proof(batch, i),
        groupSignature: batch.signature!,
        replica: this.d.id + 1,
      });
    });
  }

  private broadcastPeer(msg: PeerMessage): void {
    if (this.stopped) return;
    const bytes = encodePeerFrame(msg);
    for (let j = 0; j < this.d.n; j++) if (j !== this.d.id) this.d.net.send(this.d.id, j, { ch: 'peer', bytes });
  }

  private sendPeer(to: number, msg: PeerMessage): void {
    if (this.stopped) return;
    this.d.net.send(this.d.id, to, { ch: 'peer', bytes: encodePeerFrame(msg) });
  }
}

/** A state machine that executes correctly but reports wrong, well-formed results (`wrong-execution`). */
class WrongExecution implements Application {
  readonly name = 'kv';
  constructor(private readonly inner: KvStore) {}
  execute(operation: Uint8Array): Uint8Array {
    return this.forge(this.inner.execute(operation));
  }
  private forge(out: Uint8Array): Uint8Array {
    let r: KvResult;
    try {
      r = decodeKvResult(out);
    } catch {
      return out;
    }
    const forged: KvResult =
      r.type === 'record' ? { type: 'record', record: kvRecordFromStrings({ f0: 'forged' }) }
      : r.type === 'records' ? { type: 'records', records: [] }
      : r.type === 'ok' ? { type: 'notFound' }
      : r.type === 'notFound' ? { type: 'ok' }
      : r;
    return encodeKvResult(forged);
  }
  executeReadOnly(operation: Uint8Array): Uint8Array | undefined {
    const out = this.inner.executeReadOnly(operation);
    return out === undefined ? undefined : this.forge(out);
  }
  snapshot(): Uint8Array {
    return this.inner.snapshot();
  }
  restore(snapshot: Uint8Array): void {
    this.inner.restore(snapshot);
  }
}
