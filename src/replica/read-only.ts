/**
 * Read-only path (issue 5): a read-only request is executed without ordering at every replica
 * and answered under the separate key set 'readonly' with threshold t = 2f+1 (n − f), so no
 * minority of up to f replicas — stale or Byzantine — can produce a valid reply. The contact
 * replica executes the request, relays it to all replicas, groups their answers by reply digest
 * (different results never mix) and, once t shares over one digest are there, combines them
 * (tentatively, excluding bad shares) into the group signature. If no group reaches t in time
 * (concurrent writes, crashed replicas) it answers READ_ONLY_FAILED and the client falls back
 * to an ordered invocation.
 *
 * Consistency: a read-only reply reflects a state reached by executing a committed prefix at
 * ≥ f+1 correct replicas (2f+1 matching, at most f lie). It is not linearizable: a write that
 * completed very recently may not be visible yet. Use `invoke` when that matters.
 *
 * Signed message: `batchRootMessage('readonly', 0, merkleRoot([replyDigest]), 1)` in domain
 * 'readonly-reply' — the same reply format as ordered replies (a one-leaf batch, sequence 0).
 */
import type { Application } from '../apps/application.ts';
import type { CryptoService, KeyShare, PublicKeySet } from '../crypto/types.ts';
import { MerkleTree } from '../crypto/merkle.ts';
import { decodeClientFrame, encodeClientFrame, type CartReply, type CartRequest, type PeerMessage, type WireLimits } from '../wire/codec.ts';
import { batchRootMessage, digest, READONLY_KEY_SET, replyDigest, toHex } from '../wire/digest.ts';
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
  /** No reply will come for `key` (timeout, not read-only): tell the client to order it. */
  onFail(key: string): void;
  /** Give up after this many ms (default 1000). */
  readonly timeoutMs?: number;
  /** Concurrent read-only requests coordinated here (default 10 000). */
  readonly maxSessions?: number;
  /** Relayed read-only requests answered concurrently per peer (default 256); more are dropped. */
  readonly maxAnswersPerPeer?: number;
  readonly observer?: ShareExchangeObserver;
  readonly byzantine?: ByzantineOptions;
}

interface Group {
  readonly result: Uint8Array;
  readonly message: Uint8Array;
  readonly shares: Map<number, Uint8Array>;
  readonly bad: Set<number>;
  combining: boolean;
  dirty: boolean;
}

interface Session {
  readonly key: string;
  readonly clientId: Uint8Array;
  readonly requestId: bigint;
  readonly operationDigest: Uint8Array;
  readonly groups: Map<string, Group>;
  readonly timer: ReturnType<typeof setTimeout>;
  done: boolean;
}

/** Key of a read-only session (also the replica's waiter key). */
export function readOnlyKey(clientHex: string, requestId: bigint): string {
  return `ro:${clientHex}:${requestId}`;
}

/** See the module comment. */
export class ReadOnlyCoordinator {
  private readonly sessions = new Map<string, Session>();
  /** Relayed requests being answered, per asking peer (bounds work a peer can cause). */
  private readonly answering = new Map<number, number>();
  private readonly domain = domainForKeySet(READONLY_KEY_SET);
  private closed = false;

  constructor(private readonly o: ReadOnlyOptions) {}

  /** Stop: cancel every session (no callbacks). */
  close(): void {
    this.closed = true;
    for (const s of this.sessions.values()) clearTimeout(s.timer);
    this.sessions.clear();
  }

  /**
   * Coordinate a verified read-only client request (signature already checked by the caller).
   * @returns 'started' (also when already running), 'not-read-only' (order it instead), 'busy'
   */
  start(req: CartRequest, clientId: Uint8Array): ReadOnlyStart {
    const key = readOnlyKey(toHex(clientId), req.requestId);
    if (this.sessions.has(key)) return 'started';
    if (this.sessions.size >= (this.o.maxSessions ?? 10_000)) return 'busy';
    const result = this.execute(req.operation);
    if (result === undefined) return 'not-read-only';
    const session: Session = {
      key,
      clientId,
      requestId: req.requestId,
      operationDigest: digest(req.operation),
      groups: new Map(),
      timer: setTimeout(() => this.fail(session), this.o.timeoutMs ?? 1000),
      done: false,
    };
    session.timer.unref?.();
    this.sessions.set(key, session);
    this.o.broadcast({ type: 'read-only-request', request: encodeClientFrame(req) });
    void this.o.crypto
      .signShare(this.o.keyShare, this.domain, this.messageFor(session, result))
      .then((s) => this.add(session, this.o.index, result, s.signature))
      .catch((e: Error) => this.o.observer?.error?.(e, 'read-only sign'));
    return 'started';
  }

  /** Handle a read-only peer message from authenticated replica `from` (1..n). */
  onPeerMessage(from: number, msg: PeerMessage): void {
    if (this.closed) return;
    if (msg.type === 'read-only-request') {
      const busy = this.answering.get(from) ?? 0;
      if (busy >= (this.o.maxAnswersPerPeer ?? 256)) {
        this.o.observer?.shareRejected?.(from, 'overflow');
        return;
      }
      this.answering.set(from, busy + 1);
      void this.answer(from, msg.request).finally(() => this.answering.set(from, (this.answering.get(from) ?? 1) - 1));
      return;
    }
    if (msg.type !== 'read-only-share') return;
    const share = msg.share;
    if (share.signer !== from) {
      this.o.observer?.shareRejected?.(from, 'forged-index');
      this.o.observer?.misbehaviour?.(from, 'forged-index', 0n);
      return;
    }
    const session = this.sessions.get(readOnlyKey(toHex(share.clientId), share.requestId));
    if (!session || session.done) {
      this.o.observer?.shareRejected?.(from, 'stale');
      return;
    }
    this.add(session, from, share.result, share.signature);
  }

  private execute(operation: Uint8Array): Uint8Array | undefined {
    try {
      return this.o.application.executeReadOnly(operation);
    } catch {
      return undefined; // applications must not throw; treat as "not read-only"
    }
  }

  private messageFor(session: { clientId: Uint8Array; requestId: bigint; operationDigest: Uint8Array }, result: Uint8Array): Uint8Array {
    const leaf = replyDigest({ keySet: READONLY_KEY_SET, clientId: session.clientId, requestId: session.requestId, operationDigest: session.operationDigest, result });
    return batchRootMessage(READONLY_KEY_SET, 0n, new MerkleTree([leaf]).root, 1);
  }

  /** A peer relayed a client's read-only request: execute, sign, send our share back. */
  private async answer(from: number, frame: Uint8Array): Promise<void> {
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
    if (result === undefined) return;
    if (this.o.byzantine?.wrongResults) result = corrupt(result);
    try {
      const message = this.messageFor({ clientId, requestId: req.requestId, operationDigest: digest(req.operation) }, result);
      // Byzantine test switch: bad shares for a deterministic fraction of reads (by request id, as
      // share-exchange.ts does by batch sequence), so a "10 % bad shares" run is 10 % here too
      const byz = this.o.byzantine;
      const bad = byz?.badShares === true && byzantineSelects(req.requestId, byz.badShareFraction);
      const s = await this.o.crypto.signShare(this.o.keyShare, this.domain, bad ? corrupt(message) : message);
      if (this.closed) return;
      const signer = this.o.byzantine?.forgeShareIndex ? (this.o.index % this.o.keySet.replicas) + 1 : this.o.index;
      this.o.send(from, { type: 'read-only-share', share: { clientId, requestId: req.requestId, result, signer, signature: s.signature } });
    } catch (e) {
      this.o.observer?.error?.(e as Error, 'read-only answer');
    }
  }

  private add(session: Session, signer: number, result: Uint8Array, signature: Uint8Array): void {
    if (session.done || this.closed) return;
    const message = this.messageFor(session, result);
    const gk = toHex(message);
    let g = session.groups.get(gk);
    if (!g) {
      for (const other of session.groups.values()) {
        if (other.shares.has(signer)) return; // one answer per signer
      }
      g = { result, message, shares: new Map(), bad: new Set(), combining: false, dirty: false };
      session.groups.set(gk, g);
    }
    if (g.shares.has(signer) || g.bad.has(signer)) return;
    g.shares.set(signer, signature);
    void this.tryCombine(session, g);
  }

  private async tryCombine(session: Session, g: Group): Promise<void> {
    if (g.combining) {
      g.dirty = true;
      return;
    }
    g.combining = true;
    try {
      do {
        g.dirty = false;
        if (session.done || this.closed || g.shares.size < this.o.keySet.threshold) break;
        await this.combineOnce(session, g);
      } while (g.dirty);
    } catch (e) {
      this.o.observer?.error?.(e as Error, 'read-only combine');
    } finally {
      g.combining = false;
    }
  }

  private async combineOnce(session: Session, g: Group): Promise<void> {
    const shares = [...g.shares.entries()].sort(([a], [b]) => a - b).map(([index, signature]) => ({ index, signature }));
    const out = await this.o.crypto.combineAndVerify(this.o.keySet, this.domain, g.message, shares);
    for (const bad of out.badShares) {
      g.shares.delete(bad);
      g.bad.add(bad);
      this.o.observer?.shareRejected?.(bad, 'invalid');
      this.o.observer?.misbehaviour?.(bad, 'bad-share', 0n);
    }
    if (!('signature' in out) || session.done || this.closed) return; // wait for more shares
    session.done = true;
    clearTimeout(session.timer);
    this.sessions.delete(session.key);
    this.o.observer?.combined?.(0n, 1);
    const leaf = replyDigest({ keySet: READONLY_KEY_SET, clientId: session.clientId, requestId: session.requestId, operationDigest: session.operationDigest, result: g.result });
    this.o.onReply(session.key, {
      requestId: session.requestId,
      clientId: session.clientId,
      result: g.result,
      keySet: READONLY_KEY_SET,
      sequence: 0n,
      root: new MerkleTree([leaf]).root,
      leafIndex: 0,
      leafCount: 1,
      proof: [],
      groupSignature: out.signature,
    });
  }

  private fail(session: Session): void {
    if (session.done) return;
    session.done = true;
    this.sessions.delete(session.key);
    if (!this.closed) this.o.onFail(session.key);
  }
}
