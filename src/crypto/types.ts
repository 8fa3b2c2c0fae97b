/**
 * Public types of the threshold BLS layer (the contract between the crypto layer and CART core).
 *
 * Scheme: threshold BLS (Boneh–Lynn–Shacham 2004; Boldyreva, PKC 2003) on BLS12-381 in the
 * "minimal-signature-size" variant: signatures and signature shares are points of G1 (48-byte
 * compressed), public keys are points of G2 (96-byte compressed); see `suite.ts` and
 * `docs/crypto.md` for the measured rationale. Hash to curve follows RFC 9380
 * (BLS12381G1_XMD:SHA-256_SSWU_RO_) with one CART domain separation tag per {@link Domain}.
 * Point encodings are the ZCash/IETF compressed form (draft-irtf-cfrg-pairing-friendly-curves
 * Appendix C): big-endian x with the compression, infinity and sign flags in the top 3 bits.
 */

/** What a signature is about; each maps to its own RFC 9380 domain separation tag (suite.ts). */
export type Domain = 'ordered-reply' | 'readonly-reply' | 'batch-root' | 'pop';

/** The list of all domains, in a stable order. */
export const DOMAINS: readonly Domain[] = ['ordered-reply', 'readonly-reply', 'batch-root', 'pop'];

/** One replica's signature share on a message: σ_i = s_i · H(m) ∈ G1, 48 compressed bytes. */
export interface SignatureShare {
  /** Signer index i in 1..n (the replica number; the Shamir evaluation point). */
  readonly index: number;
  /** Compressed G1 point, 48 bytes. */
  readonly signature: Uint8Array;
}

/** The public half of one threshold key set; safe to hand to clients. */
export interface PublicKeySet {
  /** Key set name, e.g. 'ordered' (t = f+1) or 'readonly' (t = 2f+1). */
  readonly name: string;
  /** Threshold t: any t valid shares combine into the group signature. */
  readonly threshold: number;
  /** Number of replicas n (signer indices 1..n). */
  readonly replicas: number;
  /** Group public key P = p(0)·g2, compressed G2 point (96 bytes). */
  readonly groupPublicKey: Uint8Array;
  /** [i-1] = P_i = p(i)·g2 for signer i, compressed G2 (96 bytes each), n entries. */
  readonly publicKeyShares: readonly Uint8Array[];
  /** Feldman commitments C_k = a_k·g2 to the polynomial coefficients, t entries (C_0 = P). */
  readonly commitments: readonly Uint8Array[];
}

/** A replica's secret share of one key set. Never log it (instances from this layer redact themselves). */
export interface KeyShare {
  /** Name of the {@link PublicKeySet} this share belongs to. */
  readonly keySet: string;
  /** Signer index i in 1..n. */
  readonly index: number;
  /** s_i = p(i), 32-byte big-endian canonical scalar in Fr. */
  readonly secret: Uint8Array;
}

/** One (public key, message, signature) triple for {@link ThresholdBls.batchVerify}. */
export interface BatchItem {
  /** Compressed G2 public key (96 bytes): a group public key or a public key share. */
  readonly publicKey: Uint8Array;
  readonly domain: Domain;
  readonly message: Uint8Array;
  /** Compressed G1 signature (48 bytes). */
  readonly signature: Uint8Array;
}

/** The key sets CART asks for by default, given f: t = f+1 for ordered replies, t = 2f+1 for read-only. */
export interface KeySetSpec {
  readonly name: string;
  readonly threshold: number;
}

/**
 * Synchronous threshold BLS core, one implementation per backend ('blst' = native blst, the Node
 * default; 'mcl' = mcl-wasm; 'noble' = @noble/curves, pure JS). All backends produce byte-identical outputs.
 * Every byte input is decoded with infinity and subgroup checks.
 */
export interface ThresholdBls {
  /** Backend name: 'blst', 'mcl' or 'noble' (the one actually running). */
  readonly backend: string;
  /**
   * σ_i = s_i · H_domain(message).
   * @throws InvalidScalarError for a secret that is not a canonical non-zero scalar; SignerIndexError.
   */
  signShare(share: KeyShare, domain: Domain, message: Uint8Array): SignatureShare;
  /**
   * e(σ_i, g2) == e(H(m), P_i). Returns false (never throws) for malformed, infinity or
   * out-of-subgroup shares, for an index outside 1..n, or when the key set is malformed.
   */
  verifyShare(keySet: PublicKeySet, domain: Domain, message: Uint8Array, share: SignatureShare): boolean;
  /**
   * σ = Σ_{i∈S} λ_i σ_i over the first t shares (S = their indices, λ_i Lagrange coefficients at 0).
   * Accepts ≥ t shares; uses the t with the smallest signer indices (so the output is
   * deterministic). Does NOT verify the result; shares are decoded with subgroup checks.
   * @throws DuplicateSignerError, SignerIndexError, InsufficientSharesError,
   *   MalformedEncodingError, InvalidPointError, InfinityPointError.
   */
  combine(keySet: PublicKeySet, shares: readonly SignatureShare[]): Uint8Array;
  /** e(σ, g2) == e(H(m), P). False (never throws) on malformed input of any kind. */
  verify(groupPublicKey: Uint8Array, domain: Domain, message: Uint8Array, signature: Uint8Array): boolean;
  /**
   * Small-exponent batch test (Bellare–Garay–Rabin 1998; Camenisch–Hohenberger–Pedersen 2007):
   * with fresh random 64-bit weights r_j checks e(Σ r_j σ_j, g2) == Π e(Σ_{j: pk_j = P} r_j H(m_j), P).
   * True iff all items are valid, except with probability ≤ 2^-64. False on malformed input.
   * An empty batch is vacuously true.
   */
  batchVerify(items: readonly BatchItem[]): boolean;
  /**
   * Signer indices (ascending, deduplicated) of the shares that do not verify — including
   * malformed ones, out-of-range indices and every occurrence of a duplicated index beyond the first valid one.
   */
  findBadShares(keySet: PublicKeySet, domain: Domain, message: Uint8Array, shares: readonly SignatureShare[]): number[];
}

/** Result of {@link CryptoService.combineAndVerify}. */
export type CombineAndVerifyResult =
  | { readonly signature: Uint8Array; readonly badShares: number[] }
  | { readonly error: 'insufficient-valid-shares' | 'invalid-input'; readonly badShares: number[]; readonly message: string };

/**
 * The same operations as {@link ThresholdBls}, asynchronous: either on a pool of worker threads
 * (so the event loop keeps serving) or in-thread (workers: 0).
 */
export interface CryptoService {
  /** The backend actually running (after a possible blst → mcl fallback). */
  readonly backend: string;
  /** Worker thread count; 0 = in-thread. */
  readonly workers: number;
  signShare(share: KeyShare, domain: Domain, message: Uint8Array): Promise<SignatureShare>;
  verifyShare(keySet: PublicKeySet, domain: Domain, message: Uint8Array, share: SignatureShare): Promise<boolean>;
  combine(keySet: PublicKeySet, shares: readonly SignatureShare[]): Promise<Uint8Array>;
  verify(groupPublicKey: Uint8Array, domain: Domain, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  batchVerify(items: readonly BatchItem[]): Promise<boolean>;
  findBadShares(keySet: PublicKeySet, domain: Domain, message: Uint8Array, shares: readonly SignatureShare[]): Promise<number[]>;
  /**
   * Optimistic path ("combine first, verify shares only on failure", SBFT, Gueta et al. DSN 2019):
   * combine t shares, verify the group signature; if it fails, find the bad shares, exclude
   * them and recombine from the remaining valid ones. One round trip to a worker.
   * Never throws for bad shares: returns `{ error }` when fewer than t valid shares remain.
   */
  combineAndVerify(keySet: PublicKeySet, domain: Domain, message: Uint8Array, shares: readonly SignatureShare[]): Promise<CombineAndVerifyResult>;
  /** Stop the worker threads (idempotent). Pending calls are rejected. */
  close(): Promise<void>;
}

/** Options of {@link createCryptoService}. */
export interface CryptoServiceOptions {
  /** Worker threads (default 0 = in-thread). */
  readonly workers?: number;
  /** Backend name: 'blst' (default, native; falls back to 'mcl' when unavailable), 'mcl' or 'noble'. */
  readonly backend?: string;
}
