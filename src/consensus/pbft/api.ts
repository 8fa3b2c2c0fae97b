/**
 * Public contract of the built-in PBFT core (Castro & Liskov, "Practical Byzantine Fault
 * Tolerance and Proactive Recovery", ACM TOCS 20(4), 2002 — section numbers below refer to it).
 *
 * The core is a deterministic, I/O-free state machine per replica ({@link PbftReplica} in
 * `replica.ts`) and per client ({@link PbftClientCore} in `client-core.ts`): events in, effects
 * out. It never reads a clock, never draws randomness, never touches a socket. The runtime
 * (`node.ts`, `tcp-client.ts`) or the simulator (`simulation.ts`) feeds {@link ReplicaInput}s to
 * `handle()` and performs the returned {@link ReplicaOutput}s.
 *
 * ## Who authenticates what (the split)
 * - **Link authentication is the transport's job.** A replica-to-replica frame enters the core
 *   as `{ kind: 'message', from, bytes }` where `from` MUST be the replica id the transport has
 *   authenticated for that connection (e.g. by an Ed25519 challenge-response handshake on the
 *   TCP mesh, or per-pair HMAC). The core drops (reason `wrong-sender`) any message whose
 *   embedded replica id differs from `from`, so a misrouted or spoofed frame is never counted
 *   as another replica's vote. COMMIT and FETCH/STATE/STATUS messages rely on this alone.
 *   (Exceptions: client REQUESTs forwarded by a backup, and NEW-VIEWs, which are
 *   self-certifying and may be relayed by any replica.)
 * - **Transferable proofs are signed by the core** through the injected {@link Authenticator}
 *   (real implementation: Ed25519 from `node:crypto`, `auth.ts`): PRE-PREPARE headers, PREPAREs
 *   (they form prepared certificates inside VIEW-CHANGE, §4.4), CHECKPOINTs (stable-checkpoint
 *   proofs in VIEW-CHANGE and state transfer, §4.3), VIEW-CHANGE, NEW-VIEW, and REPLYs (so a
 *   client can check f+1 replies even over an unauthenticated connection). Signatures rather
 *   than MACs because these messages are relayed: a third replica must be able to check them.
 * - **Client requests** are signed by the client ({@link ClientSigner}) over
 *   (client id, request id, payload) and checked with {@link Authenticator.verifyClient} by every
 *   replica, including backups receiving them inside a PRE-PREPARE — so a faulty primary cannot
 *   forge requests. A deployment without client keys may return `true` there (documented risk).
 *
 * ## How bytes flow (runtime engineer's checklist)
 * - Replica mesh frame received → `replica.handle({ kind: 'message', from, bytes })`.
 * - Client frame received on a client connection → `replica.handle({ kind: 'request', bytes })`.
 *   The runtime learns the client id for reply routing either from its own connection hello or
 *   with `decodeMessage(bytes)` (type `request`, field `clientId`) from `codec.ts`.
 * - `{ kind: 'send', to, bytes }` → write one frame to replica `to` (`'all'` = every OTHER replica).
 * - `{ kind: 'reply', clientId, bytes }` → write one frame to that client's connection(s), if any
 *   (drop silently if the client is not connected to this replica; the client retransmits).
 * - `{ kind: 'set-timer', timer, afterMs }` → (re)arm the named timer, replacing a running one;
 *   on expiry call `handle({ kind: 'timer', timer })`. `{ kind: 'cancel-timer' }` disarms it.
 * - Call `replica.start()` once after construction and perform the outputs it returns (it arms
 *   the status timer and asks peers for state, which makes a restarted replica catch up).
 * - Inputs must be handled one at a time (the core is not re-entrant); `handle()` is synchronous.
 *
 * `handle()` never throws for any input bytes: bad input is dropped and counted by reason in
 * {@link PbftMetrics.dropped} (and reported to {@link PbftReplicaOptions.onDrop} for logging).
 */

/** Replica index, 0 … n-1. The primary of view v is replica `v mod n` (§4.1). */
export type ReplicaId = number;

/** Static protocol parameters; must be identical at all replicas. */
export interface PbftConfig {
  /** Number of replicas; must equal 3f+1. */
  readonly n: number;
  /** Number of tolerated Byzantine replicas. */
  readonly f: number;
  /** K: a checkpoint is taken after every sequence number divisible by K (§4.3). ≥ 1. */
  readonly checkpointInterval: number;
  /**
   * L: log window. Sequence numbers accepted are h < seq ≤ h + L where h is the last stable
   * checkpoint (low watermark); bounds pipelining and memory. A positive multiple of K, ≥ 2K.
   */
  readonly watermarkWindow: number;
  /** Max client requests per batch (PRE-PREPARE). ≥ 1. */
  readonly batchMaxSize: number;
  /**
   * Max time (ms) the primary holds a partial batch while earlier batches are in flight. When
   * nothing is in flight a request is proposed at once. 0 = never wait.
   */
  readonly batchMaxDelayMs: number;
  /**
   * Min interval (ms) between two PARTIAL batches (adaptive batching): after proposing a batch
   * that was not full, the primary holds further requests until this interval elapsed or a
   * full batch is ready, even with nothing in flight. Under light load (requests further apart)
   * every request is still proposed at once; under load, batches grow (fewer signatures,
   * messages and — under CART — threshold signatures per request). Costs up to this much
   * latency for a request arriving soon after a partial batch (a single closed-loop client
   * pays it on every request), so 0 = off is the default. Optional for backward compatibility.
   */
  readonly batchMinIntervalMs?: number;
  /**
   * Base request timeout (ms) at backups before suspecting the primary (§4.4). The view-change
   * timeout doubles for every consecutive view change without progress (exponential back-off).
   */
  readonly requestTimeoutMs: number;
  /** Cap (ms) for the backed-off view-change timeout. */
  readonly maxViewChangeTimeoutMs: number;
  /** Interval (ms) of the STATUS gossip that lets lagging replicas notice they are behind. */
  readonly statusIntervalMs: number;
  /** Max payload bytes of one client request; larger requests are dropped (`too-large`). */
  readonly maxRequestBytes: number;
  /**
   * Per-client request-id window W. A replica executes any not-yet-executed request id greater
   * than (highest executed id of that client − W), in whatever order the primary proposes them
   * (so a faulty primary cannot censor a request by ordering a later id first); ids at or below
   * that bound are ignored. A client keeps at most W requests outstanding.
   */
  readonly clientWindow: number;
  /**
   * Max clients remembered in the exactly-once table (default 10 000); beyond it the client
   * served longest ago is evicted deterministically (it loses exactly-once for late
   * retransmissions). Optional for backward compatibility.
   */
  readonly maxClients?: number;
  /**
   * Sign REPLYs (default true). Set false only if the client transport authenticates each
   * replica (e.g. a handshake with the replica's identity key); the client core must then be
   * given a `verifyReply` that accepts the empty signature. Saves one Ed25519 signature per
   * request per replica. Optional for backward compatibility.
   */
  readonly signReplies?: boolean;
  /** Max requests held for ordering at one replica (bounded memory); extra are dropped. */
  readonly maxPendingRequests: number;
  /** Max bytes of a state snapshot accepted in state transfer. */
  readonly maxSnapshotBytes: number;
}

/** Reasonable defaults for a LAN deployment; `n` and `f` derived from `f`. */
export function defaultPbftConfig(f: number, overrides: Partial<PbftConfig> = {}): PbftConfig {
  return {
    n: 3 * f + 1,
    f,
    checkpointInterval: 128,
    watermarkWindow: 256,
    batchMaxSize: 64,
    batchMaxDelayMs: 2,
    batchMinIntervalMs: 0,
    requestTimeoutMs: 2000,
    maxViewChangeTimeoutMs: 30_000,
    statusIntervalMs: 1000,
    maxRequestBytes: 1 << 20,
    clientWindow: 1024,
    maxClients: 10_000,
    maxPendingRequests: 100_000,
    maxSnapshotBytes: 256 << 20,
    ...overrides,
  };
}

/**
 * The replicated state machine the core delivers to. Maps 1:1 onto CART's `ApplicationProxy`
 * (`src/consensus/adapter.ts`): `executeBatch(seq, reqs)` ≙ `proxy.executeBatch({ sequence: seq,
 * requests: reqs })`. Must be deterministic (same calls → byte-identical results/snapshots).
 */
export interface PbftApplication {
  /**
   * Execute the payloads of one committed batch, in order; called with strictly increasing
   * `sequence` (not necessarily contiguous: empty batches and duplicates are skipped). Returns
   * exactly one result per payload. Must not throw.
   */
  executeBatch(sequence: bigint, requests: readonly Uint8Array[]): Uint8Array[];
  /** Deterministic serialisation of the whole application state as of the last executed batch. */
  snapshot(): Uint8Array;
  /**
   * Replace the state by a snapshot taken at another replica after batch `sequence`.
   * @throws {Error} on malformed bytes (the core then counts `bad-snapshot` and refetches).
   */
  restore(snapshot: Uint8Array, sequence: bigint): void;
}

/** Signing/verification injected into the replica core (see the module doc for the split). */
export interface Authenticator {
  /** Sign `bytes` as this replica. Returns the signature (Ed25519: 64 bytes). */
  sign(bytes: Uint8Array): Uint8Array;
  /** True iff `sig` is replica `replica`'s valid signature over `bytes`. Must not throw. */
  verify(replica: ReplicaId, bytes: Uint8Array, sig: Uint8Array): boolean;
  /**
   * True iff `sig` is client `clientId`'s valid signature over `bytes` (the request's signed
   * part). Deployments without client authentication may return true. Must not throw.
   */
  verifyClient(clientId: string, bytes: Uint8Array, sig: Uint8Array): boolean;
  /**
   * Optional: the replica a client is co-located with ("home replica"), if any — a client that
   * speaks for that replica (e.g. a wrapper's submission client signing with the replica's own
   * key). For such a client:
   * - a REQUEST arriving over the authenticated replica link from its home replica is accepted
   *   without checking the client signature (the link already authenticates that replica, and
   *   the replica could sign in the client's name anyway);
   * - only the home replica answers it, with an unsigned REPLY handed to the co-located client
   *   in-process; other replicas send no REPLY (it could not be routed);
   * - the client sends each request (and retransmission) to every replica itself (over the
   *   mesh, see `LocalPbftClient`), so its home replica does not relay it to the primary.
   * Requests relayed by anybody else (e.g. inside a PRE-PREPARE) are still signature-checked.
   * Must be deterministic and identical at all replicas; must not throw.
   */
  clientHome?(clientId: string): ReplicaId | undefined;
}

/** Client-side signing of requests (Ed25519 in `auth.ts`). */
export interface ClientSigner {
  sign(bytes: Uint8Array): Uint8Array;
}

/** Named timers of a replica. At most one of each is armed at a time. */
export type ReplicaTimer = 'batch' | 'request' | 'view-change' | 'status';

/** Events fed into {@link PbftReplica.handle}. */
export type ReplicaInput =
  /** A frame from replica `from` (authenticated by the transport). */
  | { readonly kind: 'message'; readonly from: ReplicaId; readonly bytes: Uint8Array }
  /**
   * An encoded client REQUEST frame from a client connection, or (`local: true`) from a client
   * co-located in this replica's process (its home replica, see `Authenticator.clientHome`):
   * a local request of a client whose home is this replica skips the client-signature check.
   */
  | { readonly kind: 'request'; readonly bytes: Uint8Array; readonly local?: boolean }
  /** A timer previously armed with `set-timer` fired. */
  | { readonly kind: 'timer'; readonly timer: ReplicaTimer };

/** Effects returned by {@link PbftReplica.handle}; perform them in order. */
export type ReplicaOutput =
  /** Send one frame to replica `to`, or to every other replica (`'all'`). */
  | { readonly kind: 'send'; readonly to: ReplicaId | 'all'; readonly bytes: Uint8Array }
  /** Send an encoded REPLY frame to client `clientId`. */
  | { readonly kind: 'reply'; readonly clientId: string; readonly bytes: Uint8Array }
  /** Arm (or re-arm, replacing) the named timer. */
  | { readonly kind: 'set-timer'; readonly timer: ReplicaTimer; readonly afterMs: number }
  /** Disarm the named timer (no-op if not armed). */
  | { readonly kind: 'cancel-timer'; readonly timer: ReplicaTimer }
  /** Informational: batch `sequence` with `count` requests was executed (app already called). */
  | { readonly kind: 'delivered'; readonly sequence: bigint; readonly count: number }
  /** Informational: this replica entered view `view` (NEW-VIEW accepted or sent). */
  | { readonly kind: 'view-change'; readonly view: bigint }
  /** Informational: a checkpoint snapshot for `sequence` was installed by state transfer. */
  | { readonly kind: 'state-transfer'; readonly sequence: bigint }
  /** Informational: checkpoint `sequence` became stable (log below it discarded). */
  | { readonly kind: 'stable-checkpoint'; readonly sequence: bigint };

/** Reasons a replica drops input; counted in {@link PbftMetrics.dropped}. */
export type DropReason =
  | 'malformed' // DecodeError: bad bytes, unknown version/type, field too large
  | 'wrong-sender' // embedded replica id ≠ transport-authenticated sender, or not a replica id
  | 'bad-signature' // replica or client signature invalid
  | 'out-of-window' // sequence outside (h, h+L] or view too far ahead/behind
  | 'old-view' // message for a view older than the current one
  | 'not-primary' // PRE-PREPARE/NEW-VIEW not from the view's primary
  | 'conflicting' // a different digest for an already accepted (view, seq)
  | 'bad-digest' // batch does not hash to the PRE-PREPARE digest
  | 'bad-certificate' // invalid prepared/checkpoint certificate, VIEW-CHANGE or NEW-VIEW
  | 'too-large' // request payload over maxRequestBytes
  | 'old-request' // client request id at or below the client window
  | 'queue-full' // maxPendingRequests reached
  | 'bad-snapshot' // snapshot does not match the certified digest or fails to restore
  | 'unexpected' // well-formed but meaningless here (e.g. a REPLY sent to a replica)
  | 'internal-error'; // a bug caught at the handle() boundary (input dropped; never expected)

/** Counters of one replica (monotonic unless noted). */
export interface PbftMetrics {
  view: bigint;
  /** Last executed sequence number. */
  lastExecuted: bigint;
  /** Last stable checkpoint (low watermark h). */
  stableCheckpoint: bigint;
  requestsExecuted: number;
  batchesExecuted: number;
  viewChanges: number;
  stateTransfers: number;
  /** Current sizes (gauges) — bounded by the watermark window and config limits. */
  logEntries: number;
  pendingRequests: number;
  dropped: Record<DropReason, number>;
}

/** Options of a replica core beyond the shared config. */
export interface PbftReplicaOptions {
  /** Called for every dropped input (for logging); must not throw. */
  onDrop?: (reason: DropReason, detail: string) => void;
}

/** Events fed into {@link PbftClientCore.handle}. */
export type ClientInput =
  /** A REPLY frame received from replica `from` (as far as the transport knows). */
  | { readonly kind: 'reply'; readonly from: ReplicaId; readonly bytes: Uint8Array }
  /** The per-request retransmission timer of `requestId` fired. */
  | { readonly kind: 'timer'; readonly requestId: bigint };

/** Effects returned by the client core. */
export type ClientOutput =
  | { readonly kind: 'send'; readonly to: ReplicaId | 'all'; readonly bytes: Uint8Array }
  | { readonly kind: 'set-timer'; readonly requestId: bigint; readonly afterMs: number }
  | { readonly kind: 'cancel-timer'; readonly requestId: bigint }
  /** Request `requestId` completed with `result` (f+1 matching replies). */
  | { readonly kind: 'complete'; readonly requestId: bigint; readonly result: Uint8Array };

/** Parameters of the native client core. */
export interface PbftClientConfig {
  readonly n: number;
  readonly f: number;
  /** Retransmission timeout (ms); the first send goes to the primary, retransmissions to all. */
  readonly retransmitTimeoutMs: number;
  /** Must equal the replicas' {@link PbftConfig.clientWindow}; bounds outstanding requests. */
  readonly clientWindow: number;
  /** Send first transmissions to all replicas instead of the believed primary. */
  readonly sendToAll?: boolean;
  /**
   * First request id to use (default 1). A restarted client must continue above every id it
   * used before, or use a fresh client id.
   */
  readonly firstRequestId?: bigint;
}
