/**
 * {@link CryptoService}: the threshold BLS operations off the event loop on a piscina pool of
 * worker threads (`workers ≥ 1`), or in-thread with the same asynchronous interface
 * (`workers: 0`, the default). Typed errors are rebuilt across the thread boundary, so callers
 * see the same error classes either way.
 */
import { Piscina } from 'piscina';
import { loadBlst } from './backend-blst.ts';
import { loadThresholdBls, DEFAULT_BACKEND } from './backends.ts';
import { BackendError } from './errors.ts';
import { fromWireError, runOp, type CryptoOp, type OpResult, type PingResult } from './ops.ts';
import type { WorkerTask } from './worker.ts';
import type {
  BatchItem,
  CombineAndVerifyResult,
  CryptoService,
  CryptoServiceOptions,
  Domain,
  KeyShare,
  PublicKeySet,
  SignatureShare,
} from './types.ts';

/** A {@link CryptoService} plus diagnostics. */
export interface CryptoServiceHandle extends CryptoService {
  /** Runs a no-op on some thread: which thread and backend served it. */
  ping(): Promise<PingResult>;
  /**
   * Runs several operations in one worker round trip (cheap batching: one message, one
   * structured clone). Each result is the op's value or its typed error (not thrown).
   */
  many(ops: readonly CryptoOp[]): Promise<(unknown | Error)[]>;
}

const WORKER_URL = new URL('./worker.ts', import.meta.url);

/** Node's --import tsx must be present in the workers so they can load `worker.ts`. */
function workerExecArgv(): string[] {
  const argv = [...process.execArgv];
  const hasTsx = argv.some((a, i) => (a === '--import' || a === '--loader' || a === '--require') && /tsx/.test(argv[i + 1] ?? '')) ||
    argv.some((a) => /^--(import|loader|require)=.*tsx/.test(a));
  // absolute: a bare `tsx` would resolve from the cwd, which need not be inside this package
  if (!hasTsx) argv.push('--import', import.meta.resolve('tsx'));
  return argv;
}

/**
 * Creates a crypto service.
 * @param opts.workers - worker threads; 0 (default) runs in-thread.
 * @param opts.backend - 'blst' (default; falls back to 'mcl' if the native module cannot be
 *   loaded — `backend` of the result names what actually runs), 'mcl' or 'noble'.
 * @throws BackendError if the backend cannot be loaded (in the workers: on the warm-up call).
 */
export async function createCryptoService(opts: CryptoServiceOptions = {}): Promise<CryptoServiceHandle> {
  const requested = opts.backend ?? DEFAULT_BACKEND;
  let backend = requested; // what actually runs ('blst' may fall back to 'mcl')
  const workers = opts.workers ?? 0;
  if (!Number.isSafeInteger(workers) || workers < 0 || workers > 256) throw new BackendError(`bad worker count ${String(workers)}`);
  let exec: (req: CryptoOp) => Promise<OpResult>;
  let closeFn: () => Promise<void>;
  if (workers === 0) {
    const bls = await loadThresholdBls(requested);
    backend = bls.backend;
    let closed = false;
    exec = async (req) => {
      if (closed) throw new BackendError('crypto service is closed');
      return runOp(bls, req);
    };
    closeFn = async () => {
      closed = true;
    };
  } else {
    if (requested === 'blst') {
      // Keep the native library mapped on the main thread too, so a worker's exit never unloads it
      // (see pinNativeLibrary in backend-blst.ts). Failure is fine here: the workers fall back.
      try {
        loadBlst();
      } catch {
        /* reported by the workers' fallback warning */
      }
    }
    const pool = new Piscina({
      filename: WORKER_URL.href,
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: Number.POSITIVE_INFINITY,
      execArgv: workerExecArgv(),
    });
    let closed = false;
    exec = (req) => {
      if (closed) return Promise.reject(new BackendError('crypto service is closed'));
      return pool.run({ backend: requested, req: compactOp(req) } satisfies WorkerTask) as Promise<OpResult>;
    };
    closeFn = async () => {
      if (closed) return;
      closed = true;
      await pool.destroy();
    };
    try {
      // Warm every thread up (loads wasm) and surface load errors now, not on the first request.
      const pings = await Promise.all(Array.from({ length: workers }, () => exec({ op: 'ping' }).then(unwrap) as Promise<PingResult>));
      backend = pings[0]!.backend;
    } catch (cause) {
      await closeFn();
      throw cause instanceof BackendError ? cause : new BackendError('crypto workers failed to start', { cause });
    }
  }

  const call = async <T>(req: CryptoOp): Promise<T> => unwrap(await exec(req)) as T;

  return {
    backend,
    workers,
    signShare: (share: KeyShare, domain: Domain, message: Uint8Array) => call<SignatureShare>({ op: 'signShare', share: plainShare(share), domain, message }),
    verifyShare: (keySet: PublicKeySet, domain: Domain, message: Uint8Array, share: SignatureShare) =>
      call<boolean>({ op: 'verifyShare', keySet, domain, message, share }),
    combine: (keySet: PublicKeySet, shares: readonly SignatureShare[]) => call<Uint8Array>({ op: 'combine', keySet, shares }),
    verify: (groupPublicKey: Uint8Array, domain: Domain, message: Uint8Array, signature: Uint8Array) =>
      call<boolean>({ op: 'verify', groupPublicKey, domain, message, signature }),
    batchVerify: (items: readonly BatchItem[]) => call<boolean>({ op: 'batchVerify', items }),
    findBadShares: (keySet: PublicKeySet, domain: Domain, message: Uint8Array, shares: readonly SignatureShare[]) =>
      call<number[]>({ op: 'findBadShares', keySet, domain, message, shares }),
    combineAndVerify: (keySet: PublicKeySet, domain: Domain, message: Uint8Array, shares: readonly SignatureShare[]) =>
      call<CombineAndVerifyResult>({ op: 'combineAndVerify', keySet, domain, message, shares }),
    ping: () => call<PingResult>({ op: 'ping' }),
    many: async (ops: readonly CryptoOp[]) => {
      const results = (await call<OpResult[]>({ op: 'many', ops }));
      return results.map((r) => (r.ok ? r.value : fromWireError(r.error)));
    },
    close: closeFn,
  };
}

function unwrap(r: OpResult): unknown {
  if (r.ok) return r.value;
  throw fromWireError(r.error);
}

/**
 * Copies every byte array of `value` that is a view into a larger buffer (e.g. a field decoded
 * from a 64 KiB socket read) into its own compact buffer. postMessage's structured clone copies
 * a typed array's WHOLE underlying ArrayBuffer, so without this each worker call cloned the
 * network read buffers its arguments pointed into (measured: piscina `postTask` was ~6% of a
 * replica's busy time). Plain objects and arrays are copied shallowly as needed; other values
 * are returned as they are.
 */
export function compactOp<T>(value: T): T {
  return compactValue(value, 0) as T;
}

/** Compacted copies of long-lived key material (key sets, key shares), by identity. */
const compactedKeys = new WeakMap<object, unknown>();

function compactValue(v: unknown, depth: number): unknown {
  if (v instanceof Uint8Array) {
    if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) return v;
    const copy = new Uint8Array(v.byteLength); // not v.slice(): Buffer#slice returns a view
    copy.set(v);
    return copy;
  }
  if (depth > 8 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => compactValue(x, depth + 1));
  const keyMaterial = 'publicKeyShares' in v || 'secret' in v;
  if (keyMaterial) {
    const hit = compactedKeys.get(v);
    if (hit !== undefined) return hit;
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = compactValue(x, depth + 1);
  if (keyMaterial) compactedKeys.set(v, out);
  return out;
}

/** Copies a key share to a plain object (class instances with methods cannot always be cloned). */
const plainShares = new WeakMap<KeyShare, KeyShare>();
function plainShare(s: KeyShare): KeyShare {
  let p = plainShares.get(s);
  if (!p) plainShares.set(s, (p = { keySet: s.keySet, index: s.index, secret: s.secret }));
  return p;
}
