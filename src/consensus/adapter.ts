/**
 * The consensus adapter interface (CART's service-provider interface).
 *
 * This file is the ONLY contract between CART's server-side handler (`src/replica/`) and a
 * wrapped consensus protocol (the built-in PBFT in `src/consensus/pbft/`, etcd, BFT-SMaRt, ...).
 * CART never imports a protocol's internals; a protocol never imports CART. An adapter is the
 * glue between the two and should be small (its size in lines is a figure we track).
 *
 * The two directions, as in the CART paper (Heß & Hauck, "A Framework for Consensus-Agnostic
 * State-Machine Replication based on Threshold Signatures"):
 *
 *  1. BFT client handler side — CART hands an opaque request to {@link ConsensusAdapter.submit};
 *     the adapter gets it totally ordered by the protocol (many submissions may be outstanding).
 *  2. Application proxy side — the protocol delivers ordered batches, in order, to the
 *     {@link ApplicationProxy} that CART registers in {@link ConsensusAdapter.start}; the proxy
 *     executes them deterministically and returns one result per request. Snapshot and restore
 *     let the protocol checkpoint and transfer state (Castro & Liskov, TOCS 2002, §4.3, §5.3).
 *
 * Determinism contract: at every correct replica the adapter delivers the same sequence of
 * {@link OrderedBatch}es (same `sequence`, same requests in the same order), each exactly once,
 * unless it instead installs a snapshot via {@link ApplicationProxy.restore} that stands for a
 * prefix of that sequence. The conformance suite in `test/consensus/conformance.ts` checks this.
 */

/** One totally ordered batch of opaque requests, as agreed by the protocol. */
export interface OrderedBatch {
  /**
   * Protocol-agreed position of this batch (PBFT: sequence number; etcd: revision; BFT-SMaRt:
   * consensus id). Strictly increasing across the batches delivered at one replica, and equal
   * at all correct replicas for the same batch — so it can identify the batch in signatures
   * (never a local counter). Not necessarily contiguous.
   */
  readonly sequence: bigint;
  /** The ordered requests, each exactly the bytes passed to `submit` somewhere. May be empty. */
  readonly requests: readonly Uint8Array[];
}

/**
 * Implemented by CART, called by the adapter. All methods are synchronous and deterministic:
 * the same calls in the same order at two replicas yield byte-identical results and snapshots.
 */
export interface ApplicationProxy {
  /**
   * Execute an ordered batch. Returns exactly one result per request, in request order.
   * Never throws for bad request bytes (a malformed request yields an error result).
   */
  executeBatch(batch: OrderedBatch): Uint8Array[];
  /**
   * Serialise the complete replicated state (application state plus CART's per-client
   * deduplication table) as of the last executed batch. Deterministic bytes.
   */
  snapshot(): Uint8Array;
  /**
   * Replace the replicated state by a snapshot taken at another replica after the batch with
   * sequence `sequence` (state transfer). The next delivered batch follows `sequence`.
   * @throws {Error} if the snapshot bytes are malformed (state is then left unchanged).
   */
  restore(snapshot: Uint8Array, sequence: bigint): void;
}

/** Events an adapter may report for observability (metrics); all optional. */
export type AdapterEvent =
  | { kind: 'view-change'; view: bigint }
  | { kind: 'state-transfer'; sequence: bigint }
  /**
   * The protocol's leader (primary) is now replica `leader`, numbered 0..n-1 in cluster order
   * (CART index − 1). Report the current leader once at start and each change after: CART's
   * replies name it as the preferred contact, so clients send requests where they need the
   * fewest hops (docs/protocol.md §4.6).
   */
  | { kind: 'leader'; leader: number }
  | { kind: 'error'; error: Error };

/** A wrapped consensus protocol, as seen by one CART replica. */
export interface ConsensusAdapter {
  /** Short protocol name for logs and metrics, e.g. `"pbft"`, `"etcd"`, `"bftsmart"`. */
  readonly protocol: string;
  /**
   * Start participating: connect to or start the protocol replica co-located with this CART
   * replica and begin delivering ordered batches to `proxy`. Resolves once ready to `submit`.
   * Batches may be delivered (also a `restore`) from any point after this is called.
   */
  start(proxy: ApplicationProxy): Promise<void>;
  /**
   * BFT client handler: submit one opaque request for total ordering. Many calls may be
   * outstanding at once. Resolves when the protocol reports the request ordered/executed (the
   * result itself reaches CART through the application proxy at every replica); rejects if the
   * request could not be submitted (adapter stopped, request too large). Submitting the same
   * bytes twice may order them twice — CART deduplicates by client id and request id.
   */
  submit(request: Uint8Array): Promise<void>;
  /** Subscribe to adapter events (view changes, state transfers, errors). */
  onEvent?(listener: (event: AdapterEvent) => void): void;
  /** Stop: close connections and child processes. Idempotent. */
  stop(): Promise<void>;
}
