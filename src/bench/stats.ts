/**
 * Benchmark statistics: latency recording on an HDR histogram (Gil Tene's HdrHistogram, via
 * `hdr-histogram-js`; 3 significant digits) and throughput.
 *
 * Latencies are recorded in microseconds internally and reported in milliseconds. Recorders
 * from several clients (or processes, via {@link LatencyRecorder.encode}) can be merged.
 */
import * as hdr from 'hdr-histogram-js';

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  /** Number of recorded samples. */
  readonly count: number;
  readonly minMs: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

/** Records latencies into an HDR histogram (1 µs resolution, auto-resizing). */
export class LatencyRecorder {
  private readonly h: hdr.Histogram;

  constructor(histogram?: hdr.Histogram) {
    this.h = histogram ?? hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, autoResize: true });
  }

  /**
   * Record one latency.
   * @param ms latency in milliseconds (negative or non-finite values are rejected).
   * @throws {RangeError} for negative or non-finite values.
   */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency must be a finite non-negative number of ms, got ${ms}`);
    this.h.recordValue(Math.round(ms * 1000));
  }

  /** Number of recorded samples. */
  get count(): number {
    return this.h.totalCount;
  }

  /** The latency (ms) at `percentile` (0..100); 0 when empty. */
  percentileMs(percentile: number): number {
    return this.count === 0 ? 0 : this.h.getValueAtPercentile(percentile) / 1000;
  }

  /** Summary in milliseconds (all zero when empty). */
  summary(): LatencySummary {
    if (this.count === 0) return { count: 0, minMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
    return {
      count: this.count,
      minMs: this.h.minNonZeroValue === Number.MAX_SAFE_INTEGER ? 0 : this.h.minNonZeroValue / 1000,
      meanMs: this.h.mean / 1000,
      p50Ms: this.percentileMs(50),
      p90Ms: this.percentileMs(90),
      p99Ms: this.percentileMs(99),
      p999Ms: this.percentileMs(99.9),
      maxMs: this.h.maxValue / 1000,
    };
  }

  /** Add all samples of `other` to this recorder. */
  merge(other: LatencyRecorder): this {
    this.h.add(other.h);
    return this;
  }

  /** Forget all samples (e.g. after a warm-up). */
  reset(): void {
    this.h.reset();
  }

  /** Compressed base64 encoding (HdrHistogram's standard format), to ship between processes. */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.h);
  }

  /**
   * Rebuild a recorder from {@link encode} output.
   * @throws {Error} if the string is not a valid encoded histogram.
   */
  static decode(base64: string): LatencyRecorder {
    return new LatencyRecorder(hdr.decodeFromCompressedBase64(base64, 32, false) as hdr.Histogram);
  }

  /** Release the histogram's memory (needed only for WebAssembly histograms; safe anyway). */
  destroy(): void {
    this.h.destroy();
  }
}

/** Operations per second for `operations` completed in `elapsedMs` (0 if no time elapsed). */
export function throughputOpsPerSec(operations: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (operations * 1000) / elapsedMs : 0;
}

/**
 * Counts completed operations against an injected monotonic clock (ms), e.g.
 * `() => performance.now()`.
 */
export class ThroughputMeter {
  private started: number;
  private ops = 0;

  constructor(private readonly now: () => number) {
    this.started = now();
  }

  /** Count `n` completed operations (default 1). */
  add(n = 1): void {
    this.ops += n;
  }

  /** Restart counting from now (e.g. after a warm-up). */
  reset(): void {
    this.started = this.now();
    this.ops = 0;
  }

  /** Operations counted since the start / last reset. */
  get operations(): number {
    return this.ops;
  }

  /** Milliseconds since the start / last reset. */
  elapsedMs(): number {
    return this.now() - this.started;
  }

  /** Average operations per second since the start / last reset. */
  opsPerSec(): number {
    return throughputOpsPerSec(this.ops, this.elapsedMs());
  }
}
