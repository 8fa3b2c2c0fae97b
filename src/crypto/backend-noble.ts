/**
 * Portable backend on @noble/curves (pure JS, audited; runs in browsers). Slower than mcl-wasm
 * (see docs/crypto.md) but byte-for-byte interoperable. Pairing checks reuse cached Miller-loop
 * line coefficients for −g2 and for every decoded public key.
 */
import { bls12_381 as bls } from '@noble/curves/bls12-381.js';
import { pippenger } from '@noble/curves/abstract/curve.js';
import type { CurveOps, PreparedPublicKey } from './curve-ops.ts';

type G1P = InstanceType<typeof bls.G1.Point>;
type G2P = InstanceType<typeof bls.G2.Point>;
type Precomputed = ReturnType<typeof bls.utils.calcPairingPrecomputes>;

interface NoblePreparedKey extends PreparedPublicKey<G2P> {
  readonly lines: Precomputed;
}

const G1 = bls.G1.Point;
const G2 = bls.G2.Point;
const Fp12 = bls.fields.Fp12;

let negG2Lines: Precomputed | undefined;

/** Creates the noble {@link CurveOps}. */
export function nobleCurveOps(): CurveOps<G1P, G2P> {
  negG2Lines ??= bls.utils.calcPairingPrecomputes(G2.BASE.negate());
  const negLines = negG2Lines;
  return {
    name: 'noble',
    decodeG1(bytes) {
      const p = G1.fromBytes(bytes); // assertValidity(): on curve + torsion-free (prime-order subgroup)
      if (p.is0()) throw new Error('point at infinity');
      return p;
    },
    decodeG2(bytes): NoblePreparedKey {
      const p = G2.fromBytes(bytes); // assertValidity(): on curve + torsion-free
      if (p.is0()) throw new Error('point at infinity');
      return { point: p, lines: bls.utils.calcPairingPrecomputes(p) };
    },
    encodeG1: (p) => p.toBytes(true),
    encodeG2: (p) => p.toBytes(true),
    hashToG1: (message: Uint8Array, dst: Uint8Array) => bls.G1.hashToCurve(message, { DST: dst }) as unknown as G1P,
    mulG1: (p, k) => p.multiply(k),
    mulBaseG2: (k) => G2.BASE.multiply(k),
    msmG1: (points, scalars) => (points.length === 1 ? points[0]!.multiply(scalars[0]!) : pippenger(G1, [...points], [...scalars])),
    msmG2: (points, scalars) => (points.length === 1 ? points[0]!.multiply(scalars[0]!) : pippenger(G2, [...points], [...scalars])),
    isZeroG1: (p) => p.is0(),
    equalG2: (a, b) => a.equals(b),
    pairingCheck(sig, terms) {
      if (sig.is0()) return false;
      const s = sig.toAffine();
      const pairs: [Precomputed, bigint, bigint][] = [[negLines, s.x, s.y]];
      for (const [h, pk] of terms) {
        if (h.is0()) return false;
        const a = h.toAffine();
        pairs.push([(pk as NoblePreparedKey).lines, a.x, a.y]);
      }
      return Fp12.eql(Fp12.finalExponentiate(bls.millerLoopBatch(pairs)), Fp12.ONE);
    },
  };
}
