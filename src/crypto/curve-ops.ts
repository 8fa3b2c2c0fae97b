/**
 * The narrow set of BLS12-381 operations a backend library must provide. The threshold logic
 * (validation, Lagrange, batching, error mapping) lives once in `threshold.ts`; a backend only
 * adapts a curve library to this interface. Signatures are in G1, public keys in G2.
 */
/** A public key decoded once and cached (with whatever precomputation the backend wants). */
export interface PreparedPublicKey<G2P> {
  readonly point: G2P;
}

export interface CurveOps<G1P, G2P> {
  readonly name: string;
  /**
   * Decode a compressed G1 point whose structure `checkCompressedPoint` already accepted
   * (not infinity, x < p). Must throw (anything) if it is not on the curve or not in the subgroup;
   * the caller maps that to InvalidPointError.
   */
  decodeG1(bytes: Uint8Array): G1P;
  /** Same for G2; result may be cached by the caller, so it must be immutable. */
  decodeG2(bytes: Uint8Array): PreparedPublicKey<G2P>;
  /** Release backend resources held by a prepared key (e.g. wasm memory); optional. */
  releaseG2?(p: PreparedPublicKey<G2P>): void;
  encodeG1(p: G1P): Uint8Array;
  encodeG2(p: G2P): Uint8Array;
  /** RFC 9380 hash_to_curve (BLS12381G1_XMD:SHA-256_SSWU_RO_) with the given DST (1..255 bytes). */
  hashToG1(message: Uint8Array, dst: Uint8Array): G1P;
  /** k·P for a scalar 0 < k < r. */
  mulG1(p: G1P, k: bigint): G1P;
  /** k·g2. */
  mulBaseG2(k: bigint): G2P;
  /** Σ k_i·P_i (multi-scalar multiplication), n ≥ 1. */
  msmG1(points: readonly G1P[], scalars: readonly bigint[]): G1P;
  /** Σ k_i·Q_i in G2 (used for Feldman checks). */
  msmG2(points: readonly G2P[], scalars: readonly bigint[]): G2P;
  isZeroG1(p: G1P): boolean;
  equalG2(a: G2P, b: G2P): boolean;
  /** e(sig, g2) == Π_k e(h_k, pk_k), computed as one multi-Miller loop and one final exponentiation. */
  pairingCheck(sig: G1P, terms: readonly (readonly [G1P, PreparedPublicKey<G2P>])[]): boolean;
}
