/**
 * Trusted-dealer key generation for threshold BLS (Shamir 1979 secret sharing of the signing
 * key; Feldman 1987 verifiable secret sharing commitments; Boldyreva PKC 2003 §3).
 *
 * For a key set with threshold t over n replicas the dealer draws a random polynomial
 * p(x) = a_0 + a_1 x + … + a_{t−1} x^{t−1} over Fr, gives replica i the key share s_i = p(i),
 * and publishes the group public key P = a_0·g2, the public key shares P_i = s_i·g2 and the
 * Feldman commitments C_k = a_k·g2, so replica i can check s_i·g2 = Σ_k i^k·C_k.
 * A distributed key generation (Pedersen/GJKR) would remove the dealer; not implemented.
 */
import { encodeG2, decodeG2, mulBaseG2, msmG2 } from './g2-noble.ts';
import { bytesEqual } from './encoding.ts';
import { InvalidThresholdError, WrongKeySetError } from './errors.ts';
import { evalPolynomial, FR_ORDER, randomScalar, scalarFromBytes, scalarToBytes } from './field.ts';
import { secureRandomBytes, type RandomBytes } from './threshold.ts';
import type { KeySetSpec, KeyShare, PublicKeySet } from './types.ts';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * A {@link KeyShare} that redacts its secret when logged (`JSON.stringify`, `util.inspect`,
 * pino). Structured-clone (worker messages) still copies the secret, as a plain object.
 */
export class SecretKeyShare implements KeyShare {
  readonly keySet: string;
  readonly index: number;
  readonly secret: Uint8Array;
  constructor(keySet: string, index: number, secret: Uint8Array) {
    this.keySet = keySet;
    this.index = index;
    this.secret = secret;
  }
  toJSON(): { keySet: string; index: number; secret: string } {
    return { keySet: this.keySet, index: this.index, secret: '[redacted]' };
  }
  toString(): string {
    return `KeyShare(${this.keySet}#${this.index}, secret: [redacted])`;
  }
  [INSPECT](): string {
    return this.toString();
  }
}

/** CART's default key sets for f tolerated faults: 'ordered' t = f+1, 'readonly' t = 2f+1. */
export function defaultKeySetSpecs(f: number): KeySetSpec[] {
  return [
    { name: 'ordered', threshold: f + 1 },
    { name: 'readonly', threshold: 2 * f + 1 },
  ];
}

/** Options of {@link dealKeySets}. */
export interface DealOptions {
  /** Random source (default Web Crypto); inject a seeded one for reproducible tests only. */
  readonly randomBytes?: RandomBytes;
}

/**
 * Deals independent threshold key sets for n replicas.
 * @param n - number of replicas (signer indices 1..n), 1 ≤ n ≤ 1024.
 * @param specs - one entry per key set: unique non-empty name, threshold 1 ≤ t ≤ n.
 * @returns public key sets (in spec order) and `shares[i-1]` = replica i's key shares (spec order).
 * @throws InvalidThresholdError for bad n, t or duplicate names.
 */
export function dealKeySets(
  n: number,
  specs: readonly KeySetSpec[],
  opts: DealOptions = {},
): { publicKeySets: PublicKeySet[]; shares: KeyShare[][] } {
  if (!Number.isSafeInteger(n) || n < 1 || n > 1024) throw new InvalidThresholdError(`replica count ${String(n)} not in 1..1024`);
  const names = new Set<string>();
  for (const s of specs) {
    if (typeof s.name !== 'string' || s.name.length === 0 || names.has(s.name)) throw new InvalidThresholdError(`bad or duplicate key set name ${JSON.stringify(s.name)}`);
    names.add(s.name);
    if (!Number.isSafeInteger(s.threshold) || s.threshold < 1 || s.threshold > n) {
      throw new InvalidThresholdError(`key set ${s.name}: threshold ${String(s.threshold)} not in 1..${n}`);
    }
  }
  const rnd = opts.randomBytes ?? secureRandomBytes;
  const publicKeySets: PublicKeySet[] = [];
  const shares: KeyShare[][] = Array.from({ length: n }, () => []);
  for (const spec of specs) {
    let coeffs: bigint[];
    let secrets: bigint[];
    do {
      coeffs = Array.from({ length: spec.threshold }, () => randomScalar(rnd));
      const c = coeffs;
      secrets = Array.from({ length: n }, (_, k) => evalPolynomial(c, BigInt(k + 1)));
    } while (secrets.some((s) => s === 0n)); // probability ~ n/r: never in practice
    const commitments = coeffs.map((a) => encodeG2(mulBaseG2(a)));
    const publicKeyShares = secrets.map((s) => encodeG2(mulBaseG2(s)));
    publicKeySets.push(
      Object.freeze({
        name: spec.name,
        threshold: spec.threshold,
        replicas: n,
        groupPublicKey: commitments[0]!,
        publicKeyShares: Object.freeze(publicKeyShares),
        commitments: Object.freeze(commitments),
      }),
    );
    secrets.forEach((s, k) => shares[k]!.push(new SecretKeyShare(spec.name, k + 1, scalarToBytes(s))));
  }
  return { publicKeySets, shares };
}

/** Σ_k i^k·C_k: the public key share that the Feldman commitments promise for signer i. */
function committedShareKey(commitments: readonly Uint8Array[], i: number, name: string) {
  const points = commitments.map((c, k) => decodeG2(c, `key set ${name}: commitment ${k}`));
  const powers: bigint[] = [];
  let x = 1n;
  for (let k = 0; k < points.length; k++) {
    powers.push(x);
    x = (x * BigInt(i)) % FR_ORDER;
  }
  return msmG2(points, powers);
}

/**
 * Fully validates a public key set: shape, every point (infinity, on curve, subgroup),
 * C_0 = P, and — when `checkShares` (default) — P_i = Σ_k i^k·C_k for every signer i.
 * @throws InvalidThresholdError, WrongKeySetError, MalformedEncodingError, InvalidPointError, InfinityPointError
 */
export function validatePublicKeySet(keySet: PublicKeySet, checkShares = true): void {
  const { name, threshold: t, replicas: n } = keySet;
  if (typeof name !== 'string' || name.length === 0) throw new WrongKeySetError('key set without a name');
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidThresholdError(`key set ${name}: bad replica count`);
  if (!Number.isSafeInteger(t) || t < 1 || t > n) throw new InvalidThresholdError(`key set ${name}: threshold ${String(t)} not in 1..${n}`);
  if (keySet.publicKeyShares.length !== n) throw new WrongKeySetError(`key set ${name}: ${keySet.publicKeyShares.length} public key shares for ${n} replicas`);
  if (keySet.commitments.length !== t) throw new WrongKeySetError(`key set ${name}: ${keySet.commitments.length} commitments for threshold ${t}`);
  decodeG2(keySet.groupPublicKey, `key set ${name}: group public key`);
  if (!bytesEqual(keySet.groupPublicKey, keySet.commitments[0]!)) throw new WrongKeySetError(`key set ${name}: group public key ≠ commitment C_0`);
  const shareKeys = keySet.publicKeyShares.map((p, k) => decodeG2(p, `key set ${name}: public key share ${k + 1}`));
  if (!checkShares) return;
  const commitPts = keySet.commitments.map((c, k) => decodeG2(c, `key set ${name}: commitment ${k}`));
  // Randomised batch check (one MSM over the n share keys, one over the t commitments):
  //   Σ_i ρ_i·P_i = Σ_k (Σ_i ρ_i·i^k)·C_k  with random 128-bit ρ_i; a wrong P_i passes w.p. ≤ 2^-128.
  const rho = Array.from({ length: n }, () => {
    const b = secureRandomBytes(16);
    let v = 0n;
    for (const x of b) v = (v << 8n) | BigInt(x);
    return v === 0n ? 1n : v;
  });
  const coeffs = new Array<bigint>(t).fill(0n);
  for (let i = 1; i <= n; i++) {
    let x = 1n;
    for (let k = 0; k < t; k++) {
      coeffs[k] = (coeffs[k]! + rho[i - 1]! * x) % FR_ORDER;
      x = (x * BigInt(i)) % FR_ORDER;
    }
  }
  const nz = coeffs.map((c, k) => [c, k] as const).filter(([c]) => c !== 0n);
  const lhs = msmG2(shareKeys, rho);
  const rhs = msmG2(nz.map(([, k]) => commitPts[k]!), nz.map(([c]) => c));
  if (lhs.equals(rhs)) return;
  // Slow path only to name the culprit.
  for (let i = 1; i <= n; i++) {
    if (!committedShareKey(keySet.commitments, i, name).equals(shareKeys[i - 1]!)) {
      throw new WrongKeySetError(`key set ${name}: public key share ${i} does not match the Feldman commitments`);
    }
  }
  throw new WrongKeySetError(`key set ${name}: public key shares do not match the Feldman commitments`);
}

/**
 * Feldman check of a replica's key share: s_i·g2 = P_i = Σ_k i^k·C_k.
 * @throws WrongKeySetError (name/index mismatch or failed check), InvalidScalarError, point errors.
 */
export function checkKeyShare(keySet: PublicKeySet, share: KeyShare): void {
  if (share.keySet !== keySet.name) throw new WrongKeySetError(`key share of ${share.keySet} checked against key set ${keySet.name}`);
  if (!Number.isInteger(share.index) || share.index < 1 || share.index > keySet.replicas) {
    throw new WrongKeySetError(`key share index ${share.index} not in 1..${keySet.replicas}`);
  }
  const s = scalarFromBytes(share.secret);
  const mine = mulBaseG2(s);
  if (!mine.equals(committedShareKey(keySet.commitments, share.index, keySet.name))) {
    throw new WrongKeySetError(`key share ${keySet.name}#${share.index} does not match the Feldman commitments`);
  }
  if (!bytesEqual(encodeG2(mine), keySet.publicKeyShares[share.index - 1]!)) {
    throw new WrongKeySetError(`key share ${keySet.name}#${share.index} does not match its public key share`);
  }
}
