/**
 * The submit side of the etcd adapter: appends CART requests to the ordered log in etcd.
 *
 * Requests are queued; a flush (next microtask) packs queued requests into log entries of at
 * most `maxBatchBytes` (see `codec.ts`) and writes each as one etcd `Put` of the replica's log
 * key, with at most `maxInFlight` puts outstanding; while they are, the queue keeps coalescing
 * (batching under load, one request per entry when idle). A put committed by Raft means its
 * requests are ordered: their promises resolve. A failed put rejects its requests with
 * {@link EtcdSubmitError} — ambiguous (the etcd client retries unavailable/timed-out calls on
 * another member, so an entry may be ordered twice; CART deduplicates by request id).
 */
import type { Etcd3 } from 'etcd3';
import { encodeLogEntry } from './codec.ts';
import { EtcdSubmitError } from './errors.ts';

/** Options of a {@link LogAppender}. */
export interface LogAppenderOptions {
  /** The etcd key this replica appends to (`<prefix>log/<replicaId>`). */
  readonly key: string;
  /** Largest log entry in bytes. */
  readonly maxBatchBytes: number;
  /** Concurrent puts. */
  readonly maxInFlight: number;
}

interface Pending {
  readonly bytes: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/** Queues requests and appends them to the etcd log in coalesced entries. */
export class LogAppender {
  private pending: Pending[] = [];
  private flushScheduled = false;
  private inFlight = 0;
  private closed = false;
  /** Puts that succeeded / failed, for metrics. */
  appends = 0;
  failedAppends = 0;

  constructor(
    private readonly client: Etcd3,
    private readonly options: LogAppenderOptions,
  ) {}

  /**
   * Queue one request (size already checked by the caller); resolves once its entry is committed.
   * @throws {EtcdSubmitError} if the put of its entry failed
   */
  append(bytes: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ bytes, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Reject every queued (not yet sent) request with `error` and stop sending. */
  close(error: Error): void {
    this.closed = true;
    for (const p of this.pending.splice(0)) p.reject(error);
  }

  private flush(): void {
    while (!this.closed && this.inFlight < this.options.maxInFlight && this.pending.length > 0) {
      const batch: Pending[] = [];
      let size = 5;
      while (this.pending.length > 0 && (batch.length === 0 || size + 4 + this.pending[0]!.bytes.length <= this.options.maxBatchBytes)) {
        const p = this.pending.shift()!;
        size += 4 + p.bytes.length;
        batch.push(p);
      }
      this.inFlight++;
      this.client
        .put(this.options.key)
        .value(encodeLogEntry(batch.map((p) => p.bytes)))
        .exec()
        .then(
          () => {
            this.appends++;
            for (const p of batch) p.resolve();
          },
          (e: unknown) => {
            this.failedAppends++;
            const msg = e instanceof Error ? e.message : String(e);
            const err = new EtcdSubmitError(`appending to the etcd log failed: ${msg}`, { cause: e });
            for (const p of batch) p.reject(err);
          },
        )
        .finally(() => {
          this.inFlight--;
          this.flush();
        });
    }
  }
}
