/**
 * CART's application proxy: the {@link ApplicationProxy} a consensus adapter delivers ordered
 * batches to. For each ordered request it decodes the CART request frame, verifies the client's
 * Ed25519 signature (deterministically), deduplicates by (client id, request id), executes new
 * requests on the {@link Application} and computes each reply digest (a Merkle leaf). After each
 * batch it hands the leaves to the signer through `onExecuted`.
 *
 * A client the deduplication table does not hold (new or evicted) is executed only if its
 * request's signed freshness sequence is within the horizon of the batch sequence, and only if
 * the table has room (see `dedup.ts`); otherwise the request is rejected (`stale-freshness`,
 * `busy`) without executing. A duplicate whose cached result was dropped for the byte budget is
 * rejected (`result-unavailable`), never executed again.
 *
 * A request flagged read-only (a busy contact orders reads with the writes) runs through
 * `executeReadOnly` at its place in the order and touches no deduplication state; the client's
 * acknowledgement in any other request lets the table forget that client's older entries.
 *
 * Deterministic: results, snapshots and leaves depend only on the ordered input.
 */
import type { ApplicationProxy, OrderedBatch } from '../consensus/adapter.ts';
import type { Application } from '../apps/application.ts';
import { decodeClientFrame, type CartRequest, type WireLimits, DEFAULT_WIRE_LIMITS } from '../wire/codec.ts';
import { digest, ORDERED_KEY_SET, replyDigest, toHex } from '../wire/digest.ts';
import { ByteReader, ByteWriter, SnapshotFormatError } from './bytes.ts';
import { DEFAULT_FRESHNESS_HORIZON, DEFAULT_MAX_CACHED_RESULT_BYTES, DedupTable, type DedupEntry, type DedupLimits } from './dedup.ts';
import { RequestVerifier } from './request-verifier.ts';

/** One reply leaf of an executed batch. */
export interface ExecutedReply {
  readonly clientId: Uint8Array;
  /** Hex of clientId (map key). */
  readonly clientHex: string;
  readonly requestId: bigint;
  readonly operationDigest: Uint8Array;
  readonly result: Uint8Array;
  /** Reply digest under key set 'ordered' (the Merkle leaf). */
  readonly digest: Uint8Array;
  /** True if answered from the deduplication table (not executed again). */
  readonly duplicate: boolean;
}

/** What the proxy reports after each executed batch. */
export interface ExecutedBatch {
  readonly sequence: bigint;
  /** Leaves in batch order (requests that were malformed, badly signed or stale have none). */
  readonly replies: readonly ExecutedReply[];
}

/**
 * Why an ordered request produced no reply leaf: undecodable, bad client signature, request id
 * below the window, a request flagged read-only whose operation is not a read, freshness sequence outside `[S - H, S]` for a client
 * the table does not hold, table full of recently active clients, or a duplicate whose cached
 * result bytes were dropped.
 */
export type OrderedRejectReason = 'malformed' | 'bad-signature' | 'stale' | 'read-only' | 'stale-freshness' | 'busy' | 'result-unavailable';

/** The request an ordered rejection concerns (absent for undecodable or badly signed frames). */
export interface OrderedRejection {
  readonly clientHex: string;
  readonly requestId: bigint;
  /** Sequence of the batch that carried it. */
  readonly sequence: bigint;
}

/** Options of {@link CartApplicationProxy}. */
export interface AppProxyOptions {
  /** Request ids remembered per client (default 256). Clients must keep fewer outstanding. */
  readonly window?: number;
  /** Clients remembered (default 10 000). */
  readonly maxClients?: number;
  /**
   * Freshness horizon H in sequence units (default 100 000): a client not in the table is
   * executed at sequence S only if `S - H <= fresh <= S`; a client is evictable once idle > H.
   */
  readonly freshnessHorizon?: bigint;
  /** Global budget for cached result bytes (default 256 MiB); beyond it the oldest results are dropped. */
  readonly maxCachedResultBytes?: number;
  readonly limits?: WireLimits;
  readonly verifier?: RequestVerifier;
  /** Called synchronously after each batch (also for batches without leaves). */
  readonly onExecuted?: (batch: ExecutedBatch) => void;
  /** Called after a snapshot was installed (state transfer). */
  readonly onRestored?: (sequence: bigint) => void;
  /** Called for each ordered request that produced no leaf (`request` when it decoded and verified). */
  readonly onRejected?: (reason: OrderedRejectReason, request?: OrderedRejection) => void;
}

const SNAPSHOT_MAGIC = new TextEncoder().encode('CARTSNP3');

/** What an executed request contributes to its batch: reply leaf inputs. */
interface Outcome {
  readonly operationDigest: Uint8Array;
  readonly result: Uint8Array;
  /** Answered from the deduplication table (executed in an earlier batch). */
  readonly duplicate: boolean;
}
const EMPTY = new Uint8Array(0);

/** See the module comment. */
export class CartApplicationProxy implements ApplicationProxy {
  private dedup: DedupTable;
  private readonly dedupLimits: DedupLimits;
  private readonly limits: WireLimits;
  private readonly verifier: RequestVerifier;
  /** Sequence of the last executed or restored batch. */
  lastSequence = 0n;

  constructor(
    readonly application: Application,
    private readonly options: AppProxyOptions = {},
  ) {
    this.dedupLimits = {
      window: options.window ?? 256,
      maxClients: options.maxClients ?? 10_000,
      horizon: options.freshnessHorizon ?? DEFAULT_FRESHNESS_HORIZON,
      maxResultBytes: options.maxCachedResultBytes ?? DEFAULT_MAX_CACHED_RESULT_BYTES,
    };
    this.limits = options.limits ?? DEFAULT_WIRE_LIMITS;
    this.verifier = options.verifier ?? new RequestVerifier();
    this.dedup = new DedupTable(this.dedupLimits);
  }

  /** Freshness horizon H (sequence units). */
  get freshnessHorizon(): bigint {
    return this.dedupLimits.horizon;
  }

  /** Clients in the deduplication table, and their cached result bytes (diagnostics, tests). */
  get dedupStats(): { readonly clients: number; readonly cachedResultBytes: number } {
    return { clients: this.dedup.size, cachedResultBytes: this.dedup.cachedResultBytes };
  }

  /** Cached outcome of (client, request id), `'stale'` if below the window, or undefined. */
  lookup(clientHex: string, requestId: bigint): DedupEntry | 'stale' | undefined {
    const v = this.dedup.check(clientHex, requestId);
    return v.kind === 'duplicate' ? v.entry : v.kind === 'stale' ? 'stale' : undefined;
  }

  /** Whether the deduplication table currently holds client `clientHex`. */
  knowsClient(clientHex: string): boolean {
    return this.dedup.has(clientHex);
  }

  /** {@inheritDoc ApplicationProxy.executeBatch} */
  executeBatch(batch: OrderedBatch): Uint8Array[] {
    const results: Uint8Array[] = [];
    const replies: ExecutedReply[] = [];
    for (const bytes of batch.requests) {
      let req;
      try {
        req = decodeClientFrame(bytes, this.limits);
      } catch {
        this.options.onRejected?.('malformed');
        results.push(EMPTY);
        continue;
      }
      const clientId = this.verifier.clientId(req);
      if (!this.verifier.verify(req, clientId)) {
        this.options.onRejected?.('bad-signature');
        results.push(EMPTY);
        continue;
      }
      const clientHex = toHex(clientId);
      const outcome = req.readOnly ? this.executeRead(req, clientHex, batch.sequence) : this.executeOrdered(req, clientId, clientHex, batch.sequence);
      if (!outcome) {
        results.push(EMPTY);
        continue;
      }
      const { operationDigest, result, duplicate } = outcome;
      results.push(result);
      replies.push({
        clientId,
        clientHex,
        requestId: req.requestId,
        operationDigest,
        result,
        digest: replyDigest({ keySet: ORDERED_KEY_SET, clientId, requestId: req.requestId, operationDigest, result }),
        duplicate,
      });
    }
    this.lastSequence = batch.sequence;
    this.options.onExecuted?.({ sequence: batch.sequence, replies });
    return results;
  }

  /**
   * A request flagged read-only, ordered by a busy contact. Only an operation the application
   * executes read-only may run (a client re-issues a failed read-only invocation as a new ordered
   * request, so a write flagged read-only must not run). A read changes nothing: no
   * deduplication entry, admission or freshness check (the client never resends a read-only id,
   * and a replayed read only reads again).
   */
  private executeRead(req: CartRequest, clientHex: string, sequence: bigint): Outcome | undefined {
    const result = this.application.executeReadOnly(req.operation);
    if (result === undefined) {
      this.options.onRejected?.('read-only', { clientHex, requestId: req.requestId, sequence });
      return undefined;
    }
    return { operationDigest: digest(req.operation), result, duplicate: false };
  }

  /**
   * An ordered request: deduplicate, admit (freshness, table room), execute once and record;
   * then apply the client's acknowledgement. `undefined` if refused (reported via `onRejected`).
   */
  private executeOrdered(req: CartRequest, clientId: Uint8Array, clientHex: string, sequence: bigint): Outcome | undefined {
    const rejection: OrderedRejection = { clientHex, requestId: req.requestId, sequence };
    const verdict = this.dedup.check(clientHex, req.requestId);
    if (verdict.kind === 'stale') {
      this.options.onRejected?.('stale', rejection);
      return undefined;
    }
    let operationDigest: Uint8Array;
    let result: Uint8Array;
    if (verdict.kind === 'duplicate') {
      if (verdict.entry.result === undefined) {
        // executed before, result bytes dropped for the byte budget: never execute again
        this.options.onRejected?.('result-unavailable', rejection);
        return undefined;
      }
      this.dedup.touch(clientHex, sequence);
      operationDigest = verdict.entry.operationDigest;
      result = verdict.entry.result;
    } else {
      const admission = this.dedup.admit(clientHex, req.fresh ?? 0n, sequence);
      if (admission !== 'ok') {
        this.options.onRejected?.(admission, rejection);
        return undefined;
      }
      result = this.application.execute(req.operation);
      operationDigest = digest(req.operation);
      this.dedup.record(clientHex, clientId, { requestId: req.requestId, operationDigest, result, sequence });
    }
    // the client holds replies for every id below its acknowledgement (never above this request's)
    const ack = req.ack ?? 0n;
    if (ack > 0n) this.dedup.acknowledge(clientHex, ack < req.requestId ? ack : req.requestId);
    return { operationDigest, result, duplicate: verdict.kind === 'duplicate' };
  }

  /** {@inheritDoc ApplicationProxy.snapshot} Layout: magic, dedup table, application snapshot. */
  snapshot(): Uint8Array {
    return new ByteWriter().raw(SNAPSHOT_MAGIC).bytes(this.dedup.encode()).bytes(this.application.snapshot()).finish();
  }

  /** {@inheritDoc ApplicationProxy.restore} @throws {SnapshotFormatError} on malformed bytes */
  restore(snapshot: Uint8Array, sequence: bigint): void {
    const r = new ByteReader(snapshot);
    const magic = r.raw(SNAPSHOT_MAGIC.length);
    if (toHex(magic) !== toHex(SNAPSHOT_MAGIC)) throw new SnapshotFormatError('not a CART snapshot');
    const dedup = DedupTable.decode(r.bytes(), this.dedupLimits);
    const app = r.bytes();
    if (r.remaining !== 0) throw new SnapshotFormatError('trailing bytes in snapshot');
    this.application.restore(app); // throws (state unchanged) on bad bytes
    this.dedup = dedup;
    this.lastSequence = sequence;
    this.options.onRestored?.(sequence);
  }
}
