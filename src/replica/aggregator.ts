/**
 * Aggregator: turns signature shares over one message into the group signature
 * (Boldyreva PKC 2003 threshold BLS; "combine first, verify on failure" from SBFT, Gueta et al.
 * DSN 2019). Keeps the set of suspected signers across batches.
 *
 *  - tentative (default): combine t shares (verified ones first, then by signer index) and
 *    verify the group signature once; on failure find the bad shares, exclude and report their
 *    signers, and recombine from the others;
 *  - `tentative: false`: verify every share before combining.
 * A signer caught with a bad share is suspected: its shares are verified one by one until it
 * has sent `suspicionGoodShares` valid shares, so it costs extra work only while it misbehaves.
 */
import type { CryptoService, Domain, PublicKeySet } from '../crypto/types.ts';

/** The mutable per-message state the aggregator works on. */
export interface AggregationState {
  readonly sequence: bigint;
  readonly message: Uint8Array;
  /** signer index → share bytes (candidates). */
  readonly shares: Map<number, Uint8Array>;
  /** Signers whose share is known valid. */
  readonly verified: Set<number>;
  /** Signers whose share was invalid (excluded for this message). */
  readonly bad: Set<number>;
  attempts: number;
  signature: Uint8Array | undefined;
}

/** Observer hooks. */
export interface AggregatorObserver {
  badShare?(signer: number, sequence: bigint): void;
  combined?(sequence: bigint, attempts: number): void;
  error?(err: Error, context: string): void;
}

/** Options of {@link Aggregator}. */
export interface AggregatorOptions {
  readonly keySet: PublicKeySet;
  readonly domain: Domain;
  readonly crypto: CryptoService;
  /** Own signer index; its share is never excluded unless `distrustOwn`. */
  readonly index: number;
  readonly distrustOwn?: boolean;
  readonly tentative?: boolean;
  readonly suspicionGoodShares?: number;
  readonly observer?: AggregatorObserver;
}

/** Outcome of one {@link Aggregator.combine} round. */
export type CombineOutcome = 'signed' | 'short' | 'retry';

/** See the module comment. */
export class Aggregator {
  private readonly suspected = new Map<number, number>();
  private readonly tentative: boolean;
  private readonly suspicionGood: number;

  constructor(private readonly o: AggregatorOptions) {
    this.tentative = o.tentative ?? true;
    this.suspicionGood = o.suspicionGoodShares ?? 64;
  }

  /** Signers currently suspected of sending bad shares (ascending). */
  get suspectedSigners(): number[] {
    return [...this.suspected.keys()].sort((a, b) => a - b);
  }

  /**
   * One aggregation round. Sets `st.signature` on success.
   * @returns 'signed'; 'short' when fewer than t usable shares are present (ask for more);
   *   'retry' when bad shares were excluded and t valid ones are not (yet) there
   * @throws crypto errors for malformed input that should not occur (shares are pre-checked in size)
   */
  async combine(st: AggregationState): Promise<CombineOutcome> {
    const t = this.o.keySet.threshold;
    // shares of suspected signers (all shares when not tentative) are checked one by one
    const unchecked = [...st.shares.keys()].filter((s) => !st.verified.has(s) && (this.suspected.has(s) || !this.tentative));
    if (unchecked.length > 0) {
      const ok = await Promise.all(
        unchecked.map((s) => this.o.crypto.verifyShare(this.o.keySet, this.o.domain, st.message, { index: s, signature: st.shares.get(s)! })),
      );
      const bad: number[] = [];
      unchecked.forEach((s, i) => {
        if (!ok[i]) return void bad.push(s);
        st.verified.add(s);
        const left = this.suspected.get(s);
        if (left !== undefined) {
          if (left <= 1) this.suspected.delete(s);
          else this.suspected.set(s, left - 1);
        }
      });
      this.exclude(st, bad);
    }
    const usable = [...st.shares.entries()].filter(([s]) => (this.tentative ? !this.suspected.has(s) || st.verified.has(s) : st.verified.has(s)));
    if (usable.length < t) return 'short';
    // verified shares (own first) before unverified ones, then by index: a deterministic choice
    usable.sort(([a], [b]) => Number(st.verified.has(b)) - Number(st.verified.has(a)) || a - b);
    const shares = usable.map(([index, signature]) => ({ index, signature }));
    st.attempts++;
    if (shares.slice(0, t).every((s) => st.verified.has(s.index))) {
      // t known-valid shares combine to a valid signature: no verification needed
      st.signature = await this.o.crypto.combine(this.o.keySet, shares.slice(0, t));
      this.o.observer?.combined?.(st.sequence, st.attempts);
      return 'signed';
    }
    const out = await this.o.crypto.combineAndVerify(this.o.keySet, this.o.domain, st.message, shares);
    this.exclude(st, out.badShares);
    if ('signature' in out) {
      st.signature = out.signature;
      this.o.observer?.combined?.(st.sequence, st.attempts);
      return 'signed';
    }
    if (out.error === 'invalid-input') this.o.observer?.error?.(new Error(out.message), 'combine');
    return 'retry';
  }

  private exclude(st: AggregationState, signers: readonly number[]): void {
    for (const s of signers) {
      if (s === this.o.index && !this.o.distrustOwn) continue;
      st.shares.delete(s);
      st.verified.delete(s);
      st.bad.add(s);
      this.suspected.set(s, this.suspicionGood);
      this.o.observer?.badShare?.(s, st.sequence);
    }
  }
}
