/**
 * PBFT normal-case operation (Castro & Liskov, ACM TOCS 2002, §4.2) with batching and
 * pipelining (§5.1.4): client requests, PRE-PREPARE / PREPARE / COMMIT, in-order execution,
 * replies from the exactly-once table, and the backups' request timer that triggers a view
 * change (§4.4).
 */
import { type Slot, ReplicaBase } from './replica-base.ts';
import { primaryOf, quorum, requestKey } from './certificates.ts';
import { batchDigest, bytesEqual, encodeMessage, signedBytes } from './codec.ts';
import type { CommitMsg, PrePrepareMsg, PrepareMsg, ReplyMsg, RequestMsg } from './messages.ts';

/** Normal-case layer of the replica core. */
export abstract class NormalCase extends ReplicaBase {
  /** Primary: next sequence number to assign. */
  protected nextSeq = 1n;
  /** Primary: requests waiting for a batch, in arrival order (keys into `pending`). */
  protected readonly proposalQueue: string[] = [];
  /** Primary: request keys already proposed in the current view and not yet executed. */
  protected readonly proposed = new Set<string>();
  protected batchTimerArmed = false;
  /** Primary: a partial batch was proposed less than `batchMinIntervalMs` ago (timer 'batch' armed). */
  protected batchCooling = false;
  protected requestTimerArmed = false;
  /** Consecutive view changes without progress (exponential back-off exponent). */
  protected backoff = 0;
  /** lastExecuted when the request timer was last postponed because we were lagging. */
  private deferredAt: bigint | undefined;

  protected get isPrimary(): boolean {
    return primaryOf(this.view, this.config.n) === this.id;
  }
  protected get active(): boolean {
    return !this.inViewChange;
  }
  /** Primary of the current view and not in a view change (a co-located client's requests need no broadcast). */
  isActivePrimary(): boolean {
    return this.isPrimary && this.active;
  }

  /** Hook: suspect the primary and move to `view`. */
  protected abstract startViewChange(view: bigint): void;
  /** Hook: are we merely lagging behind f+1 replicas that make progress? */
  protected abstract lagging(): boolean;

  // ---- client requests (§4.1)

  /**
   * A REQUEST from a client (`forwarded` = relayed by a backup). Executed ones are answered
   * from the table; new ones become pending, batched by the primary, forwarded by backups.
   * `from`: the replica whose authenticated link carried the request (this replica for an
   * in-process request); its client signature is not checked if that replica is the client's
   * home (see `Authenticator.clientHome`).
   */
  protected onRequest(m: RequestMsg, forwarded: boolean, from?: number): void {
    if (m.payload.length > this.config.maxRequestBytes) return this.drop('too-large', `request ${m.payload.length} bytes`);
    const seen = this.table.lookup(m.clientId, m.requestId);
    if (seen.status === 'too-old') return this.drop('old-request', `${m.clientId}#${m.requestId}`);
    const key = requestKey(m.clientId, m.requestId);
    if (seen.status === 'executed') {
      if (!forwarded) this.reply(m.clientId, m.requestId, seen.result);
      return;
    }
    // A co-located (home) client sends its requests to every replica itself: no relay needed.
    const fromHomeClient = !forwarded && from === this.id;
    const known = this.pending.get(key);
    if (known) {
      // Retransmission: only trust it if it is the very same request (same payload and sig).
      if (!forwarded && !fromHomeClient && !this.isPrimary && this.active && bytesEqual(known.payload, m.payload)) {
        this.send(primaryOf(this.view, this.config.n), known);
      }
      return;
    }
    const linkAuthenticated = from !== undefined && this.auth.clientHome?.(m.clientId) === from;
    if (!linkAuthenticated && !this.auth.verifyClient(m.clientId, signedBytes(m), m.sig)) return this.drop('bad-signature', `client ${m.clientId}`);
    if (!this.addPending(key, m)) return this.drop('queue-full', `${this.pending.size} pending (client ${m.clientId})`);
    if (!this.active) return;
    if (this.isPrimary) {
      this.proposalQueue.push(key);
      this.tryPropose(false);
    } else if (!forwarded && !fromHomeClient) {
      this.send(primaryOf(this.view, this.config.n), m);
    }
    this.armRequestTimer();
  }

  /**
   * Send the (signed) reply for an executed request to its client. A client with a home replica
   * (`Authenticator.clientHome`) gets an unsigned reply from its home replica only.
   */
  protected reply(clientId: string, requestId: bigint, result: Uint8Array): void {
    const home = this.auth.clientHome?.(clientId);
    if (home !== undefined && home !== this.id) return;
    const unsigned: ReplyMsg = { type: 'reply', view: this.view, replica: this.id, clientId, requestId, result, sig: new Uint8Array() };
    const r = this.config.signReplies === false || home === this.id ? unsigned : this.sign(unsigned);
    this.out.push({ kind: 'reply', clientId, bytes: encodeMessage(r) });
  }

  // ---- primary: batching and proposing (§4.2, §5.1.4)

  /**
   * Propose batches while the window (h, h+L] has room: a full batch at once; a partial batch
   * at once if nothing is in flight and no partial batch was proposed in the last
   * `batchMinIntervalMs` (adaptive batching), or if `force` (batch timer expired); else arm the
   * batch timer (`batchMaxDelayMs` while batches are in flight, the rest of the interval while
   * cooling down).
   */
  protected tryPropose(force: boolean): void {
    if (!this.isPrimary || !this.active) return;
    const minInterval = this.config.batchMinIntervalMs ?? 0;
    for (;;) {
      this.compactQueue();
      if (this.proposalQueue.length === 0) break;
      if (this.nextSeq > this.h + this.L) break;
      const inFlight = this.nextSeq - 1n > this.lastExecuted;
      const full = this.proposalQueue.length >= this.config.batchMaxSize;
      const hold = (inFlight && this.config.batchMaxDelayMs > 0) || this.batchCooling;
      if (!full && hold && !force) {
        if (!this.batchTimerArmed) {
          this.batchTimerArmed = true;
          this.setTimer('batch', this.batchCooling ? minInterval : this.config.batchMaxDelayMs);
        }
        return;
      }
      const keys = this.proposalQueue.splice(0, this.config.batchMaxSize);
      const batch = keys.map((k) => this.pending.get(k)!);
      for (const k of keys) this.proposed.add(k);
      this.propose(this.nextSeq++, batch);
      force = false;
      if (!full && minInterval > 0) {
        // cool down: the next partial batch waits for the interval (or for a full batch)
        this.batchCooling = true;
        if (this.batchTimerArmed) this.cancelTimer('batch');
        this.batchTimerArmed = true;
        this.setTimer('batch', minInterval);
      }
    }
    if (this.batchTimerArmed && !this.batchCooling) {
      this.batchTimerArmed = false;
      this.cancelTimer('batch');
    }
  }

  /** Drop queue entries that were executed or proposed meanwhile. */
  private compactQueue(): void {
    let w = 0;
    for (const k of this.proposalQueue) if (this.pending.has(k) && !this.proposed.has(k)) this.proposalQueue[w++] = k;
    this.proposalQueue.length = w;
  }

  /** Primary: sign and broadcast PRE-PREPARE(view, seq, batch) and record it. */
  protected propose(seq: bigint, batch: readonly RequestMsg[]): void {
    const pp = this.sign<PrePrepareMsg>({
      type: 'pre-prepare',
      view: this.view,
      seq,
      digest: batchDigest(batch),
      replica: this.id,
      sig: new Uint8Array(),
      batch,
    });
    this.slot(seq).prePrepare = pp;
    this.send('all', pp);
    this.checkPrepared(seq);
  }

  /** The batch timer expired: end of the cool-down; propose the partial batch. */
  protected onBatchTimer(): void {
    this.batchTimerArmed = false;
    this.batchCooling = false;
    this.tryPropose(true);
  }

  // ---- agreement (§4.2)

  protected slot(seq: bigint): Slot {
    let s = this.log.get(seq);
    if (!s) {
      s = { prePrepare: undefined, prepares: new Map(), commits: new Map(), prepared: false, committed: false, sentCommit: false };
      this.log.set(seq, s);
    }
    return s;
  }

  /** Common checks for PRE-PREPARE/PREPARE/COMMIT: current view and inside the watermarks. */
  protected inAgreementWindow(view: bigint, seq: bigint, what: string): boolean {
    if (view < this.view) return this.drop('old-view', `${what} view ${view} < ${this.view}`), false;
    if (view > this.view || this.inViewChange) return this.drop('out-of-window', `${what} view ${view}`), false;
    if (seq <= this.h || seq > this.h + this.L) return this.drop('out-of-window', `${what} seq ${seq} not in (${this.h}, ${this.h + this.L}]`), false;
    return true;
  }

  /**
   * Accept a PRE-PREPARE from the primary of the current view: signature, digest, client
   * signatures and sizes of every request; no other digest accepted for (view, seq).
   */
  protected onPrePrepare(m: PrePrepareMsg): void {
    if (m.replica !== primaryOf(m.view, this.config.n)) return this.drop('not-primary', `pre-prepare from ${m.replica}`);
    if (!this.inAgreementWindow(m.view, m.seq, 'pre-prepare')) return;
    const s = this.slot(m.seq);
    if (s.prePrepare) {
      if (!bytesEqual(s.prePrepare.digest, m.digest)) this.drop('conflicting', `pre-prepare seq ${m.seq}`);
      return;
    }
    if (!this.acceptablePrePrepare(m)) return;
    this.adoptPrePrepare(m);
  }

  /** Signature, digest and request checks of a PRE-PREPARE (counts the drop reason). */
  protected acceptablePrePrepare(m: PrePrepareMsg): boolean {
    if (!this.auth.verify(m.replica, signedBytes(m), m.sig)) return this.drop('bad-signature', `pre-prepare seq ${m.seq}`), false;
    if (m.batch.length > this.config.batchMaxSize) return this.drop('too-large', `batch of ${m.batch.length}`), false;
    if (!bytesEqual(batchDigest(m.batch), m.digest)) return this.drop('bad-digest', `pre-prepare seq ${m.seq}`), false;
    for (const q of m.batch) {
      if (q.payload.length > this.config.maxRequestBytes) return this.drop('too-large', `request in seq ${m.seq}`), false;
      // A request of the primary's own co-located (home) client is vouched for by the primary's
      // signature on this PRE-PREPARE: that replica may submit any request of that client anyway.
      // (Re-proposed by another primary after a view change, it is checked like any request.)
      if (this.auth.clientHome?.(q.clientId) === m.replica) continue;
      // A byte-identical request we verified on receipt need not be verified again.
      const known = this.pending.get(requestKey(q.clientId, q.requestId));
      if (known && bytesEqual(known.sig, q.sig) && bytesEqual(known.payload, q.payload)) continue;
      if (!this.auth.verifyClient(q.clientId, signedBytes(q), q.sig))
        return this.drop('bad-signature', `client ${q.clientId} in seq ${m.seq}`), false;
    }
    return true;
  }

  /** Record an accepted PRE-PREPARE; a backup sends its signed PREPARE. */
  protected adoptPrePrepare(m: PrePrepareMsg): void {
    const s = this.slot(m.seq);
    s.prePrepare = m;
    if (!this.isPrimary) {
      for (const q of m.batch) {
        const key = requestKey(q.clientId, q.requestId);
        if (this.table.lookup(q.clientId, q.requestId).status === 'new') this.addPending(key, q);
      }
      if (m.seq > this.lastExecuted) this.armRequestTimer();
      const p = this.sign<PrepareMsg>({ type: 'prepare', view: m.view, seq: m.seq, digest: m.digest, replica: this.id, sig: new Uint8Array() });
      s.prepares.set(this.id, p);
      this.send('all', p);
    }
    this.checkPrepared(m.seq);
  }

  protected onPrepare(m: PrepareMsg): void {
    if (m.replica === primaryOf(m.view, this.config.n)) return this.drop('unexpected', 'prepare from the primary');
    if (!this.inAgreementWindow(m.view, m.seq, 'prepare')) return;
    const s = this.slot(m.seq);
    if (s.prepares.has(m.replica)) return;
    // The link authenticated the sender (m.replica === from); the signature is checked in
    // checkPrepared, only if this PREPARE is needed for the prepared certificate.
    s.prepares.set(m.replica, m);
    (s.unverified ??= new Set()).add(m.replica);
    this.checkPrepared(m.seq);
  }

  protected onCommit(m: CommitMsg): void {
    if (!this.inAgreementWindow(m.view, m.seq, 'commit')) return;
    const s = this.slot(m.seq);
    if (s.commits.has(m.replica)) return;
    s.commits.set(m.replica, m);
    this.checkCommitted(m.seq);
  }

  /** prepared(m, v, n, i): PRE-PREPARE plus 2f matching PREPAREs from distinct backups. */
  protected checkPrepared(seq: bigint): void {
    const s = this.log.get(seq);
    if (!s || !s.prePrepare || s.prepared) return;
    const pp = s.prePrepare;
    const need = 2 * this.config.f;
    const candidates = [...s.prepares.values()].filter((p) => bytesEqual(p.digest, pp.digest));
    if (candidates.length < need) return;
    // Signature-check lazily: verified PREPAREs first, then unverified ones until 2f are valid.
    const matching: PrepareMsg[] = [];
    for (const p of candidates) if (!s.unverified?.has(p.replica)) matching.push(p);
    for (const p of candidates) {
      if (matching.length >= need) break;
      if (!s.unverified?.has(p.replica)) continue;
      s.unverified.delete(p.replica);
      if (this.auth.verify(p.replica, signedBytes(p), p.sig)) matching.push(p);
      else {
        s.prepares.delete(p.replica);
        this.drop('bad-signature', `prepare from ${p.replica}`);
      }
    }
    if (matching.length < need) return;
    s.prepared = true;
    matching.sort((a, b) => a.replica - b.replica);
    this.preparedCerts.set(seq, { prePrepare: pp, prepares: matching.slice(0, 2 * this.config.f) });
    if (!s.sentCommit) {
      s.sentCommit = true;
      const c: CommitMsg = { type: 'commit', view: pp.view, seq, digest: pp.digest, replica: this.id };
      s.commits.set(this.id, c);
      this.send('all', c);
    }
    this.checkCommitted(seq);
  }

  /** committed-local(m, v, n, i): prepared and 2f+1 matching COMMITs; then execute in order. */
  protected checkCommitted(seq: bigint): void {
    const s = this.log.get(seq);
    if (!s || !s.prepared || s.committed) return;
    const d = s.prePrepare!.digest;
    let count = 0;
    for (const c of s.commits.values()) if (bytesEqual(c.digest, d)) count++;
    if (count < quorum(this.config)) return;
    s.committed = true;
    this.executeReady();
  }

  // ---- execution (§4.2, §4.1 exactly-once)

  /** Execute every consecutive committed batch after lastExecuted. */
  protected executeReady(): void {
    let progressed = false;
    for (;;) {
      const next = this.lastExecuted + 1n;
      const s = this.log.get(next);
      let batch: readonly RequestMsg[] | undefined;
      if (s?.committed) batch = s.prePrepare!.batch;
      else batch = this.fetchedBatch(next);
      if (!batch) break;
      this.execute(next, batch);
      progressed = true;
    }
    if (progressed) this.afterProgress();
  }

  /** Hook for state transfer: a batch for `seq` confirmed by f+1 replicas, if any. */
  protected abstract fetchedBatch(seq: bigint): readonly RequestMsg[] | undefined;

  /** Execute batch `seq`: skip duplicates/too-old requests, call the app, reply, checkpoint. */
  protected execute(seq: bigint, batch: readonly RequestMsg[]): void {
    const fresh: RequestMsg[] = [];
    const inBatch = new Set<string>();
    for (const q of batch) {
      const key = requestKey(q.clientId, q.requestId);
      // Ordered now, whether fresh or a duplicate/too old: no longer pending anywhere.
      this.removePending(key);
      this.proposed.delete(key);
      if (inBatch.has(key) || this.table.lookup(q.clientId, q.requestId).status !== 'new') continue;
      inBatch.add(key);
      fresh.push(q);
    }
    let results: Uint8Array[] = [];
    if (fresh.length > 0) {
      try {
        results = this.app.executeBatch(
          seq,
          fresh.map((q) => q.payload),
        );
      } catch {
        results = []; // contract violation by the app; every request gets an empty result
      }
    }
    for (let i = 0; i < fresh.length; i++) {
      const q = fresh[i]!;
      const result = results[i] ?? new Uint8Array();
      this.table.record(q.clientId, q.requestId, result, seq);
      this.reply(q.clientId, q.requestId, result);
    }
    this.lastExecuted = seq;
    if (this.nextSeq <= seq) this.nextSeq = seq + 1n;
    this.executedBatches.set(seq, batch);
    this.counters.batchesExecuted++;
    this.counters.requestsExecuted += fresh.length;
    this.out.push({ kind: 'delivered', sequence: seq, count: fresh.length });
    if (seq % this.K === 0n) this.takeCheckpoint(seq);
  }

  /** Forget pending requests that can no longer execute (executed elsewhere or too old). */
  protected purgePending(): void {
    for (const [key, q] of this.pending) {
      if (this.table.lookup(q.clientId, q.requestId).status !== 'new') {
        this.removePending(key);
        this.proposed.delete(key);
      }
    }
  }

  /** After executing: reset back-off, re-arm or cancel the request timer, propose more. */
  protected afterProgress(): void {
    this.backoff = 0;
    if (this.requestTimerArmed) {
      this.requestTimerArmed = false;
      this.cancelTimer('request');
    }
    this.armRequestTimer();
    this.tryPropose(false);
  }

  /**
   * Re-send our own agreement messages for the first few uncommitted slots after
   * lastExecuted (called once per status interval when execution made no progress), so a lost
   * PRE-PREPARE/PREPARE/COMMIT does not force a view change. Receivers ignore duplicates.
   */
  protected retransmitStuckSlots(maxSlots = 4): void {
    if (!this.active) return;
    for (let seq = this.lastExecuted + 1n, i = 0; i < maxSlots; seq++, i++) {
      const s = this.log.get(seq);
      if (!s) continue;
      if (s.committed) continue;
      if (this.isPrimary && s.prePrepare) this.send('all', s.prePrepare);
      const p = s.prepares.get(this.id);
      if (p) this.send('all', p);
      const c = s.commits.get(this.id);
      if (c) this.send('all', c);
    }
  }

  // ---- request timer (§4.4)

  /**
   * Arm the request timer while requests are pending (not while changing views). The primary
   * runs it too: a primary whose proposals cannot commit (lost messages, faulty backups) joins
   * the view change instead of leaving a lone suspecting backup stranded in a higher view.
   */
  protected armRequestTimer(): void {
    if (this.requestTimerArmed || !this.active || this.pending.size === 0) return;
    this.requestTimerArmed = true;
    this.setTimer('request', this.config.requestTimeoutMs);
  }

  /** Request timer expired: suspect the primary unless we are merely lagging behind others. */
  protected onRequestTimer(): void {
    this.requestTimerArmed = false;
    if (!this.active || this.pending.size === 0) return;
    // Lagging behind f+1 progressing replicas is not the primary's fault: fetch state and
    // wait one more period — but only once per sequence number, so stale reports cannot
    // postpone the view change forever.
    if (this.lagging() && this.deferredAt !== this.lastExecuted) {
      this.deferredAt = this.lastExecuted;
      this.needState(this.lastExecuted + 1n);
      this.armRequestTimer();
      return;
    }
    this.startViewChange(this.view + 1n);
  }
}
