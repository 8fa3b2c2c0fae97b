/**
 * Threshold BLS (Boldyreva, PKC 2003, §3–4) over any {@link CurveOps} backend: share signing,
 * share and group verification, Lagrange combination with multi-scalar multiplication, batch
 * verification with random linear combinations, and bad-share detection.
 *
 * All input validation and error mapping is here, once, so every backend rejects the same bad
 * input with the same typed error.
 */
import type { CurveOps, PreparedPublicKey } from './curve-ops.ts';
import { checkCompressedPoint, toHex } from './encoding.ts';
import {
  CryptoError,
  DuplicateSignerError,
  InsufficientSharesError,
  InvalidPointError,
  InvalidThresholdError,
  SignerIndexError,
  WrongKeySetError,
} from './errors.ts';
import { lagrangeAtZero, scalarFromBytes } from './field.ts';
import { domainSeparationTag, isDomain } from './suite.ts';
import type { BatchItem, Domain, KeyShare, PublicKeySet, SignatureShare, ThresholdBls } from './types.ts';

/** Source of cryptographically secure random bytes (Web Crypto by default; works in browsers). */
export type RandomBytes = (n: number) => Uint8Array;

/** Default randomness: `globalThis.crypto.getRandomValues` (Node ≥ 19, all browsers). */
export const secureRandomBytes: RandomBytes = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));

const PK_CACHE_LIMIT = 512;

/**
 * Checks the shape of a key set (not its points): 1 ≤ t ≤ n, n share keys, t commitments.
 * @throws InvalidThresholdError, WrongKeySetError
 */
export function checkKeySetShape(keySet: PublicKeySet): void {
  if (keySet === null || typeof keySet !== 'object') throw new WrongKeySetError('key set is not an object');
  const { threshold: t, replicas: n } = keySet;
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidThresholdError(`key set ${keySet.name}: replica count ${String(n)} is not a positive integer`);
  if (!Number.isSafeInteger(t) || t < 1 || t > n) throw new InvalidThresholdError(`key set ${keySet.name}: threshold ${String(t)} not in 1..${n}`);
  if (!Array.isArray(keySet.publicKeyShares) || keySet.publicKeyShares.length !== n) {
    throw new WrongKeySetError(`key set ${keySet.name}: expected ${n} public key shares`);
  }
  if (!Array.isArray(keySet.commitments) || keySet.commitments.length !== t) {
    throw new WrongKeySetError(`key set ${keySet.name}: expected ${t} Feldman commitments`);
  }
}

function checkIndex(index: unknown, n: number): number {
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 1 || index > n) throw new SignerIndexError(index as number, n);
  return index;
}

/**
 * Validates a share set for combination and returns the t shares with the smallest indices,
 * sorted by index.
 * @throws SignerIndexError, DuplicateSignerError, InsufficientSharesError, InvalidThresholdError
 */
export function selectShares(keySet: PublicKeySet, shares: readonly SignatureShare[]): SignatureShare[] {
  checkKeySetShape(keySet);
  if (!Array.isArray(shares)) throw new InsufficientSharesError(0, keySet.threshold);
  const seen = new Set<number>();
  for (const s of shares) {
    const i = checkIndex(s?.index, keySet.replicas);
    if (seen.has(i)) throw new DuplicateSignerError(i);
    seen.add(i);
  }
  if (shares.length < keySet.threshold) throw new InsufficientSharesError(shares.length, keySet.threshold);
  return [...shares].sort((a, b) => a.index - b.index).slice(0, keySet.threshold);
}

/** The {@link ThresholdBls} implementation shared by all backends. */
export class GenericThresholdBls<G1P, G2P> implements ThresholdBls {
  readonly backend: string;
  private readonly pkCache = new Map<string, PreparedPublicKey<G2P>>();

  constructor(
    private readonly ops: CurveOps<G1P, G2P>,
    private readonly randomBytes: RandomBytes = secureRandomBytes,
  ) {
    this.backend = ops.name;
  }

  /** Raw curve operations (for benchmarks measuring wrapper overhead). */
  get curve(): CurveOps<G1P, G2P> {
    return this.ops;
  }

  /**
   * Decodes a compressed G1 point with infinity and subgroup checks.
   * @throws MalformedEncodingError, InfinityPointError, InvalidPointError
   */
  decodeSignature(bytes: Uint8Array, what = 'signature'): G1P {
    checkCompressedPoint(bytes, 'G1', what);
    let p: G1P;
    try {
      p = this.ops.decodeG1(bytes);
    } catch (cause) {
      throw new InvalidPointError(`${what}: not a point of the G1 prime-order subgroup`, { cause });
    }
    return p;
  }

  /**
   * Decodes (and caches) a compressed G2 public key with infinity and subgroup checks.
   * @throws MalformedEncodingError, InfinityPointError, InvalidPointError
   */
  preparePublicKey(bytes: Uint8Array, what = 'public key'): PreparedPublicKey<G2P> {
    checkCompressedPoint(bytes, 'G2', what);
    const key = toHex(bytes);
    const hit = this.pkCache.get(key);
    if (hit !== undefined) return hit;
    let p: PreparedPublicKey<G2P>;
    try {
      p = this.ops.decodeG2(bytes);
    } catch (cause) {
      throw new InvalidPointError(`${what}: not a point of the G2 prime-order subgroup`, { cause });
    }
    this.pkCache.set(key, p);
    if (this.pkCache.size > PK_CACHE_LIMIT) {
      const [oldKey, old] = this.pkCache.entries().next().value as [string, PreparedPublicKey<G2P>];
      this.pkCache.delete(oldKey);
      this.ops.releaseG2?.(old);
    }
    return p;
  }

  signShare(share: KeyShare, domain: Domain, message: Uint8Array): SignatureShare {
    if (!isDomain(domain)) throw new TypeError(`unknown domain ${String(domain)}`);
    if (!Number.isInteger(share.index) || share.index < 1) throw new SignerIndexError(share.index);
    const s = scalarFromBytes(share.secret);
    const h = this.hash(message, domain);
    return { index: share.index, signature: this.ops.encodeG1(this.ops.mulG1(h, s)) };
  }

  verifyShare(keySet: PublicKeySet, domain: Domain, message: Uint8Array, share: SignatureShare): boolean {
    try {
      checkKeySetShape(keySet);
      const i = checkIndex(share?.index, keySet.replicas);
      const pk = this.preparePublicKey(keySet.publicKeyShares[i - 1]!, `public key share ${i}`);
      const sig = this.decodeSignature(share.signature, 'signature share');
      return this.ops.pairingCheck(sig, [[this.hash(message, domain), pk]]);
    } catch (e) {
      return falseOnBadInput(e);
    }
  }

  combine(keySet: PublicKeySet, shares: readonly SignatureShare[]): Uint8Array {
    const chosen = selectShares(keySet, shares);
    const points = chosen.map((s) => this.decodeSignature(s.signature, `signature share ${s.index}`));
    const lambdas = lagrangeAtZero(chosen.map((s) => s.index));
    const sig = this.ops.msmG1(points, lambdas);
    if (this.ops.isZeroG1(sig)) throw new InvalidPointError('combined signature is the point at infinity');
    return this.ops.encodeG1(sig);
  }

  verify(groupPublicKey: Uint8Array, domain: Domain, message: Uint8Array, signature: Uint8Array): boolean {
    try {
      const pk = this.preparePublicKey(groupPublicKey, 'group public key');
      const sig = this.decodeSignature(signature);
      return this.ops.pairingCheck(sig, [[this.hash(message, domain), pk]]);
    } catch (e) {
      return falseOnBadInput(e);
    }
  }

  batchVerify(items: readonly BatchItem[]): boolean {
    try {
      if (!Array.isArray(items)) return false;
      if (items.length === 0) return true;
      if (items.length === 1) {
        const it = items[0]!;
        return this.verify(it.publicKey, it.domain, it.message, it.signature);
      }
      const sigs: G1P[] = [];
      const weights: bigint[] = [];
      // Group the hashed messages by public key: one Miller loop per distinct key.
      const byKey = new Map<string, { pk: PreparedPublicKey<G2P>; hs: G1P[]; ws: bigint[] }>();
      for (const it of items) {
        const pk = this.preparePublicKey(it.publicKey);
        const sig = this.decodeSignature(it.signature);
        const w = this.randomWeight();
        sigs.push(sig);
        weights.push(w);
        const key = toHex(it.publicKey);
        let g = byKey.get(key);
        if (g === undefined) byKey.set(key, (g = { pk, hs: [], ws: [] }));
        g.hs.push(this.hash(it.message, it.domain));
        g.ws.push(w);
      }
      const aggSig = this.ops.msmG1(sigs, weights);
      const terms: (readonly [G1P, PreparedPublicKey<G2P>])[] = [];
      for (const g of byKey.values()) terms.push([this.ops.msmG1(g.hs, g.ws), g.pk]);
      return this.ops.pairingCheck(aggSig, terms);
    } catch (e) {
      return falseOnBadInput(e);
    }
  }

  findBadShares(keySet: PublicKeySet, domain: Domain, message: Uint8Array, shares: readonly SignatureShare[]): number[] {
    const bad = new Set<number>();
    let h: G1P | undefined;
    for (const s of shares) {
      const idx = s?.index;
      try {
        checkKeySetShape(keySet);
        const i = checkIndex(idx, keySet.replicas);
        const pk = this.preparePublicKey(keySet.publicKeyShares[i - 1]!, `public key share ${i}`);
        const sig = this.decodeSignature(s.signature, 'signature share');
        h ??= this.hash(message, domain);
        // BLS signatures are unique, so a repeated index is fine only if it verifies again.
        if (!this.ops.pairingCheck(sig, [[h, pk]])) bad.add(i);
      } catch (e) {
        if (!(e instanceof CryptoError)) throw e;
        bad.add(typeof idx === 'number' ? idx : Number.NaN);
      }
    }
    return [...bad].sort((a, b) => a - b);
  }

  /** H_domain(message) ∈ G1 (RFC 9380). @throws TypeError for a non-byte message or unknown domain. */
  hash(message: Uint8Array, domain: Domain): G1P {
    if (!(message instanceof Uint8Array)) throw new TypeError('message must be a Uint8Array');
    return this.ops.hashToG1(message, domainSeparationTag(domain));
  }

  /**
   * RFC 9380 hash_to_curve to G1 with an arbitrary DST (known-answer tests, other protocols).
   * @returns the compressed point (48 bytes).
   */
  hashToCurveWithDst(message: Uint8Array, dst: Uint8Array): Uint8Array {
    if (!(message instanceof Uint8Array) || !(dst instanceof Uint8Array) || dst.length === 0 || dst.length > 255) {
      throw new TypeError('message must be bytes and DST 1..255 bytes');
    }
    return this.ops.encodeG1(this.ops.hashToG1(message, dst));
  }

  /** Uniform non-zero 64-bit weight for the small-exponent batch test. */
  private randomWeight(): bigint {
    for (;;) {
      const b = this.randomBytes(8);
      let w = 0n;
      for (let i = 0; i < 8; i++) w = (w << 8n) | BigInt(b[i]!);
      if (w !== 0n) return w;
    }
  }
}

/** Verification paths return false for bad input instead of throwing; anything else is a bug. */
function falseOnBadInput(e: unknown): false {
  if (e instanceof CryptoError || e instanceof TypeError || e instanceof RangeError) return false;
  throw e;
}
