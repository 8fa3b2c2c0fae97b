/**
 * Shared state and plumbing of the PBFT replica core: configuration checks, output buffer,
 * drop accounting, the message log, exactly-once table, checkpoints and garbage collection.
 * The protocol phases build on it: `normal-case.ts` → `view-change.ts` → `replica.ts`
 * (state transfer and the public {@link PbftReplica}).
 */
import type {
  Authenticator,
  DropReason,
  PbftApplication,
  PbftConfig,
  PbftMetrics,
  PbftReplicaOptions,
  ReplicaOutput,
  ReplicaTimer,
} from './api.ts';
import { type CertContext, quorum } from './certificates.ts';
import { ClientTable, encodeCoreState } from './client-table.ts';
import { bytesEqual, encodeMessage, sha256, signedBytes } from './codec.ts';
import { CODEC_LIMITS } from './byte-io.ts';
import type {
  CheckpointMsg,
  CommitMsg,
  NewViewMsg,
  PbftMessage,
  PrePrepareMsg,
  PrepareMsg,
  PreparedCert,
  RequestMsg,
  StatusMsg,
} from './messages.ts';

/** Invalid {@link PbftConfig} or replica id. */
export class PbftConfigError extends Error {
  override readonly name = 'PbftConfigError';
}

/**
 * Validate a configuration.
 * @throws {PbftConfigError} if n ≠ 3f+1, f < 1 (f = 0 allowed only with n = 1), K < 1,
 *   L not a multiple of K or < 2K, or a size/time limit is not positive
 */
export function validateConfig(c: PbftConfig): void {
  const bad = (msg: string): never => {
    throw new PbftConfigError(msg);
  };
  if (!Number.isInteger(c.f) || c.f < 0) bad(`f must be a non-negative integer, got ${c.f}`);
  if (c.n !== 3 * c.f + 1) bad(`n must equal 3f+1 (f=${c.f} → n=${3 * c.f + 1}), got n=${c.n}`);
  if (c.n > 256) bad('at most 256 replicas');
  if (!Number.isInteger(c.checkpointInterval) || c.checkpointInterval < 1) bad('checkpointInterval must be ≥ 1');
  const L = c.watermarkWindow;
  if (!Number.isInteger(L) || L < 2 * c.checkpointInterval || L % c.checkpointInterval !== 0)
    bad('watermarkWindow must be a multiple of checkpointInterval and ≥ 2·checkpointInterval');
  for (const k of ['batchMaxSize', 'requestTimeoutMs', 'maxViewChangeTimeoutMs', 'statusIntervalMs', 'maxRequestBytes', 'clientWindow', 'maxPendingRequests', 'maxSnapshotBytes'] as const) {
    if (!(c[k] > 0)) bad(`${k} must be positive`);
  }
  // a larger snapshot could neither be decoded (codec bound) nor sent over the replica mesh
  if (c.maxSnapshotBytes > CODEC_LIMITS.maxSnapshotBytes) bad(`maxSnapshotBytes must be ≤ ${CODEC_LIMITS.maxSnapshotBytes} (1 GiB), got ${c.maxSnapshotBytes}`);
  if (!(c.batchMaxDelayMs >= 0)) bad('batchMaxDelayMs must be ≥ 0');
  if (c.batchMinIntervalMs !== undefined && !(c.batchMinIntervalMs >= 0)) bad('batchMinIntervalMs must be ≥ 0');
  if (c.maxClients !== undefined && !(Number.isInteger(c.maxClients) && c.maxClients >= 1)) bad('maxClients must be a positive integer');
}

/** Per-sequence-number agreement state for the current view. */
export interface Slot {
  prePrepare: PrePrepareMsg | undefined;
  prepares: Map<number, PrepareMsg>;
  /**
   * Senders whose PREPARE in `prepares` is not signature-checked yet: the link authenticated the
   * sender; the signature (needed only if the PREPARE enters a prepared certificate) is checked
   * lazily, for just as many PREPAREs as the certificate needs (see `checkPrepared`).
   */
  unverified?: Set<number>;
  commits: Map<number, CommitMsg>;
  prepared: boolean;
  committed: boolean;
  sentCommit: boolean;
}

/** Own checkpoint at a sequence number: the snapshot and its digest. */
export interface OwnCheckpoint {
  readonly digest: Uint8Array;
  readonly snapshot: Uint8Array;
}

const DROP_REASONS: readonly DropReason[] = [
  'malformed',
  'wrong-sender',
  'bad-signature',
  'out-of-window',
  'old-view',
  'not-primary',
  'conflicting',
  'bad-digest',
  'bad-certificate',
  'too-large',
  'old-request',
  'queue-full',
  'bad-snapshot',
  'unexpected',
  'internal-error',
];

/** Base class holding the replica's state; see the module doc. */
export abstract class ReplicaBase implements CertContext {
  // ---- protocol state (Castro & Liskov TOCS 2002 §4)
  /** Current view v. While `inViewChange`, v is the view being changed to. */
  protected view = 0n;
  protected inViewChange = false;
  /** Low watermark h = last stable checkpoint. */
  protected h = 0n;
  protected stableProof: readonly CheckpointMsg[] = [];
  /** Core-state snapshot at h (served in state transfer); undefined at h = 0. */
  protected stableSnapshot: Uint8Array | undefined;
  protected lastExecuted = 0n;
  /** Agreement slots of the current view, by sequence number in (h, h+L]. */
  protected readonly log = new Map<bigint, Slot>();
  /** Highest-view prepared certificate per sequence number > h (the P set of VIEW-CHANGE). */
  protected readonly preparedCerts = new Map<bigint, PreparedCert>();
  /** Batches executed after h, by sequence number (served to lagging replicas). */
  protected readonly executedBatches = new Map<bigint, readonly RequestMsg[]>();
  /** Own checkpoints above h (and at h). */
  protected readonly ownCheckpoints = new Map<bigint, OwnCheckpoint>();
  /** Checkpoint votes by sequence number, then by replica. */
  protected readonly checkpointVotes = new Map<bigint, Map<number, CheckpointMsg>>();
  /** Exactly-once table (replicated state, part of checkpoints). */
  protected table: ClientTable;
  /** Requests known and not yet executed, by request key (bounded by maxPendingRequests). */
  protected readonly pending = new Map<string, RequestMsg>();
  /** Number of pending requests per client (each client is capped at clientWindow). */
  private readonly pendingPerClient = new Map<string, number>();
  /** The NEW-VIEW that installed the current view (re-sent to replicas stuck in older views). */
  protected currentNewView: NewViewMsg | undefined;
  /** Latest STATUS from every peer. */
  protected readonly peerStatus = new Map<number, StatusMsg>();

  // ---- bookkeeping
  protected out: ReplicaOutput[] = [];
  protected readonly counters = {
    requestsExecuted: 0,
    batchesExecuted: 0,
    viewChanges: 0,
    stateTransfers: 0,
  };
  protected readonly dropped: Record<DropReason, number>;

  constructor(
    readonly id: number,
    readonly config: PbftConfig,
    protected readonly app: PbftApplication,
    readonly auth: Authenticator,
    protected readonly opts: PbftReplicaOptions = {},
  ) {
    validateConfig(config);
    if (!Number.isInteger(id) || id < 0 || id >= config.n) throw new PbftConfigError(`replica id ${id} not in 0..${config.n - 1}`);
    this.table = new ClientTable(config.clientWindow, config.maxClients);
    this.dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  }

  // ---- pending requests (bounded overall and per client)

  /**
   * Add a request to the pending set. Returns false (caller counts the drop) if the replica
   * holds maxPendingRequests already or this client has clientWindow requests pending.
   */
  protected addPending(key: string, q: RequestMsg): boolean {
    if (this.pending.has(key)) return true;
    if (this.pending.size >= this.config.maxPendingRequests) return false;
    const k = this.pendingPerClient.get(q.clientId) ?? 0;
    if (k >= this.config.clientWindow) return false;
    this.pending.set(key, q);
    this.pendingPerClient.set(q.clientId, k + 1);
    return true;
  }

  /** Remove a request from the pending set (no-op if absent). */
  protected removePending(key: string): void {
    const q = this.pending.get(key);
    if (!q) return;
    this.pending.delete(key);
    const k = (this.pendingPerClient.get(q.clientId) ?? 1) - 1;
    if (k <= 0) this.pendingPerClient.delete(q.clientId);
    else this.pendingPerClient.set(q.clientId, k);
  }

  // ---- output helpers

  protected drop(reason: DropReason, detail: string): void {
    this.dropped[reason]++;
    try {
      this.opts.onDrop?.(reason, detail);
    } catch {
      /* a logging hook must not break the core */
    }
  }
  protected send(to: number | 'all', m: PbftMessage): void {
    this.out.push({ kind: 'send', to, bytes: encodeMessage(m) });
  }
  protected setTimer(timer: ReplicaTimer, afterMs: number): void {
    this.out.push({ kind: 'set-timer', timer, afterMs });
  }
  protected cancelTimer(timer: ReplicaTimer): void {
    this.out.push({ kind: 'cancel-timer', timer });
  }
  protected sign<T extends { sig: Uint8Array }>(m: T): T {
    return { ...m, sig: this.auth.sign(signedBytes(m as never)) };
  }
  protected get L(): bigint {
    return BigInt(this.config.watermarkWindow);
  }
  protected get K(): bigint {
    return BigInt(this.config.checkpointInterval);
  }

  // ---- checkpoints (§4.3)

  /** Take a checkpoint after executing `seq` (a multiple of K): store it and broadcast CHECKPOINT. */
  protected takeCheckpoint(seq: bigint): void {
    const snapshot = encodeCoreState(this.table, this.app.snapshot());
    const digest = sha256(snapshot);
    this.ownCheckpoints.set(seq, { digest, snapshot });
    const msg = this.sign<CheckpointMsg>({ type: 'checkpoint', seq, stateDigest: digest, replica: this.id, sig: new Uint8Array() });
    this.send('all', msg);
    this.recordCheckpointVote(msg);
  }

  /** Add a (validated) checkpoint vote and check whether `seq` became certified. */
  protected recordCheckpointVote(m: CheckpointMsg): void {
    if (m.seq <= this.h) return;
    let votes = this.checkpointVotes.get(m.seq);
    if (!votes) {
      votes = new Map();
      this.checkpointVotes.set(m.seq, votes);
    }
    if (votes.has(m.replica)) return;
    votes.set(m.replica, m);
    const matching = [...votes.values()].filter((v) => bytesEqual(v.stateDigest, m.stateDigest));
    if (matching.length >= quorum(this.config)) {
      matching.sort((a, b) => a.replica - b.replica);
      this.onCheckpointCertified(m.seq, m.stateDigest, matching.slice(0, quorum(this.config)));
    }
  }

  /**
   * A 2f+1 proof for checkpoint `seq` exists. If our own state at `seq` matches, the checkpoint
   * becomes stable; otherwise we are behind (or diverged) and need state transfer.
   */
  protected onCheckpointCertified(seq: bigint, digest: Uint8Array, proof: readonly CheckpointMsg[]): void {
    if (seq <= this.h) return;
    const own = this.ownCheckpoints.get(seq);
    if (own && bytesEqual(own.digest, digest)) {
      this.makeStable(seq, proof, own.snapshot);
    } else {
      this.needState(seq);
    }
  }

  /** Advance the low watermark to `seq` and garbage-collect everything at or below it. */
  protected makeStable(seq: bigint, proof: readonly CheckpointMsg[], snapshot: Uint8Array): void {
    if (seq <= this.h) return;
    this.h = seq;
    this.stableProof = proof;
    this.stableSnapshot = snapshot;
    for (const m of [this.log, this.preparedCerts, this.executedBatches, this.checkpointVotes] as Map<bigint, unknown>[]) {
      for (const k of m.keys()) if (k <= seq) m.delete(k);
    }
    for (const k of this.ownCheckpoints.keys()) if (k < seq) this.ownCheckpoints.delete(k);
    this.out.push({ kind: 'stable-checkpoint', sequence: seq });
    this.afterWindowMoved();
  }

  /** Hook: the watermark window moved (primary may propose more). */
  protected abstract afterWindowMoved(): void;
  /** Hook: state at/after `seq` is certified but we do not have it — fetch it. */
  protected abstract needState(seq: bigint): void;

  // ---- metrics

  /** Snapshot of counters and gauges. */
  metrics(): PbftMetrics {
    return {
      view: this.view,
      lastExecuted: this.lastExecuted,
      stableCheckpoint: this.h,
      ...this.counters,
      logEntries: this.log.size + this.preparedCerts.size + this.executedBatches.size + this.checkpointVotes.size,
      pendingRequests: this.pending.size,
      dropped: { ...this.dropped },
    };
  }
}
