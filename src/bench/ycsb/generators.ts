/**
 * YCSB's number generators (package `site.ycsb.generator` of brianfrankcooper/YCSB), ported
 * with the same formulas and parameters, driven by an injected {@link Random} so that every
 * stream is deterministic for a seed. Values are JS numbers (exact up to 2^53).
 *
 * Sources: Cooper et al., "Benchmarking Cloud Serving Systems with YCSB", SoCC 2010, §4.1;
 * Gray et al., "Quickly Generating Billion-Record Synthetic Databases", SIGMOD 1994 (zipfian).
 * The zipfian family lives in `zipfian.ts` and is re-exported here.
 */
import type { Random } from './random.ts';

export * from './zipfian.ts';

/** A stream of integers. */
export interface NumberGenerator {
  /** The next value. */
  nextValue(): number;
  /** The value most recently returned (YCSB's `lastValue`). */
  lastValue(): number;
}

/** Too many transaction inserts outstanding (YCSB: "Too many unacknowledged insertion keys"). */
export class AcknowledgementWindowError extends Error {
  override readonly name = 'AcknowledgementWindowError';
}

/** Java's `(long)` cast of a double: truncation toward zero. */
const toLong = (d: number): number => Math.trunc(d);

/** Uniform integers in [lb, ub] (`UniformLongGenerator`). */
export class UniformGenerator implements NumberGenerator {
  private last: number;
  private readonly interval: number;
  constructor(
    private readonly random: Random,
    private readonly lb: number,
    ub: number,
  ) {
    if (ub < lb) throw new RangeError(`uniform bounds [${lb}, ${ub}] are empty`);
    this.interval = ub - lb + 1;
    this.last = lb;
  }
  nextValue(): number {
    this.last = toLong(this.random.nextDouble() * this.interval) + this.lb;
    return this.last;
  }
  lastValue(): number {
    return this.last;
  }
}

/** The same value every time (`ConstantIntegerGenerator`). */
export class ConstantGenerator implements NumberGenerator {
  constructor(private readonly value: number) {}
  nextValue(): number {
    return this.value;
  }
  lastValue(): number {
    return this.value;
  }
}

/** 0, 1, 2, ... from `start` (`CounterGenerator`); `lastValue` is the last value handed out. */
export class CounterGenerator implements NumberGenerator {
  protected counter: number;
  constructor(start: number) {
    this.counter = start;
  }
  nextValue(): number {
    return this.counter++;
  }
  lastValue(): number {
    return this.counter - 1;
  }
}

/**
 * A counter whose `lastValue` only advances over values that were acknowledged contiguously
 * (`AcknowledgedCounterGenerator`): transaction reads never pick a key whose insert is still in
 * flight. At most 2^20 values may be outstanding.
 */
export class AcknowledgedCounterGenerator extends CounterGenerator {
  static readonly WINDOW_SIZE = 1 << 20;
  private limit: number;
  private readonly acked = new Set<number>();

  constructor(start: number) {
    super(start);
    this.limit = start - 1;
  }

  override lastValue(): number {
    return this.limit;
  }

  /**
   * Mark `value` (returned by `nextValue`) as inserted.
   * @throws {AcknowledgementWindowError} if 2^20 or more values are outstanding.
   */
  acknowledge(value: number): void {
    if (value <= this.limit || this.acked.has(value)) return;
    if (value - this.limit >= AcknowledgedCounterGenerator.WINDOW_SIZE) {
      throw new AcknowledgementWindowError('Too many unacknowledged insertion keys.');
    }
    this.acked.add(value);
    while (this.acked.delete(this.limit + 1)) this.limit++;
  }
}

/** Cycles through [start, end] (`SequentialGenerator`). */
export class SequentialGenerator implements NumberGenerator {
  private counter = 0;
  private last: number;
  private readonly interval: number;
  constructor(
    private readonly start: number,
    end: number,
  ) {
    this.interval = end - start + 1;
    this.last = start - 1;
  }
  nextValue(): number {
    this.last = this.start + (this.counter++ % this.interval);
    return this.last;
  }
  lastValue(): number {
    return this.last;
  }
}

/**
 * A `hotOpnFraction` share of draws falls uniformly on the first `hotsetFraction` of
 * [lb, ub], the rest uniformly on the remainder (`HotspotIntegerGenerator`).
 */
export class HotspotGenerator implements NumberGenerator {
  private readonly hotInterval: number;
  private readonly coldInterval: number;
  private last: number;
  constructor(
    private readonly random: Random,
    private readonly lb: number,
    ub: number,
    hotsetFraction: number,
    private readonly hotOpnFraction: number,
  ) {
    if (ub < lb) throw new RangeError(`hotspot bounds [${lb}, ${ub}] are empty`);
    const interval = ub - lb + 1;
    this.hotInterval = toLong(interval * Math.min(Math.max(hotsetFraction, 0), 1));
    this.coldInterval = interval - this.hotInterval;
    this.last = lb;
  }
  nextValue(): number {
    const pick = (n: number): number => (n <= 0 ? 0 : toLong(this.random.nextDouble() * n));
    if (this.random.nextDouble() < this.hotOpnFraction || this.coldInterval === 0) this.last = this.lb + pick(this.hotInterval);
    else this.last = this.lb + this.hotInterval + pick(this.coldInterval);
    return this.last;
  }
  lastValue(): number {
    return this.last;
  }
}

/**
 * Exponentially distributed offsets (`ExponentialGenerator`): `percentile`% of draws fall in
 * [0, range).
 */
export class ExponentialGenerator implements NumberGenerator {
  private readonly gamma: number;
  private last = 0;
  constructor(
    private readonly random: Random,
    percentile: number,
    range: number,
  ) {
    this.gamma = -Math.log(1 - percentile / 100) / range;
  }
  nextValue(): number {
    this.last = toLong(-Math.log(1 - this.random.nextDouble()) / this.gamma);
    return this.last;
  }
  lastValue(): number {
    return this.last;
  }
}

/**
 * Weighted choice among labelled values (`DiscreteGenerator`), in insertion order, with YCSB's
 * selection rule (subtract normalised weights from one uniform draw).
 */
export class DiscreteGenerator<T> {
  private readonly values: Array<{ weight: number; value: T }> = [];
  private sum = 0;
  constructor(private readonly random: Random) {}
  /** Add `value` with relative `weight` (> 0; non-positive weights are ignored, as YCSB skips them). */
  add(weight: number, value: T): this {
    if (weight > 0) {
      this.values.push({ weight, value });
      this.sum += weight;
    }
    return this;
  }
  /** Number of values with positive weight. */
  get size(): number {
    return this.values.length;
  }
  /** @throws {RangeError} if no value has a positive weight. */
  next(): T {
    if (this.values.length === 0) throw new RangeError('discrete generator has no values');
    let val = this.random.nextDouble();
    for (const { weight, value } of this.values) {
      const p = weight / this.sum;
      if (val < p) return value;
      val -= p;
    }
    return this.values[this.values.length - 1]!.value;
  }
}
