/**
 * {@link PbftReplica}: the deterministic PBFT replica core — the public entry point — plus the
 * state-transfer layer (Castro & Liskov, ACM TOCS 2002, §4.3, §5.3.2 "state transfer").
 *
 * State transfer: a replica learns it is behind from a 2f+1 checkpoint certificate for a state
 * it does not have, from a NEW-VIEW whose min-s exceeds its state, or from STATUS gossip where
 * f+1 peers report a higher last executed sequence number. It then sends FETCH to all; peers
 * answer with STATE = their stable checkpoint's snapshot with its 2f+1 proof (if newer than the
 * fetcher's state) and the batches they executed after it. The fetcher installs a snapshot only
 * if SHA-256(snapshot) equals the certified digest, and executes a fetched batch only once f+1
 * replicas sent the same batch for that sequence number (one of them is correct). FETCHes are
 * rate-limited to one per status interval in each direction.
 */
import type { ReplicaInput, ReplicaOutput } from './api.ts';
import { ViewChangeLayer } from './view-change.ts';
import { primaryOf, requestKey, verifyCheckpointProof } from './certificates.ts';
import { decodeCoreState } from './client-table.ts';
import { DecodeError, batchDigest, bytesEqual, decodeMessage, sha256, signedBytes, toHex } from './codec.ts';
import type { CheckpointMsg, FetchMsg, PbftMessage, RequestMsg, StateMsg, StatusMsg } from './messages.ts';

/** Status intervals before the same checkpoint snapshot is sent again to the same replica. */
const SNAPSHOT_RESEND_TICKS = 5;

/**
 * One PBFT replica as a deterministic state machine. Construct, call {@link start} once, then
 * feed every input to {@link handle} and perform the returned outputs in order (see `api.ts`
 * for the runtime contract). Never throws from `start`/`handle`; bad input is counted in
 * {@link PbftReplica.metrics}.
 *
 * @throws {PbftConfigError} from the constructor on an invalid config or replica id
 */
export class PbftReplica extends ViewChangeLayer {
  private fetchCooldown = false;
  private executedAtLastTick = -1n;
  /** Status-timer ticks so far (a coarse clock for rate limits). */
  private ticks = 0;
  /** Per requester: the checkpoint whose snapshot we last sent it, and when (tick). */
  private readonly snapshotServed = new Map<number, { seq: bigint; tick: number }>();
  private readonly servedFetch = new Set<number>();
  /** Highest certified checkpoint we lack the state for. */
  private stateTarget = 0n;
  /** Fetched batches by seq, then by sender (one claim per sender and seq: a liar cannot crowd out others). */
  private readonly fetched = new Map<bigint, Map<number, { digest: string; batch: readonly RequestMsg[] }>>();

  /** Begin: arm the status timer and ask peers for newer state (a restarted replica catches up). */
  start(): ReplicaOutput[] {
    this.out = [];
    this.setTimer('status', this.config.statusIntervalMs);
    this.fetch();
    return this.flush();
  }

  /** Process one input; returns the effects to perform, in order. Never throws. */
  handle(input: ReplicaInput): ReplicaOutput[] {
    this.out = [];
    try {
      switch (input.kind) {
        case 'message':
          this.onMessage(input.from, input.bytes);
          break;
        case 'request':
          this.onClientBytes(input.bytes, input.local === true);
          break;
        case 'timer':
          this.onTimer(input.timer);
          break;
        default:
          this.drop('unexpected', 'unknown input kind');
      }
    } catch (e) {
      this.drop('internal-error', e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e));
    }
    return this.flush();
  }

  private flush(): ReplicaOutput[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private onClientBytes(bytes: Uint8Array, local: boolean): void {
    let m: PbftMessage;
    try {
      m = decodeMessage(bytes);
    } catch (e) {
      if (e instanceof DecodeError) return this.drop('malformed', `client frame: ${e.message}`);
      throw e;
    }
    if (m.type !== 'request') return this.drop('unexpected', `${m.type} on a client connection`);
    this.onRequest(m, false, local ? this.id : undefined);
  }

  private onMessage(from: number, bytes: Uint8Array): void {
    if (!Number.isInteger(from) || from < 0 || from >= this.config.n || from === this.id)
      return this.drop('wrong-sender', `sender ${from}`);
    let m: PbftMessage;
    try {
      m = decodeMessage(bytes);
    } catch (e) {
      if (e instanceof DecodeError) return this.drop('malformed', `from ${from}: ${e.message}`);
      throw e;
    }
    if (m.type === 'request') return this.onRequest(m, true, from);
    if (m.type === 'reply') return this.drop('unexpected', `reply from replica ${from}`);
    // NEW-VIEW is self-certifying (signed by the new primary, carries 2f+1 signed VIEW-CHANGEs),
    // so any replica may relay it to one stuck in an older view.
    if (m.type === 'new-view') return this.onNewView(m);
    if (m.replica !== from) return this.drop('wrong-sender', `${m.type} claims ${m.replica}, link says ${from}`);
    switch (m.type) {
      case 'pre-prepare':
        return this.onPrePrepare(m);
      case 'prepare':
        return this.onPrepare(m);
      case 'commit':
        return this.onCommit(m);
      case 'checkpoint':
        return this.onCheckpoint(m);
      case 'view-change':
        return this.onViewChange(m);
      case 'status':
        return this.onStatus(m);
      case 'fetch':
        return this.onFetch(m);
      case 'state':
        return this.onState(m);
    }
  }

  private onTimer(timer: string): void {
    switch (timer) {
      case 'batch':
        return this.onBatchTimer();
      case 'request':
        return this.onRequestTimer();
      case 'view-change':
        return this.onViewChangeTimer();
      case 'status':
        return this.onStatusTimer();
      default:
        return this.drop('unexpected', `timer ${timer}`);
    }
  }

  // ---- checkpoints from peers (§4.3)

  private onCheckpoint(m: CheckpointMsg): void {
    if (m.seq % this.K !== 0n || m.seq === 0n) return this.drop('bad-certificate', `checkpoint at ${m.seq}`);
    const top = (this.lastExecuted > this.h ? this.lastExecuted : this.h) + this.L;
    if (m.seq <= this.h || m.seq > top) return this.drop('out-of-window', `checkpoint ${m.seq}`);
    if (this.checkpointVotes.get(m.seq)?.has(m.replica)) return;
    if (!this.auth.verify(m.replica, signedBytes(m), m.sig)) return this.drop('bad-signature', `checkpoint from ${m.replica}`);
    this.recordCheckpointVote(m);
  }

  protected afterWindowMoved(): void {
    this.tryPropose(false);
  }

  // ---- status gossip and lag detection

  private onStatusTimer(): void {
    this.ticks++;
    this.setTimer('status', this.config.statusIntervalMs);
    const status: StatusMsg = { type: 'status', replica: this.id, view: this.view, lastExecuted: this.lastExecuted, stableSeq: this.h };
    this.send('all', status);
    this.fetchCooldown = false;
    this.servedFetch.clear();
    for (const s of this.fetched.keys()) if (s <= this.lastExecuted) this.fetched.delete(s);
    this.purgePending();
    if (this.stateTarget > this.lastExecuted || this.lagging()) this.fetch();
    this.retransmitViewChange();
    if (this.lastExecuted === this.executedAtLastTick) this.retransmitStuckSlots();
    this.executedAtLastTick = this.lastExecuted;
  }

  private onStatus(m: StatusMsg): void {
    this.peerStatus.set(m.replica, m);
    if (m.view < this.view && !this.inViewChange && this.currentNewView) this.send(m.replica, this.currentNewView);
  }

  /** True if f+1 peers report a higher last executed sequence number than ours. */
  protected lagging(): boolean {
    const theirs = [...this.peerStatus.values()].map((s) => s.lastExecuted).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    return theirs.length > this.config.f && theirs[this.config.f]! > this.lastExecuted;
  }

  protected needState(seq: bigint): void {
    if (seq > this.stateTarget) this.stateTarget = seq;
    this.fetch();
  }

  private fetch(): void {
    if (this.fetchCooldown) return;
    this.fetchCooldown = true;
    const m: FetchMsg = { type: 'fetch', replica: this.id, lastExecuted: this.lastExecuted };
    this.send('all', m);
  }

  // ---- state transfer (§5.3.2)

  private onFetch(m: FetchMsg): void {
    if (this.servedFetch.has(m.replica)) return;
    // Send a given snapshot to a given replica at most once per SNAPSHOT_RESEND_TICKS status
    // intervals: a large snapshot may take longer to arrive than one interval.
    const served = this.snapshotServed.get(m.replica);
    const recentlySent = served !== undefined && served.seq === this.h && this.ticks - served.tick < SNAPSHOT_RESEND_TICKS;
    const withCheckpoint = this.h > m.lastExecuted && this.stableSnapshot !== undefined && !recentlySent;
    if (withCheckpoint) this.snapshotServed.set(m.replica, { seq: this.h, tick: this.ticks });
    const from = (withCheckpoint ? this.h : m.lastExecuted) + 1n;
    const batches: { seq: bigint; batch: readonly RequestMsg[] }[] = [];
    for (let s = from; s <= this.lastExecuted && batches.length < this.config.watermarkWindow; s++) {
      const b = this.executedBatches.get(s);
      if (!b) break;
      batches.push({ seq: s, batch: b });
    }
    if (!withCheckpoint && batches.length === 0) return;
    this.servedFetch.add(m.replica);
    const reply: StateMsg = {
      type: 'state',
      replica: this.id,
      checkpoint: withCheckpoint ? { seq: this.h, snapshot: this.stableSnapshot!, proof: this.stableProof } : undefined,
      batches,
    };
    this.send(m.replica, reply);
  }

  private onState(m: StateMsg): void {
    const cp = m.checkpoint;
    if (cp && cp.seq > this.lastExecuted && cp.seq > this.h) this.installCheckpoint(cp.seq, cp.snapshot, cp.proof);
    for (const b of m.batches) {
      if (b.seq <= this.lastExecuted || b.seq > this.lastExecuted + this.L) continue;
      if (b.batch.length > this.config.batchMaxSize) {
        this.drop('too-large', `fetched batch of ${b.batch.length}`);
        continue;
      }
      let bySeq = this.fetched.get(b.seq);
      if (!bySeq) {
        bySeq = new Map();
        this.fetched.set(b.seq, bySeq);
      }
      bySeq.set(m.replica, { digest: toHex(batchDigest(b.batch)), batch: b.batch });
    }
    this.executeReady();
  }

  /** Verify and install a certified checkpoint snapshot (drops and counts on any mismatch). */
  private installCheckpoint(seq: bigint, snapshot: Uint8Array, proof: readonly CheckpointMsg[]): void {
    if (seq % this.K !== 0n) return this.drop('bad-certificate', `state at ${seq}`);
    if (snapshot.length > this.config.maxSnapshotBytes) return this.drop('too-large', `snapshot ${snapshot.length} bytes`);
    const digest = verifyCheckpointProof(this, seq, proof);
    if (!digest) return this.drop('bad-certificate', `checkpoint proof for ${seq}`);
    if (!bytesEqual(sha256(snapshot), digest)) return this.drop('bad-snapshot', `digest mismatch at ${seq}`);
    let decoded: ReturnType<typeof decodeCoreState>;
    try {
      decoded = decodeCoreState(snapshot, this.config.clientWindow, this.config.maxClients);
      this.app.restore(decoded.app, seq);
    } catch (e) {
      return this.drop('bad-snapshot', `restore at ${seq}: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.table = decoded.table;
    this.lastExecuted = seq;
    this.purgePending();
    if (this.nextSeq <= seq) this.nextSeq = seq + 1n;
    this.ownCheckpoints.set(seq, { digest, snapshot });
    this.counters.stateTransfers++;
    this.out.push({ kind: 'state-transfer', sequence: seq });
    this.makeStable(seq, proof, snapshot);
    this.afterProgress();
  }

  protected fetchedBatch(seq: bigint): readonly RequestMsg[] | undefined {
    const bySeq = this.fetched.get(seq);
    if (!bySeq) return undefined;
    const votes = new Map<string, number>();
    for (const claim of bySeq.values()) {
      const k = (votes.get(claim.digest) ?? 0) + 1;
      votes.set(claim.digest, k);
      if (k > this.config.f) {
        this.fetched.delete(seq);
        return claim.batch;
      }
    }
    return undefined;
  }

  /** Number of retained protocol records (log slots, certificates, batches, votes) — a gauge. */
  logSize(): number {
    return this.log.size + this.preparedCerts.size + this.executedBatches.size + this.checkpointVotes.size + this.fetched.size + this.ownCheckpoints.size;
  }

  /** Human-readable one-line state (logs, failing simulation reports). */
  describe(): string {
    const p = primaryOf(this.view, this.config.n);
    return `replica ${this.id}: view ${this.view}${this.inViewChange ? ' (changing)' : ''} primary ${p} h ${this.h} executed ${this.lastExecuted} pending ${this.pending.size} log ${this.log.size}`;
  }
}

/** Exported for the simulator and tests: the request map key. */
export { requestKey };
