/**
 * Scalar-field (Fr, r = BLS12-381 subgroup order) helpers for Shamir secret sharing and
 * Lagrange interpolation at 0 (Shamir 1979; Boldyreva PKC 2003 §3). All arithmetic is delegated
 * to @noble/curves' Fr field implementation; this file only composes it.
 *
 * Pure JS, no Node modules.
 */
import { bls12_381_Fr as Fr } from '@noble/curves/bls12-381.js';
import { InvalidScalarError } from './errors.ts';

/** The subgroup order r. */
export const FR_ORDER: bigint = Fr.ORDER;

/** Big-endian 32-byte encoding of a scalar in [0, r). */
export function scalarToBytes(s: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = s;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Parses a secret scalar: exactly 32 bytes big-endian, canonical (< r) and non-zero.
 * @throws InvalidScalarError
 */
export function scalarFromBytes(b: Uint8Array): bigint {
  if (!(b instanceof Uint8Array) || b.length !== 32) throw new InvalidScalarError('secret scalar must be 32 bytes');
  let v = 0n;
  for (let i = 0; i < 32; i++) v = (v << 8n) | BigInt(b[i]!);
  if (v === 0n) throw new InvalidScalarError('secret scalar is zero');
  if (v >= FR_ORDER) throw new InvalidScalarError('secret scalar is not reduced modulo r');
  return v;
}

/**
 * A uniformly random non-zero scalar from a random byte source (48 bytes reduced mod r, bias
 * ≤ 2^-128, as in RFC 9380 §5 hash_to_field with L = 48).
 * @param randomBytes - returns n cryptographically random bytes (injected for determinism in tests).
 */
export function randomScalar(randomBytes: (n: number) => Uint8Array): bigint {
  for (;;) {
    const b = randomBytes(48);
    let v = 0n;
    for (let i = 0; i < b.length; i++) v = (v << 8n) | BigInt(b[i]!);
    const s = Fr.create(v);
    if (s !== 0n) return s;
  }
}

/** Evaluates the polynomial Σ coeffs[k]·x^k in Fr (Horner). */
export function evalPolynomial(coeffs: readonly bigint[], x: bigint): bigint {
  let acc = 0n;
  for (let k = coeffs.length - 1; k >= 0; k--) acc = Fr.add(Fr.mul(acc, x), coeffs[k]!);
  return acc;
}

/** Fr multiplication (exported for Feldman checks). */
export function frMul(a: bigint, b: bigint): bigint {
  return Fr.mul(a, b);
}

const LAGRANGE_CACHE_LIMIT = 4096;
const lagrangeCache = new Map<string, readonly bigint[]>();

/**
 * Lagrange coefficients at x = 0 for the signer set `indices` (distinct integers ≥ 1, the
 * caller validates): λ_i = Π_{j∈S, j≠i} j / (j − i) mod r. Cached per signer set (LRU-ish,
 * bounded), so a steady set of responsive replicas costs one Map lookup.
 */
export function lagrangeAtZero(indices: readonly number[]): readonly bigint[] {
  const key = indices.join(',');
  const hit = lagrangeCache.get(key);
  if (hit !== undefined) {
    lagrangeCache.delete(key);
    lagrangeCache.set(key, hit);
    return hit;
  }
  const xs = indices.map((i) => BigInt(i));
  const nums: bigint[] = [];
  const dens: bigint[] = [];
  for (let a = 0; a < xs.length; a++) {
    let num = 1n;
    let den = 1n;
    for (let b = 0; b < xs.length; b++) {
      if (a === b) continue;
      num = Fr.mul(num, xs[b]!);
      den = Fr.mul(den, Fr.sub(xs[b]!, xs[a]!));
    }
    nums.push(num);
    dens.push(den);
  }
  const inv = Fr.invertBatch(dens);
  const out = Object.freeze(nums.map((n, k) => Fr.mul(n, inv[k]!)));
  lagrangeCache.set(key, out);
  if (lagrangeCache.size > LAGRANGE_CACHE_LIMIT) {
    const oldest = lagrangeCache.keys().next().value;
    if (oldest !== undefined) lagrangeCache.delete(oldest);
  }
  return out;
}
