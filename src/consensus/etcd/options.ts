/**
 * Options and counters of the etcd consensus adapter (`adapter.ts`). Sizes in bytes, times in ms,
 * intervals in etcd revisions.
 */

import type { EtcdCredentials } from './auth.ts';

/** Options of {@link createEtcdAdapter}. */
export interface EtcdAdapterOptions {
  /** etcd client URLs, e.g. `['http://127.0.0.1:2379', ...]` (any subset of the members works). */
  readonly endpoints: readonly string[];
  /** This CART replica's index (names its log key and its checkpoint votes). */
  readonly replicaId: number;
  /** Key prefix of this CART deployment in etcd. Default `"cart/"`. */
  readonly prefix?: string;
  /** Folder for this replica's local checkpoint file; without it, a restart replays from etcd. */
  readonly stateDir?: string;
  /** Checkpoint whenever a batch's revision crosses a multiple of this. Default 1000 revisions. */
  readonly checkpointInterval?: number;
  /** Matching checkpoint digests needed to restore from etcd (CART: f+1). Default 1. */
  readonly snapshotQuorum?: number;
  /** Compact etcd's history at stable checkpoints (the etcd cluster is CART's alone). Default true. */
  readonly compact?: boolean;
  /**
   * Revisions of history kept below the newest stable checkpoint when compacting, so replicas a
   * little behind catch up by replay instead of state transfer. Default `checkpointInterval`.
   */
  readonly retainRevisions?: number;
  /** Largest accepted request in bytes. Default 1 MiB − 16 (etcd's default request limit is 1.5 MiB). */
  readonly maxRequestBytes?: number;
  /** Largest log entry (a batch of requests) in bytes. Default 1 MiB. */
  readonly maxBatchBytes?: number;
  /** Concurrent log appends. Default 8. */
  readonly maxInFlight?: number;
  /** Deadline of each etcd unary call, in ms. Default 5000. */
  readonly callTimeoutMs?: number;
  /**
   * gRPC keep-alive interval and timeout on open streams, in ms (≥ 5000: etcd rejects more
   * frequent pings). A member that stops answering is given up after about twice this. Default 10 000.
   */
  readonly keepaliveMs?: number;
  /** Watch liveness probe period in ms (a progress request must be answered). Default 5000. */
  readonly watchLivenessMs?: number;
  /** etcd login of this replica (see `configureEtcdAuth`); default: no authentication. */
  readonly auth?: EtcdCredentials;
  /** Snapshot chunk size in etcd, bytes. Default 512 KiB. */
  readonly chunkBytes?: number;
  /** Uniform [0,1) source for retry jitter (injected). Default `Math.random`. */
  readonly random?: () => number;
}

/** Counters of one etcd adapter (for metrics and tests). */
export interface EtcdAdapterStats {
  /** Revision of the last delivered batch or restored checkpoint (0 = nothing yet). */
  appliedSequence: bigint;
  batchesDelivered: number;
  requestsDelivered: number;
  /** Log entries that did not decode (dropped). */
  malformedEntries: number;
  /** Events at or below the applied revision (re-sent after a reconnect; dropped). */
  duplicateEvents: number;
  logAppends: number;
  failedAppends: number;
  watchConnects: number;
  watchErrors: number;
  /** Times the needed revision was found compacted. */
  compactionsHit: number;
  /** Snapshots restored from etcd (state transfers). */
  stateTransfers: number;
  /** Checkpoints taken / published to etcd / stable checkpoints collected. */
  checkpointsTaken: number;
  checkpointsPublished: number;
  garbageCollections: number;
  /** Whether the start restored a local checkpoint. */
  restoredLocal: boolean;
}
