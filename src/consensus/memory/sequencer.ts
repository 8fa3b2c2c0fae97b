/**
 * In-process reference implementation of the consensus adapter interface
 * (`src/consensus/adapter.ts`): a single trusted {@link MemorySequencer} stands in for an
 * ordering protocol, and one {@link MemoryAdapter} per simulated replica attaches to it.
 *
 * It is NOT fault tolerant (the sequencer is a single point of failure by construction); it
 * exists so that CART's replica code, the applications and the adapter conformance suite can be
 * exercised in one process, deterministically, without a real protocol underneath.
 *
 * Behaviour:
 *  - `submit()` appends the request to a queue; on the next macrotask the queue is cut into
 *    batches of at most `batchSize` requests, each given the next sequence number (1, 2, 3, ...)
 *    and appended to the total order (the log). The submit promise resolves once its request is
 *    ordered.
 *  - Every running adapter delivers the log, in order, each batch exactly once, to its
 *    {@link ApplicationProxy}, asynchronously (`setImmediate`), at most `deliverPerTurn` batches
 *    per macrotask so that replicas interleave.
 *  - With a finite `retainBatches`, the log is truncated below the slowest running replica
 *    (keeping at least `retainBatches` batches); a replica that falls behind the truncation point
 *    (stopped, then restarted) catches up by state transfer: snapshot of a running replica's
 *    proxy + `restore()` at that replica's last applied sequence, then replay of the rest.
 *
 * Determinism: given the same submissions in the same macrotasks, the same batches with the same
 * sequence numbers are produced, and every replica receives the same sequence of batches.
 */
import type { OrderedBatch } from '../adapter.ts';
import { ReplicaIndexError, RequestTooLargeError } from './errors.ts';
import { MemoryAdapter } from './memory-adapter.ts';

export { MemoryAdapter } from './memory-adapter.ts';

/** Options of a {@link MemorySequencer}. */
export interface MemorySequencerOptions {
  /** Number of replica slots (indices `0 .. replicas-1`). Positive integer. */
  readonly replicas: number;
  /** Maximum number of requests per batch. Default 16. */
  readonly batchSize?: number;
  /**
   * Minimum number of most recent batches kept in the log. Older batches already applied by
   * every running replica are dropped; replicas behind them catch up by state transfer.
   * Default `Infinity` (never truncate: restarted replicas replay from the start).
   */
  readonly retainBatches?: number;
  /** Largest accepted request, in bytes. Default 1 MiB. */
  readonly maxRequestBytes?: number;
  /** Batches delivered to one replica per macrotask. Default 64. */
  readonly deliverPerTurn?: number;
}

/** Options of one {@link MemoryAdapter}. */
export interface MemoryAdapterOptions {
  /**
   * Sequence number of the last batch already reflected in the proxy's state (a replica that
   * restarts with persisted state). Default `0n`: the proxy starts empty and gets every batch.
   */
  readonly resumeFrom?: bigint;
}

interface PendingRequest {
  readonly request: Uint8Array;
  readonly resolve: () => void;
}

/**
 * The shared total order. Create one per simulated cluster, then one adapter per replica with
 * {@link MemorySequencer.adapter}.
 */
export class MemorySequencer {
  readonly replicas: number;
  readonly batchSize: number;
  readonly retainBatches: number;
  readonly maxRequestBytes: number;
  readonly deliverPerTurn: number;

  private pending: PendingRequest[] = [];
  private flushScheduled = false;
  private log: OrderedBatch[] = [];
  /** Sequence number of `log[0]` (when the log is non-empty), else of the next batch. */
  private logStart = 1n;
  private last = 0n;
  private readonly running = new Map<number, MemoryAdapter>();

  /**
   * @throws {RangeError} if an option is not a positive integer (`retainBatches` may be
   *   `Infinity`).
   */
  constructor(options: MemorySequencerOptions) {
    this.replicas = positiveInt('replicas', options.replicas);
    this.batchSize = positiveInt('batchSize', options.batchSize ?? 16);
    const retain = options.retainBatches ?? Infinity;
    this.retainBatches = retain === Infinity ? Infinity : positiveInt('retainBatches', retain);
    this.maxRequestBytes = positiveInt('maxRequestBytes', options.maxRequestBytes ?? 1 << 20);
    this.deliverPerTurn = positiveInt('deliverPerTurn', options.deliverPerTurn ?? 64);
  }

  /**
   * Create the adapter of replica `replica` (0-based). Several adapters may be created for one
   * slot over time (stop one, create another: a restart), but only one may be running.
   * @throws {ReplicaIndexError} if `replica` is out of range.
   */
  adapter(replica: number, options: MemoryAdapterOptions = {}): MemoryAdapter {
    if (!Number.isInteger(replica) || replica < 0 || replica >= this.replicas) {
      throw new ReplicaIndexError(`replica index ${replica} out of range 0..${this.replicas - 1}`);
    }
    return new MemoryAdapter(this, replica, options.resumeFrom ?? 0n);
  }

  /** Sequence number of the last ordered batch (`0n` before the first). */
  get lastSequence(): bigint {
    return this.last;
  }

  /** Sequence number of the oldest batch still in the log (replay possible from here). */
  get firstRetainedSequence(): bigint {
    return this.logStart;
  }

  /** Number of submitted requests not yet ordered. */
  get pendingRequests(): number {
    return this.pending.length;
  }

  /** @internal Called by {@link MemoryAdapter.start}. */
  attach(adapter: MemoryAdapter): void {
    const current = this.running.get(adapter.replica);
    if (current !== undefined && current !== adapter) {
      throw new ReplicaIndexError(`replica ${adapter.replica} is already running`);
    }
    this.running.set(adapter.replica, adapter);
    // A newcomer may be the snapshot source another replica is waiting for.
    for (const a of this.running.values()) a.schedule();
  }

  /** @internal Called by {@link MemoryAdapter.stop}. */
  detach(adapter: MemoryAdapter): void {
    if (this.running.get(adapter.replica) === adapter) this.running.delete(adapter.replica);
  }

  /** @internal Called by {@link MemoryAdapter.submit}. */
  enqueue(request: Uint8Array): Promise<void> {
    if (request.length > this.maxRequestBytes) {
      return Promise.reject(new RequestTooLargeError(request.length, this.maxRequestBytes));
    }
    const copy = Uint8Array.from(request);
    return new Promise<void>((resolve) => {
      this.pending.push({ request: copy, resolve });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** @internal The batch with sequence `sequence`, or undefined if truncated / not yet ordered. */
  batchAt(sequence: bigint): OrderedBatch | undefined {
    if (sequence < this.logStart || sequence > this.last) return undefined;
    return this.log[Number(sequence - this.logStart)];
  }

  /**
   * @internal A running replica other than `exclude` that has applied at least up to the
   * truncation point and at least `minApplied`, to serve as a state-transfer source.
   */
  snapshotSource(exclude: MemoryAdapter, minApplied: bigint): MemoryAdapter | undefined {
    let best: MemoryAdapter | undefined;
    for (const a of this.running.values()) {
      if (a === exclude || !a.canServeSnapshot) continue;
      if (a.applied < this.logStart - 1n || a.applied < minApplied) continue;
      if (best === undefined || a.applied > best.applied || (a.applied === best.applied && a.replica < best.replica)) best = a;
    }
    return best;
  }

  /** @internal Drop log entries no running replica still needs, keeping `retainBatches`. */
  truncate(): void {
    if (this.retainBatches === Infinity || this.running.size === 0) return;
    let minApplied = this.last;
    for (const a of this.running.values()) if (a.applied < minApplied) minApplied = a.applied;
    const keepFrom = bigMin(minApplied, this.last - BigInt(this.retainBatches)) + 1n;
    if (keepFrom <= this.logStart) return;
    this.log = this.log.slice(Number(keepFrom - this.logStart));
    this.logStart = keepFrom;
  }

  private flush(): void {
    this.flushScheduled = false;
    const cut = this.pending;
    this.pending = [];
    for (let i = 0; i < cut.length; i += this.batchSize) {
      const part = cut.slice(i, i + this.batchSize);
      this.last += 1n;
      this.log.push(Object.freeze({ sequence: this.last, requests: Object.freeze(part.map((p) => p.request)) }));
      for (const p of part) p.resolve();
    }
    for (const a of this.running.values()) a.schedule();
  }
}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

function bigMin(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
