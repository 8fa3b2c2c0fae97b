/**
 * Options, fault plans and results of the whole-cluster CART simulation (issue 6).
 */
import type { LinkFaults, NetworkStats } from '../network.ts';

/**
 * Byzantine behaviours of one replica (at most f replicas at a time; the simulator uses f = 1).
 * - `wrong-results`: replies to clients carry a corrupted result (with the real group signature).
 * - `bad-shares`: broadcasts signature shares that do not verify.
 * - `other-result-share`: signs (validly) a batch root over different results.
 * - `forged-share-index`: shares claim another replica's signer index.
 * - `bad-group-signature`: replies to clients carry a corrupted combined signature.
 * - `replay-old-reply`: answers a new request with an old reply (relabelled or not).
 * - `silent`: sends nothing at all.
 * - `equivocate`: as PBFT primary, sends different PRE-PREPAREs to different backups.
 * - `twin`: two copies of the replica run with the same keys and identity (Twins, Bano et al. 2020).
 * - `wrong-execution`: the replica's state machine computes wrong (but well-formed) results and
 *   signs them honestly. Alone it cannot gather t shares; with t colluders (more than f faulty
 *   replicas, see {@link ClusterSimOptions.colluders}) it forges validly signed wrong replies —
 *   used to check that the oracles detect unsafety.
 */
export type ByzantineMode =
  | 'wrong-results'
  | 'bad-shares'
  | 'other-result-share'
  | 'forged-share-index'
  | 'bad-group-signature'
  | 'replay-old-reply'
  | 'silent'
  | 'equivocate'
  | 'twin'
  | 'wrong-execution';

/** All Byzantine modes, in a fixed order (seeded choice picks from it). */
export const BYZANTINE_MODES: readonly ByzantineMode[] = [
  'wrong-results',
  'bad-shares',
  'other-result-share',
  'forged-share-index',
  'bad-group-signature',
  'replay-old-reply',
  'silent',
  'equivocate',
  'twin',
  'wrong-execution',
];

/** A scheduled fault (virtual ms). Replica ids are 0-based PBFT ids. */
export type FaultEvent =
  | { readonly atMs: number; readonly kind: 'crash'; readonly replica: number }
  | { readonly atMs: number; readonly kind: 'restart'; readonly replica: number }
  | { readonly atMs: number; readonly kind: 'partition'; readonly groups: readonly (readonly number[])[] }
  | { readonly atMs: number; readonly kind: 'heal' };

/** The complete fault plan of one run (derived from the seed unless given explicitly). */
export interface FaultPlan {
  /** Link faults (drop, duplicate, delay/reorder) from t = 0 until `healAtMs`. */
  readonly links: LinkFaults;
  /** From this time on: reliable links, no partitions, every replica up. */
  readonly healAtMs: number;
  readonly events: readonly FaultEvent[];
  /** Timer rate per replica (clock skew): a timer of d ms fires after d·skew[r] virtual ms. */
  readonly clockSkew: readonly number[];
  readonly byzantine: { readonly replica: number; readonly mode: ByzantineMode } | undefined;
}

/** Options of {@link runClusterSimulation}; everything but `seed` has defaults. */
export interface ClusterSimOptions {
  readonly seed: number;
  /** CART clients (default 3). */
  readonly clients?: number;
  /** Operations per client, issued one at a time (default 8). */
  readonly opsPerClient?: number;
  /** Distinct keys of the workload (default 4; few keys = much contention). */
  readonly keys?: number;
  /** Fault plan; default derived from the seed ({@link planFaults}). */
  readonly plan?: FaultPlan;
  /** Force a Byzantine mode (replaces the plan's choice; `null` = none). */
  readonly byzantine?: ByzantineMode | null;
  /**
   * Replicas that all run `wrong-execution` in addition to the plan's Byzantine replica: more
   * than f faulty replicas, beyond what CART tolerates. Only for testing the oracles.
   */
  readonly colluders?: readonly number[];
  /**
   * Serve reads and scans on the unordered read-only path ('readonly' key set, t = 2f+1) with
   * probability 1/2 (default true). Read-only results enter the linearizability check only in
   * runs without Byzantine replicas: with a lying replica the path is documented as not
   * linearizable (`src/replica/read-only.ts`).
   */
  readonly readOnly?: boolean;
  /** Virtual-time bound for every operation to complete (default 120 000 ms). */
  readonly maxTimeMs?: number;
  /** Record a readable trace (default false). */
  readonly trace?: boolean;
}

/** Counts of faults injected, by kind. */
export type FaultCounts = Record<string, number>;

/** Outcome of one simulated run. */
export interface ClusterSimResult {
  readonly seed: number;
  /** Oracle violations (empty = the run passed). */
  readonly violations: readonly string[];
  /** Operations completed with a verified reply / invoked. */
  readonly completed: number;
  readonly invoked: number;
  /** Linearizability verdict of the KV history. */
  readonly linearizable: true | false | 'unknown';
  readonly faults: FaultCounts;
  readonly plan: FaultPlan;
  readonly network: NetworkStats;
  readonly virtualTimeMs: number;
  readonly steps: number;
  /** Replies clients rejected (bad proof, bad signature, ...), summed over clients. */
  readonly rejectedReplies: number;
  /** Read-only invocations answered on the read-only path / re-issued as ordered. */
  readonly readOnly: { readonly verified: number; readonly fallbacks: number };
  /** Final PBFT state of each replica (view, watermark, executed), for diagnosing failures. */
  readonly replicaStates: readonly string[];
  /** Trace lines (only with `trace: true`). */
  readonly trace: readonly string[];
  /** Shell command replaying this run with a trace. */
  readonly replay: string;
}
