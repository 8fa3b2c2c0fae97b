/**
 * Backend registry: `loadThresholdBls('mcl' | 'noble')`. 'mcl' (mcl-wasm) is the Node default,
 * the fastest complete pipeline we measured (docs/crypto.md); 'noble' (@noble/curves) is the
 * portable pure-JS backend. Instances are cached per thread. (Backends are imported statically:
 * dynamic `import()` of .ts files fails inside piscina workers under tsx on Node 20.)
 */
import { initMcl, mclCurveOps } from './backend-mcl.ts';
import { nobleCurveOps } from './backend-noble.ts';
import { BackendError } from './errors.ts';
import { GenericThresholdBls } from './threshold.ts';
import type { ThresholdBls } from './types.ts';

/** Names accepted by {@link loadThresholdBls}. */
export const BACKENDS = ['mcl', 'noble'] as const;
/** The default backend. */
export const DEFAULT_BACKEND = 'mcl';

const cache = new Map<string, Promise<GenericThresholdBls<unknown, unknown>>>();

/**
 * Loads (once per thread) a threshold BLS backend.
 * @param backend - 'mcl' (default) or 'noble'.
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

async function create(backend: string): Promise<GenericThresholdBls<unknown, unknown>> {
  switch (backend) {
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
