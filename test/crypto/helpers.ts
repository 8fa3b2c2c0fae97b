/**
 * Test helpers: hostile point encodings built from the curve equation (not from our code), and
 * small utilities shared by the crypto tests.
 */
import { bls12_381 as bls } from '@noble/curves/bls12-381.js';
import { FpIsSquare } from '@noble/curves/abstract/modular.js';

const Fp = bls.fields.Fp;
const Fp2 = bls.fields.Fp2;
const P = Fp.ORDER;

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

function be48(x: bigint): Uint8Array {
  const out = new Uint8Array(48);
  for (let i = 47; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** Compressed G1 encoding of the affine point (x, y) (ZCash format), no validity checks. */
export function compressG1(x: bigint, y: bigint): Uint8Array {
  const b = be48(x);
  b[0]! |= 0x80;
  if (y > (P - 1n) / 2n) b[0]! |= 0x20;
  return b;
}

/**
 * A compressed G1 encoding of a point ON the curve y² = x³ + 4 but NOT in the prime-order
 * subgroup (x counts up from `start` until x³+4 is a square and the point is not torsion-free).
 */
export function g1OffSubgroup(start = 5n): Uint8Array {
  for (let x = start; ; x++) {
    const rhs = Fp.add(Fp.pow(x, 3n), 4n);
    if (!FpIsSquare(Fp, rhs)) continue;
    const y = Fp.sqrt(rhs);
    const pt = bls.G1.Point.fromAffine({ x, y });
    if (!pt.isTorsionFree()) return compressG1(x, y);
  }
}

/** A compressed G1 encoding whose x has no point on the curve (x³+4 is a non-square). */
export function g1NotOnCurve(start = 5n): Uint8Array {
  for (let x = start; ; x++) {
    const rhs = Fp.add(Fp.pow(x, 3n), 4n);
    if (!FpIsSquare(Fp, rhs)) return compressG1(x, 0n);
  }
}

/** A compressed G2 encoding of a point on E'(Fp2) but not in the G2 subgroup. */
export function g2OffSubgroup(): Uint8Array {
  const b = Fp2.fromBigTuple([4n, 4n]); // 4(1 + i)
  for (let c0 = 1n; ; c0++) {
    const x = Fp2.fromBigTuple([c0, 1n]);
    const rhs = Fp2.add(Fp2.mul(Fp2.sqr(x), x), b);
    let y;
    try {
      y = Fp2.sqrt(rhs);
    } catch {
      continue;
    }
    if (!Fp2.eql(Fp2.sqr(y), rhs)) continue;
    const pt = bls.G2.Point.fromAffine({ x, y });
    if (pt.isTorsionFree()) continue;
    const out = new Uint8Array(96);
    out.set(be48(x.c1), 0);
    out.set(be48(x.c0), 48);
    out[0]! |= 0x80;
    return out;
  }
}

/** The canonical compressed encoding of the point at infinity (G1: 48 bytes, G2: 96 bytes). */
export function infinity(len: 48 | 96): Uint8Array {
  const b = new Uint8Array(len);
  b[0] = 0xc0;
  return b;
}
