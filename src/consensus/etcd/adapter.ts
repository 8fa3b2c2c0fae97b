/**
 * CART over etcd: a {@link ConsensusAdapter} that uses an etcd cluster (Raft) as the ordering
 * protocol.
 *
 * - **Submit** (BFT client handler side): requests are appended to the log as etcd `Put`s of key
 *   `<prefix>log/<replicaId>` whose value is a batch of requests (`appender.ts`, `codec.ts`);
 *   `submit` resolves once Raft committed the put, i.e. the request is ordered.
 * - **Deliver** (application proxy side): every CART replica watches `<prefix>log/` from its last
 *   applied revision + 1 and delivers, per etcd revision, one {@link OrderedBatch} with
 *   `sequence` = the revision. Revisions are totally ordered and identical for all watchers, so
 *   every replica executes the same batches in the same order; revisions ≤ the last applied one
 *   are dropped, so each batch is executed exactly once, also across watch reconnects.
 * - **Checkpoints**: when a batch's revision crosses a multiple of `checkpointInterval`, the
 *   replica snapshots the proxy, persists `(revision, snapshot)` to `stateDir` (so a restarted
 *   replica restores and resumes watching from revision + 1) and publishes it to etcd
 *   (`checkpoints.ts`); a checkpoint with `snapshotQuorum` matching digests is stable and used to
 *   garbage-collect and compact etcd's history.
 * - **Compaction**: if the revision a replica needs was compacted, it restores the oldest stable
 *   checkpoint from etcd that covers the compaction point (digest-verified) and replays the rest.
 *
 * Malformed log entries (not written by a CART adapter) are dropped and counted; the batch is
 * still delivered (possibly empty) so that all replicas agree. etcd is crash-fault tolerant only:
 * see `docs/etcd.md` for what the combination guarantees.
 */
import { Etcd3, type IWatchResponse } from 'etcd3';
import type { AdapterEvent, ApplicationProxy, ConsensusAdapter, OrderedBatch } from '../adapter.ts';
import { decodeLogEntry } from './codec.ts';
import { LogAppender } from './appender.ts';
import { EtcdCheckpointStore } from './checkpoints.ts';
import {
  EtcdAdapterStoppedError,
  EtcdDecodeError,
  EtcdRequestTooLargeError,
  EtcdStaleStateError,
  EtcdStateTransferUnavailableError,
  EtcdSubmitError,
} from './errors.ts';
import { checkpointPath, loadLocalCheckpoint, saveLocalCheckpoint } from './local-state.ts';
import { prefixRangeEnd, ResumableWatch } from './watch.ts';
import { backoffDelay } from '../../net/backoff.ts';
import type { EtcdAdapterOptions, EtcdAdapterStats } from './options.ts';

export type { EtcdAdapterOptions, EtcdAdapterStats } from './options.ts';

/**
 * Create an etcd-backed consensus adapter for one CART replica (not started; call `start`).
 * @throws {RangeError} on invalid options
 */
export function createEtcdAdapter(options: EtcdAdapterOptions): EtcdAdapter {
  return new EtcdAdapter(options);
}

/** See the module comment. Create with {@link createEtcdAdapter}. */
export class EtcdAdapter implements ConsensusAdapter {
  readonly protocol = 'etcd';
  private readonly prefix: string;
  private readonly interval: bigint;
  private readonly maxRequestBytes: number;
  private readonly maxBatchBytes: number;
  private readonly random: () => number;
  private client: Etcd3 | undefined;
  private store: EtcdCheckpointStore | undefined;
  private watch: ResumableWatch | undefined;
  private proxy: ApplicationProxy | undefined;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private applied = 0n;
  /** Aborted by `stop()`: ends back-off sleeps at once. */
  private readonly stopped = new AbortController();
  /** etcd cluster id (from response headers), stored with local checkpoints. */
  private clusterId = 0n;
  private failed = false;
  private appender: LogAppender | undefined;
  private nextCheckpoint: { sequence: bigint; snapshot: Uint8Array } | undefined;
  private publisher: Promise<void> | undefined;
  private recovering: Promise<void> | undefined;
  private readonly listeners: ((e: AdapterEvent) => void)[] = [];
  private readonly counters: EtcdAdapterStats = {
    appliedSequence: 0n, batchesDelivered: 0, requestsDelivered: 0, malformedEntries: 0,
    duplicateEvents: 0, logAppends: 0, failedAppends: 0, watchConnects: 0, watchErrors: 0,
    compactionsHit: 0, stateTransfers: 0, checkpointsTaken: 0, checkpointsPublished: 0,
    garbageCollections: 0, restoredLocal: false,
  };

  constructor(private readonly options: EtcdAdapterOptions) {
    if (options.endpoints.length === 0) throw new RangeError('etcd adapter needs at least one endpoint');
    if (!Number.isInteger(options.replicaId) || options.replicaId < 0) throw new RangeError('replicaId must be a non-negative integer');
    this.prefix = options.prefix ?? 'cart/';
    if (!this.prefix.endsWith('/')) throw new RangeError('prefix must end with "/"');
    const interval = options.checkpointInterval ?? 1000;
    if (!Number.isInteger(interval) || interval < 1) throw new RangeError('checkpointInterval must be a positive integer');
    this.interval = BigInt(interval);
    this.maxBatchBytes = options.maxBatchBytes ?? 1024 * 1024;
    this.maxRequestBytes = Math.min(options.maxRequestBytes ?? 1024 * 1024 - 16, this.maxBatchBytes - 9);
    this.random = options.random ?? Math.random;
  }

  /** Counters (a copy). */
  stats(): EtcdAdapterStats {
    return {
      ...this.counters,
      appliedSequence: this.applied,
      watchConnects: this.watch?.connects ?? 0,
      logAppends: this.appender?.appends ?? 0,
      failedAppends: this.appender?.failedAppends ?? 0,
    };
  }

  onEvent(listener: (event: AdapterEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(event: AdapterEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a listener's bug must not stop delivery
      }
    }
  }

  private get logKey(): string {
    return `${this.prefix}log/${this.options.replicaId}`;
  }

  /**
   * Connect to etcd, restore the local checkpoint (if `stateDir` holds one) and start watching
   * the log. Resolves once etcd answered a read, i.e. `submit` can append.
   * @throws {EtcdSubmitError} if no etcd endpoint answers within the call deadline
   * @throws {EtcdAdapterStoppedError} if the adapter was stopped or already started
   */
  async start(proxy: ApplicationProxy): Promise<void> {
    if (this.state !== 'new') throw new EtcdAdapterStoppedError(this.options.replicaId);
    this.state = 'running';
    this.proxy = proxy;
    const timeout = this.options.callTimeoutMs ?? 5000;
    const client = new Etcd3({
      hosts: [...this.options.endpoints],
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      ...(this.options.auth !== undefined ? { auth: { ...this.options.auth } } : {}),
      // Snapshot chunks and fragmented watch responses stay below etcd's request limit
      // (1.5 MiB by default); allow servers configured with larger limits.
      // Keep-alive pings on open streams detect a member that hangs without closing its
      // connections (etcd's default --grpc-keepalive-min-time is 5 s; pinging more often gets
      // the connection closed by the server).
      grpcOptions: {
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
        'grpc.keepalive_time_ms': this.options.keepaliveMs ?? 10_000,
        'grpc.keepalive_timeout_ms': this.options.keepaliveMs ?? 10_000,
      },
    });
    this.client = client;
    this.appender = new LogAppender(client, {
      key: this.logKey,
      maxBatchBytes: this.maxBatchBytes,
      maxInFlight: this.options.maxInFlight ?? 8,
    });
    this.store = new EtcdCheckpointStore(client, {
      prefix: this.prefix,
      replicaId: this.options.replicaId,
      quorum: this.options.snapshotQuorum ?? 1,
      chunkBytes: this.options.chunkBytes ?? 512 * 1024,
      compact: this.options.compact ?? true,
      retainRevisions: BigInt(this.options.retainRevisions ?? Number(this.interval)),
    });
    let header: { cluster_id: string; revision: string };
    try {
      header = (await client.get(this.logKey).exec()).header;
    } catch (e) {
      await this.stop();
      throw new EtcdSubmitError(`etcd not reachable at ${this.options.endpoints.join(', ')}: ${asError(e).message}`, { cause: e });
    }
    if (this.state !== 'running') throw new EtcdAdapterStoppedError(this.options.replicaId);
    this.clusterId = BigInt(header.cluster_id);
    if (this.options.stateDir !== undefined) await this.restoreLocal(proxy, BigInt(header.revision));
    // Catch up by state transfer before resolving if the needed history is already compacted
    // (one attempt; otherwise the watch reports the compaction and recovery retries).
    try {
      if (await this.store!.isCompacted(this.applied + 1n)) {
        this.counters.compactionsHit++;
        await this.transferState();
      }
    } catch (e) {
      this.emit({ kind: 'error', error: asError(e) });
    }
    const logPrefix = Buffer.from(`${this.prefix}log/`);
    this.watch = new ResumableWatch(
      client,
      {
        key: logPrefix,
        rangeEnd: prefixRangeEnd(logPrefix),
        nextRevision: () => this.applied + 1n,
        random: this.random,
        ...(this.options.watchLivenessMs !== undefined ? { livenessMs: this.options.watchLivenessMs } : {}),
        // An expired auth token makes etcd refuse the watch ("permission denied"): a unary call
        // makes the etcd client log in again (it does so on "invalid auth token" for unary calls,
        // not for streams).
        beforeReconnect: async (error) => {
          if (this.options.auth !== undefined && /auth token|permission denied/i.test(error.message)) {
            await client.get(this.logKey).exists().catch(() => undefined);
          }
        },
      },
      {
        onEvents: (res) => this.deliver(res),
        onCompacted: (rev) => this.onCompacted(rev),
        onError: (error) => {
          this.counters.watchErrors++;
          this.emit({ kind: 'error', error });
        },
      },
    );
    this.watch.start();
  }

  /**
   * Append `request` to the etcd log. Resolves once the log entry holding it is committed.
   * @throws {EtcdAdapterStoppedError} if not running
   * @throws {EtcdRequestTooLargeError} if larger than `maxRequestBytes`
   * @throws {EtcdSubmitError} if the append failed (outcome ambiguous; CART deduplicates)
   */
  submit(request: Uint8Array): Promise<void> {
    if (this.state !== 'running' || this.appender === undefined) {
      return Promise.reject(new EtcdAdapterStoppedError(this.options.replicaId));
    }
    if (request.length > this.maxRequestBytes) {
      return Promise.reject(new EtcdRequestTooLargeError(request.length, this.maxRequestBytes));
    }
    return this.appender.append(request);
  }

  /** Deliver the events of one watch response, one batch per revision, in revision order. */
  private deliver(res: IWatchResponse): void {
    const proxy = this.proxy;
    if (proxy === undefined || this.state !== 'running' || this.failed) return;
    let i = 0;
    const events = res.events;
    while (i < events.length) {
      const revText = events[i]!.kv.mod_revision;
      const requests: Uint8Array[] = [];
      for (; i < events.length && events[i]!.kv.mod_revision === revText; i++) {
        let decoded: Uint8Array[];
        try {
          decoded = decodeLogEntry(events[i]!.kv.value);
        } catch (e) {
          if (!(e instanceof EtcdDecodeError)) throw e;
          this.counters.malformedEntries++;
          continue;
        }
        for (const r of decoded) requests.push(r); // no spread: an entry may hold 10^5 requests
      }
      const sequence = BigInt(revText);
      if (sequence <= this.applied) {
        this.counters.duplicateEvents++;
        continue;
      }
      const batch: OrderedBatch = { sequence, requests };
      try {
        proxy.executeBatch(batch);
      } catch (e) {
        // Contract violation by the proxy: stop delivering rather than diverge silently.
        this.failed = true;
        this.watch?.stop();
        this.emit({ kind: 'error', error: asError(e) });
        return;
      }
      const previous = this.applied;
      this.applied = sequence;
      this.counters.batchesDelivered++;
      this.counters.requestsDelivered += requests.length;
      if (sequence / this.interval > previous / this.interval) this.checkpoint(sequence, proxy);
    }
  }

  /**
   * Restore the local checkpoint if it belongs to this etcd cluster and is not ahead of it (a
   * checkpoint of a wiped or different cluster would skip that cluster's first revisions).
   * A corrupt or foreign file is reported and ignored: the replica replays or transfers state.
   */
  private async restoreLocal(proxy: ApplicationProxy, currentRevision: bigint): Promise<void> {
    try {
      const cp = await loadLocalCheckpoint(checkpointPath(this.options.stateDir!, this.options.replicaId));
      if (cp === undefined) return;
      if (cp.clusterId !== this.clusterId || cp.sequence > currentRevision) {
        throw new EtcdStaleStateError(
          `local checkpoint (cluster ${cp.clusterId}, revision ${cp.sequence}) does not belong to etcd cluster ${this.clusterId} at revision ${currentRevision}; ignored`,
        );
      }
      proxy.restore(cp.snapshot, cp.sequence);
      this.applied = cp.sequence;
      this.counters.restoredLocal = true;
    } catch (e) {
      this.emit({ kind: 'error', error: asError(e) });
    }
  }

  /** Take a checkpoint now (synchronously), persist and publish it in the background. */
  private checkpoint(sequence: bigint, proxy: ApplicationProxy): void {
    this.nextCheckpoint = { sequence, snapshot: proxy.snapshot() };
    this.counters.checkpointsTaken++;
    if (this.publisher === undefined) this.publisher = this.publishLoop().finally(() => (this.publisher = undefined));
  }

  private async publishLoop(): Promise<void> {
    while (this.nextCheckpoint !== undefined && this.state === 'running') {
      const cp = this.nextCheckpoint;
      this.nextCheckpoint = undefined;
      try {
        if (this.options.stateDir !== undefined) {
          await saveLocalCheckpoint(checkpointPath(this.options.stateDir, this.options.replicaId), { ...cp, clusterId: this.clusterId });
        }
        await this.store!.publish(cp);
        this.counters.checkpointsPublished++;
        const stable = await this.store!.stable();
        if (stable !== undefined && (await this.store!.collect(stable))) this.counters.garbageCollections++;
      } catch (e) {
        if (this.state === 'running') this.emit({ kind: 'error', error: asError(e) });
      }
    }
  }

  private onCompacted(compactRevision: bigint): void {
    this.counters.compactionsHit++;
    if (this.recovering === undefined) {
      this.recovering = this.recover(compactRevision).finally(() => (this.recovering = undefined));
    }
  }

  /**
   * One state-transfer attempt: restore the oldest stable checkpoint newer than the applied
   * revision whose successor revision is still in etcd's history (least state to transfer; the
   * rest is replayed by the watch), verified against its voted digest.
   * @throws {EtcdStateTransferUnavailableError} if no such checkpoint exists (yet)
   */
  private async transferState(): Promise<void> {
    const chosen = await this.store!.oldestUsableAfter(this.applied);
    if (chosen === undefined) {
      throw new EtcdStateTransferUnavailableError(
        `revision ${this.applied + 1n} is compacted and no stable checkpoint after it is usable yet`,
      );
    }
    const bytes = await this.store!.fetch(chosen);
    if (this.state !== 'running') return;
    this.proxy!.restore(bytes, chosen.sequence);
    this.applied = chosen.sequence;
    this.counters.stateTransfers++;
    this.emit({ kind: 'state-transfer', sequence: chosen.sequence });
    if (this.options.stateDir !== undefined) {
      const file = checkpointPath(this.options.stateDir, this.options.replicaId);
      void saveLocalCheckpoint(file, { sequence: chosen.sequence, snapshot: bytes, clusterId: this.clusterId }).catch((err: unknown) =>
        this.emit({ kind: 'error', error: asError(err) }),
      );
    }
  }

  /** Background state transfer after the watch hit compaction; retried until it succeeds or stop. */
  private async recover(compactRevision: bigint): Promise<void> {
    for (let attempt = 0; this.state === 'running'; attempt++) {
      try {
        await this.transferState();
        this.watch?.start();
        return;
      } catch (e) {
        const err = asError(e);
        this.emit({ kind: 'error', error: new EtcdStateTransferUnavailableError(`${err.message} (compacted up to ${compactRevision})`, { cause: e }) });
        await sleep(backoffDelay(attempt, { initialMs: 100, maxMs: 2000 }, this.random), this.stopped.signal);
      }
    }
  }

  /** Stop watching, fail queued submissions, close the etcd client. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.watch?.stop();
    this.appender?.close(new EtcdAdapterStoppedError(this.options.replicaId));
    this.stopped.abort();
    // Closing the client first makes pending etcd calls of the checkpoint publisher and of a
    // state transfer fail at once instead of running into their deadlines.
    this.client?.close();
    await Promise.allSettled([this.publisher, this.recovering]);
  }
}

/** Sleep `ms`, or less if `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
