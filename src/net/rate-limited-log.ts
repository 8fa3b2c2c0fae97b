/**
 * Rate limiting of repetitive warnings (e.g. one per rejected connection under a connection
 * flood): at most one log line per key per interval; the lines suppressed in between are
 * counted and reported in the next line that gets through. Deterministic: the clock is injected.
 */
import type { NetLogger } from './peer-network.ts';

/** Default interval between two warnings with the same key (ms). */
export const DEFAULT_LOG_INTERVAL_MS = 5_000;

/** A rate-limited `warn` in front of a {@link NetLogger}. */
export class RateLimitedWarn {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  /**
   * @param log destination logger
   * @param now millisecond clock
   * @param intervalMs minimum time between two lines with the same key (ms); 0 logs every line
   */
  constructor(
    private readonly log: NetLogger,
    private readonly now: () => number,
    readonly intervalMs = DEFAULT_LOG_INTERVAL_MS,
  ) {}

  /**
   * Log `msg` at warn with `obj` (plus `suppressed`: lines dropped since the last one of this
   * key) unless a line with the same `key` was logged less than `intervalMs` ago.
   * @returns true if the line was logged
   */
  warn(key: string, obj: object, msg: string): boolean {
    const t = this.now();
    const e = this.last.get(key);
    if (e && t - e.at < this.intervalMs) {
      e.suppressed++;
      return false;
    }
    const suppressed = e?.suppressed ?? 0;
    this.last.set(key, { at: t, suppressed: 0 });
    this.log.warn(suppressed > 0 ? { ...obj, suppressed } : obj, msg);
    return true;
  }
}
