/**
 * Backend registry: `loadThresholdBls('blst' | 'mcl' | 'noble')`.
 * - 'blst' (Node default): supranational blst, native, through `@chainsafe/blst@0.2.11` (npm alias
 *   `blst-native`, an optional dependency). The fastest we measured (docs/crypto.md). If the native
 *   module cannot be loaded (not installed, no prebuild for this platform / Node ABI, failed
 *   self-test), 'blst' falls back to 'mcl' and logs one warning per thread; the returned instance's
 *   `backend` then says 'mcl'.
 * - 'mcl' (mcl-wasm): the portable fast path (WebAssembly, no native code).
 * - 'noble' (@noble/curves): pure JS, used for browser/client verification.
 * All three produce byte-identical outputs. Instances are cached per thread. (Backends are imported
 * statically: dynamic `import()` of .ts files fails inside piscina workers under tsx on Node 20.)
 */
import { pino } from 'pino';
import { blstCurveOps, loadBlst } from './backend-blst.ts';
import { initMcl, mclCurveOps } from './backend-mcl.ts';
import { nobleCurveOps } from './backend-noble.ts';
import { BackendError } from './errors.ts';
import { GenericThresholdBls } from './threshold.ts';
import type { ThresholdBls } from './types.ts';

/** Names accepted by {@link loadThresholdBls}. */
export const BACKENDS = ['blst', 'mcl', 'noble'] as const;
/** The default backend (falls back to 'mcl' when the native module is unavailable). */
export const DEFAULT_BACKEND = 'blst';
/** The backend 'blst' falls back to. */
export const FALLBACK_BACKEND = 'mcl';

const cache = new Map<string, Promise<GenericThresholdBls<unknown, unknown>>>();

/** Receives the one-per-thread warning when 'blst' falls back to 'mcl'. */
export type FallbackWarn = (info: { backend: string; fallback: string; reason: string }, msg: string) => void;

let warnFallback: FallbackWarn | undefined;
let warned = false;

/**
 * Replaces the sink of the fallback warning (default: a pino logger named `cart-crypto` on
 * stderr). Returns the previous sink. For embedding applications with their own logger, and tests.
 */
export function setFallbackWarning(sink: FallbackWarn | undefined): FallbackWarn | undefined {
  const prev = warnFallback;
  warnFallback = sink;
  return prev;
}

function defaultWarn(): FallbackWarn {
  const log = pino({ name: 'cart-crypto' }, pino.destination(2));
  return (info, msg) => log.warn(info, msg);
}

/**
 * Loads (once per thread) a threshold BLS backend.
 * @param backend - 'blst' (default; falls back to 'mcl'), 'mcl' or 'noble'.
 * @throws BackendError for an unknown name or a failed wasm initialisation.
 */
export function loadThresholdBls(backend: string = DEFAULT_BACKEND): Promise<ThresholdBls> {
  return loadGeneric(backend);
}

/** Like {@link loadThresholdBls} but typed as the shared implementation (benchmarks, tests). */
export function loadGeneric(backend: string = DEFAULT_BACKEND): Promise<GenericThresholdBls<unknown, unknown>> {
  let p = cache.get(backend);
  if (p === undefined) {
    p = create(backend);
    cache.set(backend, p);
    p.catch(() => cache.delete(backend));
  }
  return p;
}

/**
 * Picks the blst curve ops, or — when `load` throws — warns once per thread and loads the
 * fallback. Exported for the fallback test (inject a failing `load`).
 * @throws BackendError only if the fallback fails too.
 */
export async function createWithFallback(
  load: () => GenericThresholdBls<unknown, unknown>,
): Promise<GenericThresholdBls<unknown, unknown>> {
  try {
    return load();
  } catch (e) {
    if (!warned) {
      warned = true;
      const reason = e instanceof Error ? `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ''}` : String(e);
      (warnFallback ?? (warnFallback = defaultWarn()))(
        { backend: 'blst', fallback: FALLBACK_BACKEND, reason },
        `native blst unavailable, using ${FALLBACK_BACKEND} for threshold BLS`,
      );
    }
    return loadGeneric(FALLBACK_BACKEND);
  }
}

/** Whether this thread has already logged the blst fallback warning (tests). */
export function fallbackWarned(): boolean {
  return warned;
}

/** Resets the once-per-thread warning flag (tests only). */
export function resetFallbackWarning(): void {
  warned = false;
}

async function create(backend: string): Promise<GenericThresholdBls<unknown, unknown>> {
  switch (backend) {
    case 'blst':
      return createWithFallback(() => new GenericThresholdBls(blstCurveOps(loadBlst())) as unknown as GenericThresholdBls<unknown, unknown>);
    case 'mcl': {
      await initMcl();
      return new GenericThresholdBls(mclCurveOps()) as unknown as GenericThresholdBls<unknown, unknown>;
    }
    case 'noble': {
      return new GenericThresholdBls(nobleCurveOps()) as unknown as GenericThresholdBls<unknown, unknown>;
    }
    default:
      throw new BackendError(`unknown crypto backend ${JSON.stringify(backend)} (known: ${BACKENDS.join(', ')})`);
  }
}
