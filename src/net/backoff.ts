/**
 * Exponential back-off with jitter for reconnects ("equal jitter": half the delay fixed, half
 * random, so retries spread out but never collapse to zero; see the AWS Architecture Blog,
 * "Exponential Backoff and Jitter", 2015).
 */

/** Back-off parameters, all in milliseconds. */
export interface BackoffOptions {
  /** Delay before the first retry (default 50 ms). */
  initialMs?: number;
  /** Upper bound of any delay (default 2000 ms). */
  maxMs?: number;
  /** Growth factor per failed attempt (default 2). */
  factor?: number;
}

/**
 * Delay before retry number `attempt` (0-based): `d = min(maxMs, initialMs · factor^attempt)`,
 * returned as `d/2 + random()·d/2`.
 * @param random injected uniform source in [0, 1) (deterministic in tests)
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const initial = options.initialMs ?? 50;
  const max = options.maxMs ?? 2000;
  const factor = options.factor ?? 2;
  const d = Math.min(max, initial * Math.pow(factor, Math.min(attempt, 64)));
  return d / 2 + random() * (d / 2);
}
