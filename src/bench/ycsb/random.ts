/**
 * Injected randomness for the workload generators: a tiny interface plus a seeded,
 * deterministic implementation (xoshiro128**, Blackman & Vigna, "Scrambled linear pseudorandom
 * number generators", ACM TOMS 2021; seeded through SplitMix32). Not for cryptography.
 */

/** Source of uniformly distributed numbers. */
export interface Random {
  /** A uniform double in [0, 1) with 53 random bits. */
  nextDouble(): number;
  /** A uniform unsigned 32-bit integer. */
  nextUint32(): number;
}

/** A deterministic {@link Random} seeded with a 32-bit integer (other numbers are truncated). */
export function seededRandom(seed: number): Random {
  let x = seed >>> 0;
  const splitmix = (): number => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  if ((a | b | c | d) === 0) a = 1;
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  return {
    nextUint32: next,
    nextDouble: () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992,
  };
}

function rotl(v: number, k: number): number {
  return ((v << k) | (v >>> (32 - k))) >>> 0;
}
