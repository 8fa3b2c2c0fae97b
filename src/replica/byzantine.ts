/**
 * Helpers for the Byzantine test switches of a replica (`ByzantineOptions`, off by default):
 * used by the demo, the benchmark and the tests to make one replica lie. Never on in production.
 */

/** A copy of `b` with its first byte flipped (an empty input becomes one byte): a wrong value. */
export function corruptBytes(b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b.length ? b : [0]);
  out[0] = (out[0]! ^ 0xa5) & 0xff;
  return out;
}

/**
 * Whether a Byzantine switch applying to `fraction` (0..1, default 1) of the items fires for
 * item `id` (a batch sequence number or a request id). Deterministic, so runs are reproducible:
 * `(id · 7919) mod 1000` permutes the residues, spreading the chosen items evenly over a run.
 */
export function byzantineSelects(id: bigint, fraction = 1): boolean {
  return Number((id * 7919n) % 1000n) < Math.round(fraction * 1000);
}
