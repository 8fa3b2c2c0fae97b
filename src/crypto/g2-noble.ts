/**
 * G2 (public key) helpers on @noble/curves used by key dealing and key-file validation: these
 * run rarely, must be synchronous and must work without wasm, so they use the pure-JS library.
 */
import { bls12_381 as bls } from '@noble/curves/bls12-381.js';
import { pippenger } from '@noble/curves/abstract/curve.js';
import { checkCompressedPoint } from './encoding.ts';
import { InvalidPointError } from './errors.ts';

export type G2Point = InstanceType<typeof bls.G2.Point>;
const G2 = bls.G2.Point;

/**
 * Decodes a compressed G2 point with infinity, on-curve and subgroup checks.
 * @throws MalformedEncodingError, InfinityPointError, InvalidPointError
 */
export function decodeG2(bytes: Uint8Array, what: string): G2Point {
  checkCompressedPoint(bytes, 'G2', what);
  try {
    const p = G2.fromBytes(bytes); // assertValidity(): on curve + torsion-free
    if (p.is0()) throw new Error('point at infinity');
    return p;
  } catch (cause) {
    throw new InvalidPointError(`${what}: not a point of the G2 prime-order subgroup`, { cause });
  }
}

/** k·g2 for 0 < k < r. */
export function mulBaseG2(k: bigint): G2Point {
  return G2.BASE.multiply(k);
}

/** Compressed encoding (96 bytes). */
export function encodeG2(p: G2Point): Uint8Array {
  return p.toBytes(true);
}

/** Σ k_j·P_j (scalars may be 0). */
export function msmG2(points: readonly G2Point[], scalars: readonly bigint[]): G2Point {
  return pippenger(G2, [...points], [...scalars]);
}
