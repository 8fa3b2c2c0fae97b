/**
 * CART's application proxy: the {@link ApplicationProxy} a consensus adapter delivers ordered
 * batches to. For each ordered request it decodes the CART request frame, verifies the client's
 * Ed25519 signature (deterministically), deduplicates by (client id, request id), executes new
 * requests on the {@link Application} and computes each reply digest (a Merkle leaf). After each
 * batch it hands the leaves to the signer through `onExecuted`.
 *
 * Deterministic: results, snapshots and leaves depend only on the ordered input.
 */
import type { ApplicationProxy, OrderedBatch } from '../consensus/adapter.ts';
import type { Application } from '../apps/application.ts';
import { decodeClientFrame, type WireLimits, DEFAULT_WIRE_LIMITS } from '../wire/codec.ts';
import { digest, ORDERED_KEY_SET, replyDigest, toHex } from '../wire/digest.ts';
import { ByteReader, ByteWriter, SnapshotFormatError } from './bytes.ts';
import { DedupTable, type DedupEntry } from './dedup.ts';
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

/** Why an ordered request produced no reply leaf. */
export type OrderedRejectReason = 'malformed' | 'bad-signature' | 'stale' | 'read-only';

/** Options of {@link CartApplicationProxy}. */
export interface AppProxyOptions {
  /** Request ids remembered per client (default 256). Clients must keep fewer outstanding. */
  readonly window?: number;
  /** Clients remembered (default 10 000). Memory bound ≈ maxClients × window × result size. */
  readonly maxClients?: number;
  readonly limits?: WireLimits;
  readonly verifier?: RequestVerifier;
  /** Called synchronously after each batch (also for batches without leaves). */
  readonly onExecuted?: (batch: ExecutedBatch) => void;
  /** Called after a snapshot was installed (state transfer). */
  readonly onRestored?: (sequence: bigint) => void;
  /** Called for each ordered request that produced no leaf. */
  readonly onRejected?: (reason: OrderedRejectReason) => void;
}

const SNAPSHOT_MAGIC = new TextEncoder().encode('CARTSNP1');
const EMPTY = new Uint8Array(0);

/** See the module comment. */
export class CartApplicationProxy implements ApplicationProxy {
  private dedup: DedupTable;
  private readonly window: number;
  private readonly maxClients: number;
  private readonly limits: WireLimits;
  private readonly verifier: RequestVerifier;
  /** Sequence of the last executed or restored batch. */
  lastSequence = 0n;

  constructor(
    readonly application: Application,
    private readonly options: AppProxyOptions = {},
  ) {
    this.window = options.window ?? 256;
    this.maxClients = options.maxClients ?? 10_000;
    this.limits = options.limits ?? DEFAULT_WIRE_LIMITS;
    this.verifier = options.verifier ?? new RequestVerifier();
    this.dedup = new DedupTable(this.window, this.maxClients);
  }

  /** Cached outcome of (client, request id), `'stale'` if below the window, or undefined. */
  lookup(clientHex: string, requestId: bigint): DedupEntry | 'stale' | undefined {
    const v = this.dedup.check(clientHex, requestId);
    return v.kind === 'duplicate' ? v.entry : v.kind === 'stale' ? 'stale' : undefined;
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
      if (req.readOnly) {
        // read-only requests are never ordered by CART replicas; one that was (by a Byzantine
        // replica) must not execute: the client re-issues a failed read-only invocation as a
        // new ordered request, which would otherwise run twice
        this.options.onRejected?.('read-only');
        results.push(EMPTY);
        continue;
      }
      const clientHex = toHex(clientId);
      const verdict = this.dedup.check(clientHex, req.requestId);
      if (verdict.kind === 'stale') {
        this.options.onRejected?.('stale');
        results.push(EMPTY);
        continue;
      }
      let entry: DedupEntry;
      if (verdict.kind === 'duplicate') {
        entry = verdict.entry;
      } else {
        const result = this.application.execute(req.operation);
        entry = { requestId: req.requestId, operationDigest: digest(req.operation), result, sequence: batch.sequence };
        this.dedup.record(clientHex, clientId, entry);
      }
      results.push(entry.result);
      replies.push({
        clientId,
        clientHex,
        requestId: req.requestId,
        operationDigest: entry.operationDigest,
        result: entry.result,
        digest: replyDigest({ keySet: ORDERED_KEY_SET, clientId, requestId: req.requestId, operationDigest: entry.operationDigest, result: entry.result }),
        duplicate: verdict.kind === 'duplicate',
      });
    }
    this.lastSequence = batch.sequence;
    this.options.onExecuted?.({ sequence: batch.sequence, replies });
    return results;
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
    const dedup = DedupTable.decode(r.bytes(), this.window, this.maxClients);
    const app = r.bytes();
    if (r.remaining !== 0) throw new SnapshotFormatError('trailing bytes in snapshot');
    this.application.restore(app); // throws (state unchanged) on bad bytes
    this.dedup = dedup;
    this.lastSequence = sequence;
    this.options.onRestored?.(sequence);
  }
}
