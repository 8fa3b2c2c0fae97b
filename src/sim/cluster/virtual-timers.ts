/**
 * Virtual `setTimeout` / `clearTimeout` for components that use the global timer functions
 * (today: the CART client, `src/client/client.ts`, which has no injectable clock yet).
 *
 * While installed, calls to the global `setTimeout`/`clearTimeout` schedule on the simulation's
 * {@link Scheduler} (virtual milliseconds) instead of the event loop, so the client's failover
 * timeouts fire in virtual time and a run stays a pure function of its seed. Node-internal
 * timers are unaffected (they do not go through `globalThis`). Install only around a
 * simulation run and always uninstall (try/finally): while installed, any user-land code in the
 * process gets virtual timers.
 */
import type { EventHandle, Scheduler } from '../scheduler.ts';

/** A timer handle returned by the virtual `setTimeout` (supports the Node methods callers use). */
class VirtualTimeout {
  constructor(readonly handle: EventHandle) {}
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return false;
  }
  refresh(): this {
    return this;
  }
  [Symbol.toPrimitive](): number {
    return this.handle.id;
  }
}

/** Thrown when virtual timers are installed twice (nested simulations are not supported). */
export class VirtualTimersError extends Error {
  override readonly name = 'VirtualTimersError';
}

let installed = false;

/**
 * Replace the global `setTimeout`/`clearTimeout` by virtual ones on `scheduler`.
 * @returns a function that restores the originals (idempotent)
 * @throws {VirtualTimersError} if already installed
 */
export function installVirtualTimers(scheduler: Scheduler): () => void {
  if (installed) throw new VirtualTimersError('virtual timers are already installed (one simulation at a time)');
  installed = true;
  const g = globalThis as unknown as Record<string, unknown>;
  const origSet = g.setTimeout;
  const origClear = g.clearTimeout;
  g.setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]): VirtualTimeout =>
    new VirtualTimeout(scheduler.after(Math.max(1, Number(ms) || 0), () => fn(...args)));
  g.clearTimeout = (t: unknown): void => {
    if (t instanceof VirtualTimeout) scheduler.cancel(t.handle);
    else (origClear as (x: unknown) => void)(t);
  };
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    g.setTimeout = origSet;
    g.clearTimeout = origClear;
    installed = false;
  };
}
