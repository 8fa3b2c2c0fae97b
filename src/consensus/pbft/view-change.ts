/**
 * PBFT view change (Castro & Liskov, ACM TOCS 2002, §4.4; liveness rules §4.5.2): VIEW-CHANGE
 * with the stable-checkpoint proof and prepared certificates, NEW-VIEW with the re-proposals
 * O computed from 2f+1 VIEW-CHANGEs, the f+1 "join" rule, and exponential back-off of the
 * view-change timer.
 */
import { NormalCase } from './normal-case.ts';
import { planNewView, primaryOf, quorum, requestKey, verifyNewView, verifyViewChange, type NewViewPlan } from './certificates.ts';
import type { NewViewMsg, PrePrepareMsg, ViewChangeMsg } from './messages.ts';
import { batchDigest } from './codec.ts';

/** VIEW-CHANGE / NEW-VIEW for views further ahead than this are dropped (bounded state). */
export const MAX_VIEW_AHEAD = 1024n;

/** View-change layer of the replica core. */
export abstract class ViewChangeLayer extends NormalCase {
  /** Latest valid VIEW-CHANGE per replica (a correct replica's are monotonic; bounded by n). */
  protected readonly latestViewChange = new Map<number, ViewChangeMsg>();
  private vcTimerArmed = false;

  /**
   * Move to view `v` (> current): stop normal-case processing, broadcast VIEW-CHANGE, arm the
   * view-change timer with timeout requestTimeout · 2^k (k = view changes without progress).
   */
  protected startViewChange(v: bigint): void {
    if (v <= this.view) return;
    this.view = v;
    this.inViewChange = true;
    if (this.requestTimerArmed) {
      this.requestTimerArmed = false;
      this.cancelTimer('request');
    }
    if (this.batchTimerArmed) {
      this.batchTimerArmed = false;
      this.cancelTimer('batch');
    }
    this.batchCooling = false;
    this.log.clear();
    this.proposalQueue.length = 0;
    this.proposed.clear();
    const prepared = [...this.preparedCerts.entries()]
      .filter(([s]) => s > this.h && s <= this.h + this.L)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, c]) => c);
    const vc = this.sign<ViewChangeMsg>({
      type: 'view-change',
      newView: v,
      replica: this.id,
      stableSeq: this.h,
      checkpointProof: this.h === 0n ? [] : this.stableProof,
      prepared,
      sig: new Uint8Array(),
    });
    this.latestViewChange.set(this.id, vc);
    this.send('all', vc);
    if (this.vcTimerArmed) {
      this.vcTimerArmed = false;
      this.cancelTimer('view-change');
    }
    this.checkViewChangeTimer();
    this.maybeSendNewView();
  }

  /**
   * Liveness rule 2 (§4.5.2): the view-change timer starts only once 2f+1 replicas (us
   * included) want the same new view; timeout = requestTimeout · 2^k, k = view changes without
   * progress. A lone replica that suspected the primary therefore cannot race ahead of the rest.
   */
  private checkViewChangeTimer(): void {
    if (!this.inViewChange || this.vcTimerArmed) return;
    // Count replicas that want this view OR A LATER ONE: only the latest VIEW-CHANGE per sender is
    // kept, so replicas that already moved past this view must still count, or two groups waiting
    // for different views never reach 2f+1 and nobody's timer ever starts (found by the cluster
    // simulator, seed 934: silent replica + partitions).
    let count = 0;
    for (const vc of this.latestViewChange.values()) if (vc.newView >= this.view) count++;
    if (count < quorum(this.config)) return;
    const timeout = Math.min(this.config.requestTimeoutMs * 2 ** Math.min(this.backoff, 30), this.config.maxViewChangeTimeoutMs);
    this.backoff++;
    this.vcTimerArmed = true;
    this.setTimer('view-change', timeout);
  }

  /** The view-change timer expired without a NEW-VIEW: try the next view. */
  protected onViewChangeTimer(): void {
    this.vcTimerArmed = false;
    if (this.inViewChange) this.startViewChange(this.view + 1n);
  }

  /** Retransmit our VIEW-CHANGE while the view change is in progress (lossy links). */
  protected retransmitViewChange(): void {
    const mine = this.latestViewChange.get(this.id);
    if (this.inViewChange && mine && mine.newView === this.view) this.send('all', mine);
  }

  protected onViewChange(m: ViewChangeMsg): void {
    if (m.newView < this.view || (m.newView === this.view && !this.inViewChange)) {
      // The sender is behind: help it with the NEW-VIEW that installed our view.
      if (!this.inViewChange && this.currentNewView && verifyViewChange(this, m)) this.send(m.replica, this.currentNewView);
      return this.drop('old-view', `view-change for ${m.newView}`);
    }
    if (m.newView > this.view + MAX_VIEW_AHEAD) return this.drop('out-of-window', `view-change for ${m.newView}`);
    const prev = this.latestViewChange.get(m.replica);
    if (prev && prev.newView >= m.newView) return;
    if (!verifyViewChange(this, m)) return this.drop('bad-certificate', `view-change from ${m.replica}`);
    this.latestViewChange.set(m.replica, m);
    // Join rule (§4.5.2): f+1 replicas want a view above ours → move to the smallest such view
    // that f+1 of them have reached.
    const ahead = [...this.latestViewChange.values()]
      .filter((vc) => vc.newView > this.view && vc.replica !== this.id)
      .map((vc) => vc.newView)
      .sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    if (ahead.length >= this.config.f + 1) this.startViewChange(ahead[this.config.f]!);
    this.checkViewChangeTimer();
    this.maybeSendNewView();
  }

  /** New primary: with 2f+1 VIEW-CHANGEs for our target view (ours included), send NEW-VIEW. */
  private maybeSendNewView(): void {
    const v = this.view;
    if (!this.inViewChange || primaryOf(v, this.config.n) !== this.id) return;
    const mine = this.latestViewChange.get(this.id);
    if (!mine || mine.newView !== v) return;
    const others = [...this.latestViewChange.values()]
      .filter((vc) => vc.newView === v && vc.replica !== this.id)
      .sort((a, b) => a.replica - b.replica);
    if (others.length + 1 < quorum(this.config)) return;
    const viewChanges = [mine, ...others.slice(0, quorum(this.config) - 1)];
    const plan = planNewView(viewChanges);
    const prePrepares = plan.reproposals.map((r) =>
      this.sign<PrePrepareMsg>({
        type: 'pre-prepare',
        view: v,
        seq: r.seq,
        digest: r.digest,
        replica: this.id,
        sig: new Uint8Array(),
        batch: r.batch,
      }),
    );
    const nv = this.sign<NewViewMsg>({ type: 'new-view', view: v, replica: this.id, viewChanges, prePrepares, sig: new Uint8Array() });
    this.send('all', nv);
    this.enterView(nv, plan);
  }

  protected onNewView(m: NewViewMsg): void {
    if (m.view < this.view || (m.view === this.view && !this.inViewChange)) return this.drop('old-view', `new-view ${m.view}`);
    if (m.view > this.view + MAX_VIEW_AHEAD) return this.drop('out-of-window', `new-view ${m.view}`);
    const plan = verifyNewView(this, m);
    if (!plan) return this.drop('bad-certificate', `new-view ${m.view} from ${m.replica}`);
    this.enterView(m, plan);
  }

  /** Install view `nv.view`: adopt its checkpoint, process the re-proposed PRE-PREPAREs. */
  private enterView(nv: NewViewMsg, plan: NewViewPlan): void {
    this.view = nv.view;
    this.inViewChange = false;
    this.currentNewView = nv;
    this.counters.viewChanges++;
    this.vcTimerArmed = false;
    this.cancelTimer('view-change');
    for (const [r, vc] of this.latestViewChange) if (vc.newView <= nv.view) this.latestViewChange.delete(r);
    this.log.clear();
    this.proposalQueue.length = 0;
    this.proposed.clear();
    this.out.push({ kind: 'view-change', view: nv.view });
    if (plan.minS > this.h && plan.checkpointFrom) {
      const proof = plan.checkpointFrom.checkpointProof;
      this.onCheckpointCertified(plan.minS, proof[0]!.stateDigest, proof);
    }
    for (const pp of nv.prePrepares) {
      if (pp.seq <= this.h || pp.seq > this.h + this.L) continue;
      if (this.isPrimary) for (const q of pp.batch) this.proposed.add(requestKey(q.clientId, q.requestId));
      this.adoptPrePrepare(pp);
    }
    if (this.isPrimary) {
      let top = plan.maxS > plan.minS ? plan.maxS : plan.minS;
      if (this.h > top) top = this.h;
      this.nextSeq = top + 1n;
      for (const key of this.pending.keys()) if (!this.proposed.has(key)) this.proposalQueue.push(key);
      this.tryPropose(false);
    }
    this.armRequestTimer();
  }
}

/** Digest of the null request (exported for tests). */
export const NULL_BATCH_DIGEST = batchDigest([]);
