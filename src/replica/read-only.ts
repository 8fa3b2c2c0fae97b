/**
 * Read-only path (issue 5), batched: a read-only request is executed without ordering at every
 * replica and answered under the separate key set 'readonly' with threshold t = 2f+1 (n − f), so
 * no minority of up to f replicas — stale or Byzantine — can produce a valid reply.
 *
 * **Batching.** The contact replica collects the read-only requests its clients send into a
 * batch (adaptive, like PBFT's batching: a batch leaves at once while fewer than
 * `maxInFlightBatches` are out; otherwise requests wait for one to finish, so batches grow with
 * load) and relays the batch to all replicas. Every replica executes the k requests in batch
 * order against its current state, builds the Merkle tree over the k reply digests and signs ONE
 * share over `batchRootMessage('readonly', 0, root, k)` (domain 'readonly-reply'). The contact
 * groups the answers by root (different results never mix), combines t shares of one root
 * tentatively (bad shares found and excluded) and answers every client with its result and
 * Merkle proof — the same reply format as ordered batches, so clients verify it unchanged and
 * cache the verified root. Cost per batch: one signature share per replica, one combination and
 * one pairing check at the contact, instead of that much per read.
 *
 * **When results differ** (concurrent writes: replicas are at different points of the ordered
 * sequence) no root may reach t. As soon as that is certain (every replica answered, or the
 * timeout fired), the requests whose own result digest ≥ t answers agree on are retried once in a
 * new batch; the others get READ_ONLY_FAILED and the client falls back to an ordered invocation.
 * A contact whose own result is stale still answers from the results the agreeing replicas sent
 * (each checked against its leaf digest).
 *
 * **Consistency**: a read-only reply reflects a state reached by executing a committed prefix at
 * ≥ f+1 correct replicas (2f+1 matching, at most f lie). It is not linearizable: a write that
 * completed very recently may not be visible yet. Use `invoke` when that matters.
 */
import type { Application } from '../apps/application.ts';
import type { CryptoService, KeyShare, PublicKeySet } from '../crypto/types.ts';
import { MerkleTree } from '../crypto/merkle.ts';
import { decodeClientFrame, encodeClientFrame, type CartReply, type CartRequest, type PeerMessage, type ReadOnlyBatchMessage, type ReadOnlyBatchShareMessage, type WireLimits } from '../wire/codec.ts';
import { batchRootMessage, bytesEqual, digest, READONLY_KEY_SET, replyDigest, toHex } from '../wire/digest.ts';
import type { RequestVerifier } from './request-verifier.ts';
import { domainForKeySet, type ByzantineOptions, type ShareExchangeObserver } from './share-exchange.ts';
import { byzantineSelects, corruptBytes as corrupt } from './byzantine.ts';

/** Outcome of {@link ReadOnlyCoordinator.start}. */
export type ReadOnlyStart = 'started' | 'not-read-only' | 'busy';

/** Dependencies and options of {@link ReadOnlyCoordinator}. */
export interface ReadOnlyOptions {
  readonly index: number;
  /** Public key set 'readonly' (t = 2f+1). */
  readonly keySet: PublicKeySet;
  readonly keyShare: KeyShare;
  readonly crypto: CryptoService;
  readonly application: Application;
  readonly verifier: RequestVerifier;
  readonly limits: WireLimits;
  send(to: number, msg: PeerMessage): void;
  broadcast(msg: PeerMessage): void;
  /** A verified-quality reply is ready for the waiting client(s) of `key`. */
  onReply(key: string, reply: Omit<CartReply, 'replica'>): void;
  /** No reply will come for `key` (timeout, no agreement, not read-only): tell the client to order it. */
  onFail(key: string): void;
  /** Give up on a batch after this many ms (default 1000). */
  readonly timeoutMs?: number;
  /** Read-only requests coordinated here at once, queued or in a batch (default 10 000). */
  readonly maxSessions?: number;
  /** Relayed read-only batches answered concurrently per peer (default 256); more are dropped. */
  readonly maxAnswersPerPeer?: number;
  /** Requests per read-only batch (default 64; at most the wire limit `maxReadOnlyBatchRequests`). */
  readonly maxBatchRequests?: number;
  /** Batches out at once before new requests wait and batch up (default 1: a batch out, the next one filling). */
  readonly maxInFlightBatches?: number;
  /** Times a request whose result ≥ t replicas agreed on is retried in a new batch (default 1). */
  readonly maxRetries?: number;
  readonly observer?: ShareExchangeObserver;
  readonly byzantine?: ByzantineOptions;
  /** A batch of `requests` read-only requests was sent to all replicas (metrics). */
  onBatchSent?(requests: number): void;
}

/** One client read-only request coordinated here. */
interface Entry {
  readonly key: string;
  readonly request: CartRequest;
  readonly frame: Uint8Array;
  readonly clientId: Uint8Array;
  readonly operationDigest: Uint8Array;
  /** Own result, when executed in `start` and sent without waiting (else executed at flush). */
  result: Uint8Array | undefined;
  retries: number;
}

/** Answers over one Merkle root. */
interface Group {
  readonly leaves: readonly Uint8Array[];
  readonly message: Uint8Array;
  readonly shares: Map<number, Uint8Array>;
  combining: boolean;
  dirty: boolean;
}

interface Batch {
  readonly id: bigint;
  readonly entries: readonly Entry[];
  readonly ownResults: readonly Uint8Array[];
  readonly ownLeaves: readonly Uint8Array[];
  /** Signers that answered (valid-looking or not): each answers once. */
  readonly answered: Set<number>;
  /** Signers whose share proved bad. */
  readonly bad: Set<number>;
  /** Results each signer sent (first m ≤ k), to answer when our own result is stale. */
  readonly results: Map<number, readonly Uint8Array[]>;
  /** Leaves each signer sent (for per-request agreement on failure). */
  readonly leaves: Map<number, readonly Uint8Array[]>;
  readonly groups: Map<string, Group>;
  readonly timer: ReturnType<typeof setTimeout>;
  done: boolean;
}

/** Key of a read-only session (also the replica's waiter key). */
export function readOnlyKey(clientHex: string, requestId: bigint): string {
  return `ro:${clientHex}:${requestId}`;
}

/** Bytes reserved in an answer frame for everything but the results. */
const ANSWER_OVERHEAD_BYTES = 1024;

/** See the module comment. */
export class ReadOnlyCoordinator {
  /** Every request coordinated here (queued or in a batch), by key. */
  private readonly entries = new Map<string, Entry>();
  private queue: Entry[] = [];
  private readonly batches = new Map<bigint, Batch>();
  private nextBatchId = 1n;
  /** Relayed batches being answered, per asking peer (bounds work a peer can cause). */
  private readonly answering = new Map<number, number>();
  private readonly domain = domainForKeySet(READONLY_KEY_SET);
  private readonly maxBatch: number;
  private closed = false;

  constructor(private readonly o: ReadOnlyOptions) {
    this.maxBatch = Math.max(1, Math.min(o.maxBatchRequests ?? 64, o.limits.maxReadOnlyBatchRequests));
  }

  /** Stop: cancel every batch (no callbacks). */
  close(): void {
    this.closed = true;
    for (const b of this.batches.values()) clearTimeout(b.timer);
    this.batches.clear();
    this.entries.clear();
    this.queue = [];
  }

  /**
   * Coordinate a verified read-only client request (signature already checked by the caller).
   * @returns 'started' (also when already running), 'not-read-only' (order it instead), 'busy'
   */
  start(req: CartRequest, clientId: Uint8Array): ReadOnlyStart {
    if (this.closed) return 'busy';
    const key = readOnlyKey(toHex(clientId), req.requestId);
    if (this.entries.has(key)) return 'started';
    if (this.entries.size >= (this.o.maxSessions ?? 10_000)) return 'busy';
    const result = this.execute(req.operation);
    if (result === undefined) return 'not-read-only';
    const entry: Entry = { key, request: req, frame: encodeClientFrame(req), clientId, operationDigest: digest(req.operation), result, retries: 0 };
    this.entries.set(key, entry);
    this.queue.push(entry);
    this.pump();
    entry.result = undefined; // if it is still queued, it is executed again when its batch leaves
    return 'started';
  }

  /** Handle a read-only peer message from authenticated replica `from` (1..n). */
  onPeerMessage(from: number, msg: PeerMessage): void {
    if (this.closed) return;
    if (msg.type === 'read-only-batch') {
      const busy = this.answering.get(from) ?? 0;
      if (busy >= (this.o.maxAnswersPerPeer ?? 256)) {
        this.o.observer?.shareRejected?.(from, 'overflow');
        return;
      }
      this.answering.set(from, busy + 1);
      void this.answer(from, msg.batch).finally(() => this.answering.set(from, (this.answering.get(from) ?? 1) - 1));
      return;
    }
    if (msg.type !== 'read-only-batch-share') return;
    const share = msg.share;
    if (share.signer !== from) {
      this.o.observer?.shareRejected?.(from, 'forged-index');
      this.o.observer?.misbehaviour?.(from, 'forged-index', 0n);
      return;
    }
    const batch = this.batches.get(share.batchId);
    if (!batch || batch.done) {
      this.o.observer?.shareRejected?.(from, 'stale');
      return;
    }
    if (share.leaves.length !== batch.entries.length) {
      this.o.observer?.shareRejected?.(from, 'invalid');
      this.o.observer?.misbehaviour?.(from, 'bad-share', 0n);
      return;
    }
    this.add(batch, from, share.leaves, share.results, share.signature);
  }

  /** Send batches while fewer than `maxInFlightBatches` are out. */
  private pump(): void {
    const maxInFlight = Math.max(1, this.o.maxInFlightBatches ?? 1);
    while (!this.closed && this.queue.length > 0 && this.batches.size < maxInFlight) this.flush();
  }

  /** Send the next batch from the queue: up to `maxBatch` requests whose results fit one frame. */
  private flush(): void {
    const entries: Entry[] = [];
    const ownResults: Uint8Array[] = [];
    const budget = this.o.limits.maxFrameBytes - ANSWER_OVERHEAD_BYTES;
    let requestBytes = 0;
    let resultBytes = 0;
    while (this.queue.length > 0 && entries.length < this.maxBatch) {
      const e = this.queue[0]!;
      // executed again if it waited: the batch reflects the state when it leaves
      const result = e.result ?? this.execute(e.request.operation);
      if (result === undefined) {
        this.queue.shift();
        this.settleFailed(e);
        continue;
      }
      const perEntry = 48; // leaf digest + protobuf framing
      if (entries.length > 0 && (requestBytes + e.frame.length + 16 > budget || resultBytes + result.length + perEntry > budget)) break;
      this.queue.shift();
      e.result = undefined;
      requestBytes += e.frame.length + 16;
      resultBytes += result.length + perEntry;
      entries.push(e);
      ownResults.push(result);
    }
    if (entries.length === 0) return;
    const id = this.nextBatchId++;
    const ownLeaves = entries.map((e, i) => this.leafOf(e, ownResults[i]!));
    const batch: Batch = {
      id,
      entries,
      ownResults,
      ownLeaves,
      answered: new Set(),
      bad: new Set(),
      results: new Map(),
      leaves: new Map(),
      groups: new Map(),
      timer: setTimeout(() => this.fail(batch), this.o.timeoutMs ?? 1000),
      done: false,
    };
    batch.timer.unref?.();
    this.batches.set(id, batch);
    this.o.onBatchSent?.(entries.length);
    this.o.broadcast({ type: 'read-only-batch', batch: { batchId: id, requests: entries.map((e) => e.frame) } });
    const message = this.messageFor(ownLeaves);
    void this.o.crypto
      .signShare(this.o.keyShare, this.domain, message)
      .then((s) => this.add(batch, this.o.index, ownLeaves, ownResults, s.signature))
      .catch((e: Error) => this.o.observer?.error?.(e, 'read-only sign'));
  }

  private execute(operation: Uint8Array): Uint8Array | undefined {
    try {
      return this.o.application.executeReadOnly(operation);
    } catch {
      return undefined; // applications must not throw; treat as "not read-only"
    }
  }

  private leafOf(e: { clientId: Uint8Array; request: { requestId: bigint }; operationDigest: Uint8Array }, result: Uint8Array): Uint8Array {
    return replyDigest({ keySet: READONLY_KEY_SET, clientId: e.clientId, requestId: e.request.requestId, operationDigest: e.operationDigest, result });
  }

  private messageFor(leaves: readonly Uint8Array[]): Uint8Array {
    return batchRootMessage(READONLY_KEY_SET, 0n, new MerkleTree(leaves).root, leaves.length);
  }

  /**
   * A peer relayed a batch of clients' read-only requests: check each, execute all, sign the
   * root of their reply digests, send our share back. A batch with any request that is invalid
   * or not read-only is not answered (a correct contact never sends one).
   */
  private async answer(from: number, batch: ReadOnlyBatchMessage): Promise<void> {
    const leaves: Uint8Array[] = [];
    const results: Uint8Array[] = [];
    for (const frame of batch.requests) {
      let req: CartRequest;
      try {
        req = decodeClientFrame(frame, this.o.limits);
      } catch {
        this.o.observer?.shareRejected?.(from, 'invalid');
        return;
      }
      const clientId = this.o.verifier.clientId(req);
      if (!req.readOnly || !this.o.verifier.verify(req, clientId)) {
        this.o.observer?.shareRejected?.(from, 'invalid');
        return;
      }
      let result = this.execute(req.operation);
      if (result === undefined) {
        this.o.observer?.shareRejected?.(from, 'invalid');
        return;
      }
      if (this.o.byzantine?.wrongResults) result = corrupt(result);
      leaves.push(this.leafOf({ clientId, request: req, operationDigest: digest(req.operation) }, result));
      results.push(result);
    }
    try {
      const message = this.messageFor(leaves);
      // Byzantine test switch: bad shares for a deterministic fraction of batches (by batch id, as
      // share-exchange.ts does by sequence number), so a "10 % bad shares" run is 10 % here too
      const byz = this.o.byzantine;
      const bad = byz?.badShares === true && byzantineSelects(batch.batchId, byz.badShareFraction);
      const s = await this.o.crypto.signShare(this.o.keyShare, this.domain, bad ? corrupt(message) : message);
      if (this.closed) return;
      const signer = this.o.byzantine?.forgeShareIndex ? (this.o.index % this.o.keySet.replicas) + 1 : this.o.index;
      // results that do not fit one frame are left out; the contact then uses its own or others'
      const budget = this.o.limits.maxFrameBytes - ANSWER_OVERHEAD_BYTES - leaves.length * 48;
      let used = 0;
      let m = 0;
      while (m < results.length && used + results[m]!.length + 16 <= budget) used += results[m++]!.length + 16;
      const share: ReadOnlyBatchShareMessage = { batchId: batch.batchId, leaves, results: results.slice(0, m), signer, signature: s.signature };
      this.o.send(from, { type: 'read-only-batch-share', share });
    } catch (e) {
      this.o.observer?.error?.(e as Error, 'read-only answer');
    }
  }

  private add(batch: Batch, signer: number, leaves: readonly Uint8Array[], results: readonly Uint8Array[], signature: Uint8Array): void {
    if (batch.done || this.closed || batch.answered.has(signer)) return;
    batch.answered.add(signer);
    batch.leaves.set(signer, leaves);
    batch.results.set(signer, results);
    const message = this.messageFor(leaves);
    const gk = toHex(message);
    let g = batch.groups.get(gk);
    if (!g) {
      g = { leaves, message, shares: new Map(), combining: false, dirty: false };
      batch.groups.set(gk, g);
    }
    g.shares.set(signer, signature);
    if (g.shares.size >= this.o.keySet.threshold) void this.tryCombine(batch, g);
    else this.checkFeasible(batch);
  }

  /** Settle the batch as failed once no root can reach t any more. */
  private checkFeasible(batch: Batch): void {
    if (batch.done) return;
    const pending = this.o.keySet.replicas - batch.answered.size;
    for (const g of batch.groups.values()) if (g.combining || g.shares.size + pending >= this.o.keySet.threshold) return;
    this.fail(batch);
  }

  private async tryCombine(batch: Batch, g: Group): Promise<void> {
    if (g.combining) {
      g.dirty = true;
      return;
    }
    g.combining = true;
    try {
      do {
        g.dirty = false;
        if (batch.done || this.closed || g.shares.size < this.o.keySet.threshold) break;
        await this.combineOnce(batch, g);
      } while (g.dirty);
    } catch (e) {
      this.o.observer?.error?.(e as Error, 'read-only combine');
    } finally {
      g.combining = false;
    }
    this.checkFeasible(batch);
  }

  private async combineOnce(batch: Batch, g: Group): Promise<void> {
    const shares = [...g.shares.entries()].sort(([a], [b]) => a - b).map(([index, signature]) => ({ index, signature }));
    const out = await this.o.crypto.combineAndVerify(this.o.keySet, this.domain, g.message, shares);
    for (const bad of out.badShares) {
      g.shares.delete(bad);
      batch.bad.add(bad);
      this.o.observer?.shareRejected?.(bad, 'invalid');
      this.o.observer?.misbehaviour?.(bad, 'bad-share', 0n);
    }
    if (!('signature' in out) || batch.done || this.closed) return; // wait for more shares
    this.settle(batch);
    this.o.observer?.combined?.(0n, 1);
    const tree = new MerkleTree(g.leaves);
    const root = tree.root;
    batch.entries.forEach((e, i) => {
      const result = this.resultFor(batch, g, i);
      if (result === undefined) {
        this.settleFailed(e);
        return;
      }
      this.entries.delete(e.key);
      this.o.onReply(e.key, {
        requestId: e.request.requestId,
        clientId: e.clientId,
        result,
        keySet: READONLY_KEY_SET,
        sequence: 0n,
        root,
        leafIndex: i,
        leafCount: g.leaves.length,
        proof: tree.prove(i).path,
        groupSignature: out.signature,
      });
    });
    this.pump();
  }

  /** The result under leaf i of the signed group: our own if it matches, else one a signer of the group sent. */
  private resultFor(batch: Batch, g: Group, i: number): Uint8Array | undefined {
    const leaf = g.leaves[i]!;
    if (bytesEqual(batch.ownLeaves[i]!, leaf)) return batch.ownResults[i];
    const e = batch.entries[i]!;
    for (const signer of g.shares.keys()) {
      const r = batch.results.get(signer)?.[i];
      if (r !== undefined && bytesEqual(this.leafOf(e, r), leaf)) return r;
    }
    return undefined;
  }

  private settle(batch: Batch): void {
    batch.done = true;
    clearTimeout(batch.timer);
    this.batches.delete(batch.id);
  }

  /**
   * No root reached t (timeout, or impossible): retry the requests ≥ t answers agree on (results
   * differed elsewhere in the batch), fail the others.
   */
  private fail(batch: Batch): void {
    if (batch.done) return;
    this.settle(batch);
    if (this.closed) return;
    const retry: Entry[] = [];
    batch.entries.forEach((e, i) => {
      const counts = new Map<string, number>();
      let best = 0;
      for (const [signer, leaves] of batch.leaves) {
        if (batch.bad.has(signer)) continue;
        const k = toHex(leaves[i]!);
        const c = (counts.get(k) ?? 0) + 1;
        counts.set(k, c);
        best = Math.max(best, c);
      }
      if (best >= this.o.keySet.threshold && e.retries < (this.o.maxRetries ?? 1)) {
        e.retries++;
        retry.push(e);
      } else this.settleFailed(e);
    });
    this.queue = [...retry, ...this.queue];
    this.pump();
  }

  private settleFailed(e: Entry): void {
    this.entries.delete(e.key);
    if (!this.closed) this.o.onFail(e.key);
  }
}
