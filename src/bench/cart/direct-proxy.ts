/**
 * An {@link ApplicationProxy} that executes each ordered request directly on an
 * {@link Application}, without CART: no request envelope, no deduplication table, no signatures.
 * It is what a plain state-machine-replication service does (Schneider, ACM CSUR 1990), used for
 * the benchmark baselines that run the same KV application under a protocol's own client (e.g.
 * BFT-SMaRt's `ServiceProxy` with f+1 reply voting, `cart bench --consensus bftsmart`).
 *
 * Requests are the application's operation bytes; results are the application's result bytes
 * (the protocol's client votes on them). Deterministic because the application is.
 */
import type { Application } from '../../apps/application.ts';
import type { ApplicationProxy, OrderedBatch } from '../../consensus/adapter.ts';

/** Counters of a {@link DirectApplicationProxy}. */
export interface DirectProxyStats {
  /** Ordered batches executed. */
  readonly batches: number;
  /** Requests executed. */
  readonly requests: number;
  /** Sequence of the last executed batch or restored snapshot (0n: nothing). */
  readonly lastSequence: bigint;
  /** Batches delivered again with a sequence ≤ the last one; answered with empty results, not executed. */
  readonly duplicateBatches: number;
}

/**
 * Executes ordered batches directly on `app`. Snapshots are the application's own snapshot;
 * a batch with a sequence at or below the last executed one is not executed twice (empty results).
 */
export class DirectApplicationProxy implements ApplicationProxy {
  private batches = 0;
  private requests = 0;
  private duplicates = 0;
  private last = 0n;

  constructor(private readonly app: Application) {}

  /** Execute every request of `batch` on the application, in order; one result each. Never throws for bad bytes (the application returns an error result). */
  executeBatch(batch: OrderedBatch): Uint8Array[] {
    if (batch.sequence <= this.last) {
      this.duplicates++;
      return batch.requests.map(() => new Uint8Array(0));
    }
    this.last = batch.sequence;
    this.batches++;
    this.requests += batch.requests.length;
    return batch.requests.map((r) => this.app.execute(r));
  }

  /** The application's snapshot (deterministic bytes). */
  snapshot(): Uint8Array {
    return this.app.snapshot();
  }

  /**
   * Replace the application state by `snapshot`, taken after the batch `sequence`.
   * @throws the application's error for malformed bytes (state unchanged)
   */
  restore(snapshot: Uint8Array, sequence: bigint): void {
    this.app.restore(snapshot);
    this.last = sequence;
  }

  /** Counters so far. */
  get stats(): DirectProxyStats {
    return { batches: this.batches, requests: this.requests, lastSequence: this.last, duplicateBatches: this.duplicates };
  }
}
