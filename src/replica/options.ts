/**
 * Configuration and handle types of a CART replica (see `server.ts` for {@link startCartReplica}).
 */
import type { Logger } from 'pino';
import type { ConsensusAdapter } from '../consensus/adapter.ts';
import type { Application } from '../apps/application.ts';
import type { CryptoService, KeyShare, PublicKeySet } from '../crypto/types.ts';
import type { PeerNetwork } from '../net/peer-network.ts';
import type { WireLimits } from '../wire/codec.ts';
import type { CartApplicationProxy } from './app-proxy.ts';
import type { ByzantineOptions, ShareExchange } from './share-exchange.ts';
import type { ReadOnlyCoordinator } from './read-only.ts';
import type { ReplicaMetrics } from './metrics.ts';

/** Invalid replica configuration (missing key set, index mismatch...). */
export class CartReplicaConfigError extends Error {
  override name = 'CartReplicaConfigError';
}

/** Key material of one replica: all public key sets and this replica's key shares. */
export interface CartReplicaKeys {
  readonly publicKeySets: readonly PublicKeySet[];
  readonly shares: readonly KeyShare[];
}

/** Tuning knobs and test switches. */
export interface CartReplicaTuning {
  /** One threshold signature per ordered batch + Merkle proofs (default true); false: one per reply. */
  readonly batchSignatures?: boolean;
  /** Tentative aggregation (combine first, verify once). Default true. */
  readonly tentative?: boolean;
  /** Request ids remembered per client (default 256; clients keep fewer outstanding, default 128). */
  readonly window?: number;
  /** Clients remembered in the deduplication table (default 10 000). */
  readonly maxClients?: number;
  /**
   * Freshness horizon H in sequence units (default 100 000): a client not in the deduplication
   * table is executed at sequence S only if its request's `fresh` is in `[S - H, S]`; a client
   * becomes evictable once idle for more than H sequences. Must be equal at all replicas.
   */
  readonly freshnessHorizon?: bigint;
  /**
   * How far `fresh` may be ahead of this replica's last executed sequence before the client
   * endpoint answers STALE_FRESHNESS without submitting (default 10 000; a lagging replica
   * must not refuse fresh clients).
   */
  readonly freshnessSlack?: bigint;
  /** Global budget for cached result bytes in the deduplication table (default 256 MiB). Must be equal at all replicas. */
  readonly maxCachedResultBytes?: number;
  /** Executed batches retained for late replies (default 4096). */
  readonly maxBatches?: number;
  /** Requests one client connection may have waiting (default 4096). */
  readonly maxWaitingPerConnection?: number;
  /** Waiting requests in total (default 100 000). */
  readonly maxWaiting?: number;
  /** A waiting request is forgotten after this many ms (the client retransmits). Default 60 000. */
  readonly waiterTtlMs?: number;
  /** Wire limits (defaults: {@link DEFAULT_WIRE_LIMITS}). */
  readonly limits?: WireLimits;
  /** Byzantine behaviour for tests and the demo (off by default). */
  readonly byzantine?: ByzantineOptions;
  /** Serve read-only requests without ordering (needs the 'readonly' key set). Default true. */
  readonly readOnly?: boolean;
  /** Read-only coordination timeout, ms (default 1000); then the client is told to order. */
  readonly readOnlyTimeoutMs?: number;
  /** Requests per read-only batch (default 64): one signature share per replica covers them all. */
  readonly readOnlyMaxBatch?: number;
  /** Read-only batches out at once before new reads wait and batch up (default 1). */
  readonly readOnlyMaxInFlight?: number;
  /**
   * Order read-only requests with the writes while at least this many ordered requests this
   * contact submitted are in flight (default 1; 0 = always use the read-only path). Under load
   * a read rides in an ordered batch whose ordering, signature and share exchange are paid
   * anyway, which costs less than a read-only batch of its own; when the contact is idle the
   * read-only path answers in one round instead of three. The client accepts either reply
   * (an ordered reply is linearizable, stronger than the read-only guarantee).
   */
  readonly readOnlyBusyThreshold?: number;
  /**
   * ...but only while ordering makes progress: a batch executed at this replica within this many
   * ms (default 250). A stalled protocol (view change) sends reads back to the read-only path, and
   * an ordered read still unanswered after this long is started on the read-only path too.
   */
  readonly readOnlyBusyProgressMs?: number;
  /**
   * Contact hints (default true): once the adapter reports a leader (`AdapterEvent` 'leader'),
   * every reply names the leader's replica as `preferredContact`, and clients move their new
   * requests there — no relay hop to the leader, and the other replicas only sign shares.
   */
  readonly contactHints?: boolean;
  /** Millisecond clock (injected for tests). Default Date.now. */
  readonly now?: () => number;
}

/** Options of {@link startCartReplica}. */
export interface CartReplicaOptions {
  /** This replica's index 1..n (its signer index; its PeerNetwork id is index-1). */
  readonly index: number;
  readonly adapter: ConsensusAdapter;
  readonly application: Application;
  readonly keys: CartReplicaKeys;
  /** Authenticated replica mesh (ids 0..n-1) used for share exchange. */
  readonly network: PeerNetwork;
  /** Call `network.start()` here and `close()` it on shutdown (default true). */
  readonly startNetwork?: boolean;
  /** Client endpoint address; port 0 (default) picks a free port. Host default 127.0.0.1. */
  readonly listen?: { readonly host?: string; readonly port?: number };
  /** Threshold crypto (worker pool or in-thread); not closed by the replica. */
  readonly crypto: CryptoService;
  /** Structured logger (default: silent). Secrets are never logged. */
  readonly logger?: Logger;
  /** Serve Prometheus metrics on HTTP `/metrics` (default: not served; metrics still collected). */
  readonly metrics?: { readonly host?: string; readonly port?: number };
  readonly options?: CartReplicaTuning;
}

/** A running replica. */
export interface CartReplica {
  readonly index: number;
  /** Bound client endpoint. */
  readonly address: { readonly host: string; readonly port: number };
  /** Bound metrics endpoint, if served. */
  readonly metricsAddress: { readonly host: string; readonly port: number } | undefined;
  readonly metrics: ReplicaMetrics;
  readonly proxy: CartApplicationProxy;
  readonly exchange: ShareExchange;
  /** Read-only coordinator; undefined when disabled or without a 'readonly' key share. */
  readonly readOnly: ReadOnlyCoordinator | undefined;
  /** Stop serving: client endpoint, adapter, share exchange, metrics, network (if started here). Idempotent. */
  close(): Promise<void>;
}
