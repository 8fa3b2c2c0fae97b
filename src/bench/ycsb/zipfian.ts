/**
 * The zipfian family of YCSB's generators: `ZipfianGenerator` (Gray et al., "Quickly Generating
 * Billion-Record Synthetic Databases", SIGMOD 1994), `ScrambledZipfianGenerator`,
 * `SkewedLatestGenerator`, and YCSB's FNV hash used for scrambling and key names.
 */
import type { CounterGenerator, NumberGenerator } from './generators.ts';
import type { Random } from './random.ts';

/** YCSB's default zipfian constant (`ZipfianGenerator.ZIPFIAN_CONSTANT`). */
export const ZIPFIAN_CONSTANT = 0.99;
/** Item count of YCSB's `ScrambledZipfianGenerator` inner generator (`ITEM_COUNT`). */
export const SCRAMBLED_ITEM_COUNT = 10_000_000_000;
/** YCSB's precomputed zeta(ITEM_COUNT, 0.99) (`ScrambledZipfianGenerator.ZETAN`). */
export const SCRAMBLED_ZETAN = 26.46902820178302;

const FNV_OFFSET_BASIS_64 = 0xcbf29ce484222325n;
const FNV_PRIME_64 = 1099511628211n;

/**
 * YCSB's `Utils.fnvhash64`: FNV-1a over the 8 little-endian bytes of `value` (a Java long),
 * then `Math.abs`. Used for hashed key names and the scrambled zipfian generator.
 */
export function fnvhash64(value: number | bigint): bigint {
  let val = BigInt.asIntN(64, BigInt(value));
  let hash = BigInt.asIntN(64, FNV_OFFSET_BASIS_64);
  for (let i = 0; i < 8; i++) {
    const octet = val & 0xffn;
    val >>= 8n; // arithmetic shift, as Java's >>
    hash = BigInt.asIntN(64, (hash ^ octet) * FNV_PRIME_64);
  }
  // Math.abs(Long.MIN_VALUE) == Long.MIN_VALUE in Java
  return hash < 0n ? BigInt.asIntN(64, -hash) : hash;
}

/** Java's `(long)` cast of a double: truncation toward zero. */
const toLong = (d: number): number => Math.trunc(d);

/**
 * zeta(n, θ) = Σ_{i=1..n} 1/i^θ, continued from `initialSum` over terms st+1..n (YCSB's
 * `zetastatic`). Sums exactly up to 10^6 terms; beyond that the tail uses the Euler–Maclaurin
 * formula (relative error < 1e-12), so a generator over 10^10 items starts instantly.
 */
export function zeta(st: number, n: number, theta: number, initialSum = 0): number {
  const EXACT = 1_000_000;
  let sum = initialSum;
  const exactEnd = Math.min(n, Math.max(st, EXACT));
  for (let i = st; i < exactEnd; i++) sum += 1 / Math.pow(i + 1, theta);
  if (n > exactEnd) {
    // Σ_{k=a..b} f(k) ≈ ∫_a^b f + (f(a)+f(b))/2 + (f'(b)-f'(a))/12, f(x) = x^-θ
    const a = exactEnd + 1;
    const b = n;
    const f = (x: number): number => Math.pow(x, -theta);
    const df = (x: number): number => -theta * Math.pow(x, -theta - 1);
    const integral = theta === 1 ? Math.log(b / a) : (Math.pow(b, 1 - theta) - Math.pow(a, 1 - theta)) / (1 - theta);
    sum += integral + (f(a) + f(b)) / 2 + (df(b) - df(a)) / 12;
  }
  return sum;
}

/**
 * Zipfian-distributed integers in [min, max]: item `min` most popular, then `min+1`, ...
 * (`ZipfianGenerator`, the algorithm of Gray et al. 1994). `nextLong(itemCount)` lets the item
 * count grow (the zeta sum is extended incrementally), as used by {@link SkewedLatestGenerator}.
 */
export class ZipfianGenerator implements NumberGenerator {
  private readonly items: number;
  private readonly base: number;
  private readonly theta: number;
  private readonly zeta2theta: number;
  private readonly alpha: number;
  private zetan: number;
  private eta: number;
  private countForZeta: number;
  private last: number;

  /**
   * @param zetan precomputed zeta(max-min+1, θ), if known.
   * @throws {RangeError} if the range is empty or θ is not in (0, 1).
   */
  constructor(
    private readonly random: Random,
    min: number,
    max: number,
    zipfianConstant = ZIPFIAN_CONSTANT,
    zetan?: number,
  ) {
    if (max < min) throw new RangeError(`zipfian bounds [${min}, ${max}] are empty`);
    if (!(zipfianConstant > 0 && zipfianConstant < 1)) throw new RangeError(`zipfian constant must be in (0, 1), got ${zipfianConstant}`);
    this.items = max - min + 1;
    this.base = min;
    this.theta = zipfianConstant;
    this.zeta2theta = zeta(0, 2, this.theta);
    this.alpha = 1 / (1 - this.theta);
    this.zetan = zetan ?? zeta(0, this.items, this.theta);
    this.countForZeta = this.items;
    this.eta = this.computeEta();
    this.last = min;
  }

  private computeEta(): number {
    // YCSB uses `items` (not the current item count) here, also after growth; kept as is.
    return (1 - Math.pow(2 / this.items, 1 - this.theta)) / (1 - this.zeta2theta / this.zetan);
  }

  /** Next value for a key space of `itemCount` items (≥ the previous count to grow it). */
  nextLong(itemCount: number): number {
    if (itemCount > this.countForZeta) {
      this.zetan = zeta(this.countForZeta, itemCount, this.theta, this.zetan);
      this.countForZeta = itemCount;
      this.eta = this.computeEta();
    }
    const u = this.random.nextDouble();
    const uz = u * this.zetan;
    if (uz < 1) return (this.last = this.base);
    if (uz < 1 + Math.pow(0.5, this.theta)) return (this.last = this.base + 1);
    this.last = this.base + toLong(itemCount * Math.pow(this.eta * u - this.eta + 1, this.alpha));
    return this.last;
  }

  nextValue(): number {
    return this.nextLong(this.items);
  }

  lastValue(): number {
    return this.last;
  }
}

/**
 * Zipfian popularity spread over [min, max] by hashing (`ScrambledZipfianGenerator`): draws
 * from a zipfian over 10^10 items and maps it with `fnvhash64 % itemCount`, so popular items are
 * scattered over the key space instead of clustered at `min`.
 */
export class ScrambledZipfianGenerator implements NumberGenerator {
  private readonly gen: ZipfianGenerator;
  private readonly itemCount: bigint;
  private last: number;
  constructor(
    random: Random,
    private readonly min: number,
    max: number,
    zipfianConstant = ZIPFIAN_CONSTANT,
  ) {
    if (max < min) throw new RangeError(`scrambled zipfian bounds [${min}, ${max}] are empty`);
    this.itemCount = BigInt(max - min + 1);
    this.gen = new ZipfianGenerator(
      random,
      0,
      SCRAMBLED_ITEM_COUNT,
      zipfianConstant,
      zipfianConstant === ZIPFIAN_CONSTANT ? SCRAMBLED_ZETAN : undefined,
    );
    this.last = min;
  }
  nextValue(): number {
    this.last = this.min + Number(fnvhash64(this.gen.nextValue()) % this.itemCount);
    return this.last;
  }
  lastValue(): number {
    return this.last;
  }
}

/**
 * Popularity skewed towards the most recently inserted items (`SkewedLatestGenerator`):
 * `basis.lastValue() - zipfian(basis.lastValue())`.
 */
export class SkewedLatestGenerator implements NumberGenerator {
  private readonly zipfian: ZipfianGenerator;
  private last: number;
  constructor(
    random: Random,
    private readonly basis: CounterGenerator,
    zipfianConstant = ZIPFIAN_CONSTANT,
  ) {
    this.zipfian = new ZipfianGenerator(random, 0, Math.max(0, basis.lastValue() - 1), zipfianConstant);
    this.last = basis.lastValue();
  }
  nextValue(): number {
    const max = this.basis.lastValue();
    this.last = max - this.zipfian.nextLong(max);
    return this.last;
  }
  lastValue(): number {
    return this.last;
  }
}

