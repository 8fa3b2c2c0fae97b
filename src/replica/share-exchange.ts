/**
 * Signer, share exchange and aggregator of one CART replica (issue 4 §server-side handler,
 * issue 5 §batch signatures and tentative aggregation).
 *
 * After each executed batch the replica builds the Merkle tree over the batch's reply digests,
 * signs `batchRootMessage('ordered', sequence, root, leafCount)` with its key share (domain
 * 'batch-root'), keeps the share and broadcasts it. Shares from peers are kept per batch
 * sequence; only shares over the locally computed root are ever combined, so replies for
 * different results never mix. When a client waits for a reply from a batch, the replica
 * combines t shares into the group signature with the {@link Aggregator} (`aggregator.ts`:
 * tentative or verify-first, exclusion and suspicion of signers with bad shares), and asks
 * peers to resend shares (ShareRequest) while it has fewer than t.
 *
 * No I/O: messages leave through the injected `send`/`broadcast`, crypto through the injected
 * {@link CryptoService} (worker threads or in-thread).
 */
import type { CryptoService, Domain, KeyShare, PublicKeySet, SignatureShare } from '../crypto/types.ts';
import { MerkleTree } from '../crypto/merkle.ts';
import { Aggregator, type AggregationState } from './aggregator.ts';
import type { PeerMessage, ShareMessage } from '../wire/codec.ts';
import { batchRootMessage, bytesEqual, ORDERED_KEY_SET, toHex } from '../wire/digest.ts';
import type { ExecutedBatch, ExecutedReply } from './app-proxy.ts';
import { byzantineSelects, corruptBytes as corrupt } from './byzantine.ts';

/** Why a received share was not used. */
export type ShareRejectReason =
  | 'forged-index' // signer field differs from the authenticated sender
  | 'unknown-key-set'
  | 'root-mismatch' // share over another root / leaf count than ours: a different result
  | 'duplicate' // a second share from the same signer for the same batch
  | 'stale' // batch already evicted
  | 'invalid' // share failed verification (bad signature share)
  | 'overflow'; // pending-share buffer full

/** Kinds of misbehaviour reported about a signer. */
export type MisbehaviourKind = 'bad-share' | 'forged-index' | 'root-mismatch';

/** Byzantine behaviour switches (tests and demo only; all off by default). */
export interface ByzantineOptions {
  /** Sign a root over corrupted results and send clients corrupted results. */
  readonly wrongResults?: boolean;
  /** Broadcast signature shares that do not verify. */
  readonly badShares?: boolean;
  /**
   * With `badShares`: the fraction (0..1] of batches whose share is bad (default 1). Chosen by
   * sequence number (`(sequence·7919) mod 1000 < fraction·1000`), so runs are reproducible.
   */
  readonly badShareFraction?: number;
  /** Broadcast shares claiming another replica's signer index. */
  readonly forgeShareIndex?: boolean;
}

/** Dependencies and options of {@link ShareExchange}. */
export interface ShareExchangeOptions {
  /** Own signer index 1..n. */
  readonly index: number;
  /** Public key set 'ordered' (t = f+1). */
  readonly keySet: PublicKeySet;
  /** Own key share of that set. */
  readonly keyShare: KeyShare;
  readonly crypto: CryptoService;
  /** Broadcast to all other replicas. */
  broadcast(msg: PeerMessage): void;
  /** Send to one replica (signer index 1..n). */
  send(to: number, msg: PeerMessage): void;
  /** The batch's group signature is ready. */
  onReady(batch: SignedBatch): void;
  /** Optional observer hooks for metrics and logs. */
  readonly observer?: ShareExchangeObserver;
  /** One signature per ordered batch with a Merkle proof per reply (default true); off: one signature per reply. */
  readonly batchSignatures?: boolean;
  /** Tentative aggregation (default true). */
  readonly tentative?: boolean;
  /** Executed batches retained for late replies (default 4096). */
  readonly maxBatches?: number;
  /** Sequences with shares buffered ahead of local execution (default 4096). */
  readonly maxPendingSequences?: number;
  /** Valid shares a suspected signer must send to be trusted again (default 64). */
  readonly suspicionGoodShares?: number;
  /** Interval between share re-requests for a wanted batch short of shares, ms (default 300). */
  readonly shareRequestIntervalMs?: number;
  /** Share re-requests per batch (default 10). */
  readonly maxShareRequests?: number;
  readonly byzantine?: ByzantineOptions;
}

/** Observer hooks (metrics, logs). */
export interface ShareExchangeObserver {
  shareReceived?(from: number): void;
  shareRejected?(from: number, reason: ShareRejectReason): void;
  misbehaviour?(signer: number, kind: MisbehaviourKind, sequence: bigint): void;
  combined?(sequence: bigint, attempts: number): void;
  batchSigned?(sequence: bigint, leaves: number): void;
  error?(err: Error, context: string): void;
}

/** An executed batch with its Merkle tree and (once combined) the group signature. */
export interface SignedBatch {
  readonly sequence: bigint;
  readonly keySet: string;
  readonly leaves: readonly Uint8Array[];
  readonly replies: readonly ExecutedReply[];
  readonly root: Uint8Array;
  readonly message: Uint8Array;
  /** Combined group signature; undefined until combined. */
  readonly signature: Uint8Array | undefined;
}

interface BatchRecord extends SignedBatch, AggregationState {
  readonly tree: MerkleTree;
  signature: Uint8Array | undefined;
  own: Uint8Array | undefined;
  wanted: boolean;
  combining: boolean;
  dirty: boolean;
  requests: number;
  requestTimer: ReturnType<typeof setTimeout> | undefined;
  attempts: number;
}

/** The signature domain used for a key set's batch roots. */
export function domainForKeySet(keySet: string): Domain {
  return keySet === ORDERED_KEY_SET ? 'batch-root' : 'readonly-reply';
}

/** See the module comment. */
export class ShareExchange {
  /** Executed batches by sequence: one record (batch signatures on) or one per reply (off). */
  private readonly batches = new Map<bigint, BatchRecord[]>();
  /** Shares that arrived before local execution: sequence → (signer:root) → share. */
  private readonly pending = new Map<bigint, Map<string, ShareMessage>>();
  private readonly aggregator: Aggregator;
  private readonly domain: Domain;
  private readonly batchSignatures: boolean;
  private readonly maxBatches: number;
  private readonly maxPending: number;
  private readonly maxPendingPerSequence: number;
  private oldestEvicted = -1n;
  private closed = false;

  constructor(private readonly o: ShareExchangeOptions) {
    this.domain = domainForKeySet(o.keySet.name);
    this.batchSignatures = o.batchSignatures ?? true;
    this.maxBatches = o.maxBatches ?? 4096;
    this.maxPending = o.maxPendingSequences ?? 4096;
    this.maxPendingPerSequence = o.keySet.replicas * (this.batchSignatures ? 2 : 1024);
    this.aggregator = new Aggregator({
      keySet: o.keySet,
      domain: this.domain,
      crypto: o.crypto,
      index: o.index,
      distrustOwn: o.byzantine !== undefined,
      tentative: o.tentative,
      suspicionGoodShares: o.suspicionGoodShares,
      observer: {
        badShare: (signer, sequence) => {
          this.o.observer?.shareRejected?.(signer, 'invalid');
          this.o.observer?.misbehaviour?.(signer, 'bad-share', sequence);
        },
        combined: (sequence, attempts) => this.o.observer?.combined?.(sequence, attempts),
        error: (err, context) => this.o.observer?.error?.(err, context),
      },
    });  }

  /** Signers currently suspected of sending bad shares. */
  get suspectedSigners(): number[] {
    return this.aggregator.suspectedSigners;
  }

  /** Stop starting new crypto work (pending calls finish) and cancel timers. */
  close(): void {
    this.closed = true;
    for (const group of this.batches.values()) for (const rec of group) if (rec.requestTimer) clearTimeout(rec.requestTimer);
  }

  /** The retained signed batch (signature unit) holding the reply of (client, request id) executed at `sequence`. */
  findReply(sequence: bigint, clientHex: string, requestId: bigint): { batch: SignedBatch; index: number } | undefined {
    for (const rec of this.batches.get(sequence) ?? []) {
      const index = rec.replies.findIndex((r) => r.clientHex === clientHex && r.requestId === requestId);
      if (index >= 0) return { batch: rec, index };
    }
    return undefined;
  }

  /** The retained signature units of one sequence (one unless batch signatures are off). */
  batch(sequence: bigint): readonly SignedBatch[] {
    return this.batches.get(sequence) ?? [];
  }

  /**
   * Merkle proof for leaf `index` of a signed batch.
   * @throws {RangeError} if the index is out of range
   */
  proof(batch: SignedBatch, index: number): readonly Uint8Array[] {
    if (index < 0 || index >= batch.leaves.length) throw new RangeError('leaf index out of range');
    const tree = (batch as Partial<BatchRecord>).tree ?? new MerkleTree(batch.leaves);
    return tree.prove(index).path;
  }

  /** Forget all batches. */
  clear(): void {
    for (const group of this.batches.values()) for (const rec of group) if (rec.requestTimer) clearTimeout(rec.requestTimer);
    this.batches.clear();
    this.pending.clear();
  }

  /**
   * Called with every batch the application proxy executed: builds the signature unit(s) —
   * one Merkle tree over all reply digests, or (batch signatures off) one single-leaf tree
   * per reply — signs and broadcasts a share for each.
   */
  onExecuted(exec: ExecutedBatch): readonly SignedBatch[] {
    if (exec.replies.length === 0) return [];
    let units: (readonly ExecutedReply[])[];
    if (this.batchSignatures) units = [exec.replies];
    else {
      const seen = new Set<string>();
      units = [];
      for (const r of exec.replies) {
        const d = toHex(r.digest);
        if (!seen.has(d)) {
          seen.add(d);
          units.push([r]);
        }
      }
    }
    const group = units.map((replies) => this.record(exec.sequence, replies));
    this.batches.set(exec.sequence, group);
    while (this.batches.size > this.maxBatches) {
      const [seq] = this.batches.keys();
      for (const old of this.batches.get(seq!) ?? []) if (old.requestTimer) clearTimeout(old.requestTimer);
      this.batches.delete(seq!);
      if (seq! > this.oldestEvicted) this.oldestEvicted = seq!;
    }
    const early = this.pending.get(exec.sequence);
    if (early) {
      this.pending.delete(exec.sequence);
      for (const share of early.values()) this.accept(group, share.signer, share);
    }
    for (const rec of group) void this.signOwn(rec);
    return group;
  }

  private record(sequence: bigint, replies: readonly ExecutedReply[]): BatchRecord {
    const leaves = replies.map((r) => r.digest);
    const tree = new MerkleTree(leaves);
    const keySet = this.o.keySet.name;
    return {
      sequence,
      keySet,
      tree,
      leaves,
      replies,
      root: tree.root,
      message: batchRootMessage(keySet, sequence, tree.root, leaves.length),
      signature: undefined,
      shares: new Map(),
      verified: new Set(),
      bad: new Set(),
      own: undefined,
      wanted: false,
      combining: false,
      dirty: false,
      requests: 0,
      requestTimer: undefined,
      attempts: 0,
    };
  }

  private isRetained(rec: BatchRecord): boolean {
    return this.batches.get(rec.sequence)?.includes(rec) ?? false;
  }

  /** A client waits for a reply from this batch: combine as soon as t shares are there. */
  want(batch: SignedBatch): void {
    const rec = batch as BatchRecord;
    if (!this.isRetained(rec)) return;
    rec.wanted = true;
    if (rec.signature) {
      this.o.onReady(rec);
      return;
    }
    void this.tryCombine(rec);
  }

  /** Handle a decoded peer message from authenticated replica `from` (signer index 1..n). */
  onPeerMessage(from: number, msg: PeerMessage): void {
    if (msg.type === 'share-request') {
      if (msg.keySet !== this.o.keySet.name) return;
      for (const rec of this.batches.get(msg.sequence) ?? []) {
        if (rec.own) this.o.send(from, { type: 'share', share: this.ownShareMessage(rec, rec.own) });
      }
      return;
    }
    if (msg.type !== 'share') return; // read-only messages are handled by ReadOnlyCoordinator
    const share = msg.share;
    this.o.observer?.shareReceived?.(from);
    if (share.signer !== from) {
      this.reject(from, 'forged-index');
      this.o.observer?.misbehaviour?.(from, 'forged-index', share.sequence);
      return;
    }
    if (share.keySet !== this.o.keySet.name) return this.reject(from, 'unknown-key-set');
    const group = this.batches.get(share.sequence);
    if (group) return this.accept(group, from, share);
    if (share.sequence <= this.oldestEvicted) return this.reject(from, 'stale');
    let early = this.pending.get(share.sequence);
    if (!early) {
      if (this.pending.size >= this.maxPending) {
        // evict the lowest buffered sequence: the furthest behind, least likely to matter
        let low: bigint | undefined;
        for (const s of this.pending.keys()) if (low === undefined || s < low) low = s;
        if (low !== undefined && low < share.sequence) this.pending.delete(low);
        else return this.reject(from, 'overflow');
      }
      early = new Map();
      this.pending.set(share.sequence, early);
    }
    const k = `${from}:${toHex(share.root)}`;
    if (early.has(k)) return this.reject(from, 'duplicate');
    if (early.size >= this.maxPendingPerSequence) return this.reject(from, 'overflow');
    early.set(k, share);
  }

  private reject(from: number, reason: ShareRejectReason): void {
    this.o.observer?.shareRejected?.(from, reason);
  }

  private accept(group: readonly BatchRecord[], from: number, share: ShareMessage): void {
    const rec = group.find((r) => share.leafCount === r.leaves.length && bytesEqual(share.root, r.root));
    if (!rec) {
      this.reject(from, 'root-mismatch');
      this.o.observer?.misbehaviour?.(from, 'root-mismatch', share.sequence);
      return;
    }
    if (rec.shares.has(from) || rec.bad.has(from)) return this.reject(from, 'duplicate');
    rec.shares.set(from, share.signature);
    if (rec.wanted && !rec.signature) void this.tryCombine(rec);
  }

  private ownShareMessage(rec: BatchRecord, signature: Uint8Array): ShareMessage {
    const byz = this.o.byzantine;
    const signer = byz?.forgeShareIndex ? (this.o.index % this.o.keySet.replicas) + 1 : this.o.index;
    return { keySet: rec.keySet, sequence: rec.sequence, root: rec.root, leafCount: rec.leaves.length, signer, signature };
  }

  private async signOwn(rec: BatchRecord): Promise<void> {
    try {
      const share = await this.o.crypto.signShare(this.o.keyShare, this.domain, rec.message);
      rec.own = share.signature;
      rec.shares.set(this.o.index, share.signature);
      rec.verified.add(this.o.index);
      this.o.observer?.batchSigned?.(rec.sequence, rec.leaves.length);
      this.o.broadcast({ type: 'share', share: await this.outgoingShare(rec, share) });
      if (rec.wanted && !rec.signature) await this.tryCombine(rec);
    } catch (e) {
      if (!this.closed) this.o.observer?.error?.(e as Error, 'sign-share');
    }
  }

  /** The share this replica broadcasts: honest, or corrupted per the Byzantine switches. */
  private async outgoingShare(rec: BatchRecord, share: SignatureShare): Promise<ShareMessage> {
    const byz = this.o.byzantine;
    if (byz?.wrongResults) {
      // sign a root over corrupted results: peers see a share for a different root
      const fake = new MerkleTree(rec.leaves.map(corrupt)).root;
      const msg = batchRootMessage(rec.keySet, rec.sequence, fake, rec.leaves.length);
      const s = await this.o.crypto.signShare(this.o.keyShare, this.domain, msg);
      return { ...this.ownShareMessage(rec, s.signature), root: fake };
    }
    if (byz?.badShares && byzantineSelects(rec.sequence, byz.badShareFraction)) {
      // a well-formed G1 point that is not a share over our message
      const s = await this.o.crypto.signShare(this.o.keyShare, this.domain, corrupt(rec.message));
      return this.ownShareMessage(rec, s.signature);
    }
    return this.ownShareMessage(rec, share.signature);
  }

  private async tryCombine(rec: BatchRecord): Promise<void> {
    if (rec.signature || this.closed) return;
    if (rec.combining) {
      rec.dirty = true;
      return;
    }
    rec.combining = true;
    try {
      do {
        rec.dirty = false;
        await this.combineOnce(rec);
      } while (rec.dirty && !rec.signature && !this.closed);
    } catch (e) {
      if (!this.closed) this.o.observer?.error?.(e as Error, 'combine');
    } finally {
      rec.combining = false;
    }
    if (rec.signature) this.o.onReady(rec);
  }

  /**
   * Too few shares for a wanted batch: ask peers to resend theirs (the mesh is best effort).
   * Repeats every `shareRequestIntervalMs` while still short, at most `maxShareRequests` times.
   */
  private requestShares(rec: BatchRecord): void {
    if (!rec.own || rec.requestTimer || rec.signature || this.closed || rec.requests >= (this.o.maxShareRequests ?? 10)) return;
    rec.requests++;
    this.o.broadcast({ type: 'share-request', keySet: rec.keySet, sequence: rec.sequence });
    rec.requestTimer = setTimeout(() => {
      rec.requestTimer = undefined;
      if (rec.wanted && !rec.signature && !this.closed && this.isRetained(rec)) void this.tryCombine(rec);
    }, this.o.shareRequestIntervalMs ?? 300);
    rec.requestTimer.unref?.();
  }

  private async combineOnce(rec: BatchRecord): Promise<void> {
    if ((await this.aggregator.combine(rec)) === 'short') this.requestShares(rec);
  }
}
