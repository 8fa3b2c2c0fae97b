/**
 * Seeded pseudo-random numbers for simulations (NOT cryptographic): SplitMix64 seeding of a
 * xoshiro128** generator (Blackman & Vigna, "Scrambled Linear Pseudorandom Number
 * Generators", ACM TOMS 2021). The same seed gives the same sequence on every platform.
 */

/** Deterministic random source for simulations. */
export class SimRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** @param seed any integer or string; equal seeds give equal sequences */
  constructor(readonly seed: number | string) {
    let x = typeof seed === 'number' ? BigInt.asUintN(64, BigInt(Math.trunc(seed))) : hashString(seed);
    const next = (): number => {
      // SplitMix64 step, upper 32 bits.
      x = BigInt.asUintN(64, x + 0x9e3779b97f4a7c15n);
      let z = x;
      z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
      z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
      z = z ^ (z >> 31n);
      return Number(z >> 32n) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1;
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n) for 1 ≤ n ≤ 2^32. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from empty array');
    return items[this.int(items.length)]!;
  }

  /** An independent generator derived from this one (for sub-components). */
  fork(label: string): SimRandom {
    return new SimRandom(`${String(this.seed)}/${label}/${this.nextU32()}`);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function hashString(s: string): bigint {
  // FNV-1a 64-bit.
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(s)) {
    h ^= BigInt(b);
    h = BigInt.asUintN(64, h * 0x100000001b3n);
  }
  return h;
}
