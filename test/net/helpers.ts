/** Shared helpers of the transport tests: bounded waits, never fixed sleeps. */

/**
 * Poll `cond` every 5 ms until it holds. The default bound is generous (a loaded CI machine can
 * be several times slower than a quiet one); a condition that holds returns at once.
 * @throws {Error} naming `what` after `timeoutMs`
 */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
