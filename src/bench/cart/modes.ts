/**
 * The benchmark modes of `cart bench` (issues 5 and 8): the protocol's own client without CART
 * as the baseline (the built-in PBFT's native client; BFT-SMaRt's `ServiceProxy`), CART with
 * every optimisation off, each optimisation on alone, and all on.
 *
 * A CART mode is a set of replica tuning switches ({@link CartTuningConfig}: batch signatures with
 * Merkle proofs, tentative aggregation, the read-only path, crypto worker threads) plus client
 * switches (read-only invocations for reads, batch verification of replies arriving together) and
 * contact hints (clients move to the protocol leader's replica).
 */
import type { CartTuningConfig, ConsensusProtocol } from '../../deploy/config.ts';

/** Every mode name `--modes` accepts. */
export const BENCH_MODES = [
  'native',
  'cart-none',
  'cart-batch',
  'cart-tentative',
  'cart-readonly',
  'cart-workers',
  'cart-leader',
  'cart-all',
  'cart-all-ordered-reads',
  'cart-all-byzantine',
] as const;

/** One benchmark mode name. */
export type BenchModeName = (typeof BENCH_MODES)[number];

/** Modes run when `--modes` is not given (all but the Byzantine variant). */
export const DEFAULT_MODES: readonly BenchModeName[] = ['native', 'cart-none', 'cart-batch', 'cart-tentative', 'cart-readonly', 'cart-workers', 'cart-leader', 'cart-all'];

/** What a mode switches on. */
export interface BenchModeSpec {
  readonly name: BenchModeName;
  /**
   * `native`: the protocol's own client (PBFT's native client or BFT-SMaRt's ServiceProxy, f+1
   * matching replies) and the KV application without CART; `cart`: CART client and replicas.
   */
  readonly kind: 'native' | 'cart';
  /** One-line description (report and `--help`). */
  readonly description: string;
  /** Replica tuning (CART modes only). */
  readonly tuning: Required<CartTuningConfig>;
  /** Clients send YCSB reads/scans with `invokeReadOnly` (CART read-only path). */
  readonly readOnlyInvocations: boolean;
  /** Clients verify the distinct roots of replies that arrive together in one batch check. */
  readonly clientBatchVerification: boolean;
  /**
   * Replica n sends signature shares that do not verify, for a fraction of batches
   * (`--byzantine-bad-shares-rate`, default every batch).
   */
  readonly byzantineBadShares: boolean;
}

const OFF: Required<CartTuningConfig> = { batchSignatures: false, tentative: false, readOnly: false, cryptoWorkers: 0, contactHints: false, readOnlyBusyThreshold: 1 };
const ALL: Required<CartTuningConfig> = { batchSignatures: true, tentative: true, readOnly: true, cryptoWorkers: 'auto', contactHints: true, readOnlyBusyThreshold: 1 };

const SPECS: Record<BenchModeName, Omit<BenchModeSpec, 'name'>> = {
  native: {
    kind: 'native',
    description:
      "the protocol's own client, no CART — the baseline (pbft: PBFT native client, f+1 matching Ed25519-authenticated replies; bftsmart: BFT-SMaRt ServiceProxy, f+1 matching replies)",
    tuning: OFF,
    readOnlyInvocations: false,
    clientBatchVerification: false,
    byzantineBadShares: false,
  },
  'cart-none': {
    kind: 'cart',
    description: 'CART, all optimisations off: one threshold signature per reply, every share verified, reads ordered, crypto on the event loop',
    tuning: OFF,
    readOnlyInvocations: false,
    clientBatchVerification: false,
    byzantineBadShares: false,
  },
  'cart-batch': {
    kind: 'cart',
    description: 'CART, only batch signatures: one signature per ordered batch (Merkle root), a Merkle proof per reply',
    tuning: { ...OFF, batchSignatures: true },
    readOnlyInvocations: false,
    clientBatchVerification: false,
    byzantineBadShares: false,
  },
  'cart-tentative': {
    kind: 'cart',
    description: 'CART, only tentative aggregation: combine the first t shares unchecked, verify the group signature once',
    tuning: { ...OFF, tentative: true },
    readOnlyInvocations: false,
    clientBatchVerification: false,
    byzantineBadShares: false,
  },
  'cart-readonly': {
    kind: 'cart',
    description: "CART, only the read-only path: reads executed unordered, signed under the 'readonly' key set (t = 2f+1)",
    tuning: { ...OFF, readOnly: true },
    readOnlyInvocations: true,
    clientBatchVerification: false,
    byzantineBadShares: false,
  },
  'cart-workers': {
    kind: 'cart',
    description: 'CART, only crypto off the event loop: signing, combining and verification on 1 worker thread per replica',
    tuning: { ...OFF, cryptoWorkers: 1 },
    readOnlyInvocations: false,
    clientBatchVerification: false,
    byzantineBadShares: false,
  },
  'cart-leader': {
    kind: 'cart',
    description: "CART, only contact hints: replies name the protocol leader's replica and clients move there (no relay hop; only that replica combines)",
    tuning: { ...OFF, contactHints: true },
    readOnlyInvocations: false,
    clientBatchVerification: false,
    byzantineBadShares: false,
  },
  'cart-all': {
    kind: 'cart',
    description: "CART, all optimisations on (batch signatures, tentative aggregation, batched read-only path, client batch verification, crypto workers 'auto': only where a core is free per replica, contact hints)",
    tuning: ALL,
    readOnlyInvocations: true,
    clientBatchVerification: true,
    byzantineBadShares: false,
  },
  'cart-all-ordered-reads': {
    kind: 'cart',
    description: 'cart-all but reads are ordered like writes (no read-only path): shows what the read-only path costs or gains here',
    tuning: { ...ALL, readOnly: false },
    readOnlyInvocations: false,
    clientBatchVerification: true,
    byzantineBadShares: false,
  },
  'cart-all-byzantine': {
    kind: 'cart',
    description: 'cart-all with replica n Byzantine: it sends bad signature shares for a fraction of batches (--byzantine-bad-shares-rate, default every batch)',
    tuning: ALL,
    readOnlyInvocations: true,
    clientBatchVerification: true,
    byzantineBadShares: true,
  },
};

/** An invalid `--modes` / `--consensus` list. */
export class BenchModeError extends Error {
  override readonly name = 'BenchModeError';
}

/** The full description of mode `name`. */
export function modeSpec(name: BenchModeName): BenchModeSpec {
  return { name, ...SPECS[name] };
}

/**
 * Parse a comma-separated mode list (`native,cart-none,cart-all`); order kept, duplicates dropped.
 * @throws {BenchModeError} for an unknown or empty list
 */
export function parseModes(list: string): BenchModeName[] {
  const out: BenchModeName[] = [];
  for (const raw of list.split(',')) {
    const m = raw.trim();
    if (m === '') continue;
    if (!(BENCH_MODES as readonly string[]).includes(m)) throw new BenchModeError(`unknown mode '${m}' (known: ${BENCH_MODES.join(', ')})`);
    if (!out.includes(m as BenchModeName)) out.push(m as BenchModeName);
  }
  if (out.length === 0) throw new BenchModeError('no mode given');
  return out;
}

/** Consensus protocols `cart bench` can run under CART (`bftsmart` needs the user's build: `--bftsmart-home`). */
export const BENCH_CONSENSUS = ['pbft', 'etcd', 'bftsmart'] as const;
/** A benchmarked consensus protocol. */
export type BenchConsensus = (typeof BENCH_CONSENSUS)[number] & ConsensusProtocol;

/**
 * Protocols with a `native` baseline: their own BFT client on the same KV application (etcd's
 * client is not a BFT client, so etcd has none).
 */
export const NATIVE_CONSENSUS: readonly BenchConsensus[] = ['pbft', 'bftsmart'];

/**
 * Parse `--consensus pbft,etcd,bftsmart`.
 * @throws {BenchModeError} for an unknown or empty list
 */
export function parseConsensusList(list: string): BenchConsensus[] {
  const out: BenchConsensus[] = [];
  for (const raw of list.split(',')) {
    const c = raw.trim();
    if (c === '') continue;
    if (!(BENCH_CONSENSUS as readonly string[]).includes(c)) throw new BenchModeError(`unknown consensus '${c}' (known: ${BENCH_CONSENSUS.join(', ')})`);
    if (!out.includes(c as BenchConsensus)) out.push(c as BenchConsensus);
  }
  if (out.length === 0) throw new BenchModeError('no consensus protocol given');
  return out;
}

/**
 * Parse `--clients 1,10,50` (or one number) into ascending distinct client counts.
 * @throws {BenchModeError} unless every entry is an integer 1..max
 */
export function parseClientCounts(list: string, max = 1000): number[] {
  const out = new Set<number>();
  for (const raw of list.split(',')) {
    const s = raw.trim();
    if (s === '') continue;
    if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > max) throw new BenchModeError(`client count must be an integer 1..${max}, got '${s}'`);
    out.add(Number(s));
  }
  if (out.size === 0) throw new BenchModeError('no client count given');
  return [...out].sort((a, b) => a - b);
}

/**
 * The (consensus, mode) pairs a run measures, grouped by consensus: `native` is skipped under a
 * protocol without a native baseline ({@link NATIVE_CONSENSUS}: etcd has none).
 */
export function runPlan(consensus: readonly BenchConsensus[], modes: readonly BenchModeName[]): { consensus: BenchConsensus; mode: BenchModeName }[] {
  const plan: { consensus: BenchConsensus; mode: BenchModeName }[] = [];
  for (const c of consensus) for (const m of modes) if (!(m === 'native' && !NATIVE_CONSENSUS.includes(c))) plan.push({ consensus: c, mode: m });
  return plan;
}
