/** Shared helpers of the transport tests: bounded waits, never fixed sleeps. */

/**
 * Poll `cond` every 5 ms until it holds.
 * @throws {Error} naming `what` after `timeoutMs`
 */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
