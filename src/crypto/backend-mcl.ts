/**
 * Fast Node backend on herumi's mcl compiled to WebAssembly (mcl-wasm 2.4.1). Configured for
 * the IETF/ZCash encodings (`setETHserialization(true)`) and RFC 9380 hash to curve
 * (`setMapToMode(IRTF)`); CART's own DSTs go through the raw C export
 * `mclBnG1_hashAndMapToWithDst`. Subgroup checks on decode are switched on
 * (`verifyOrderG1/G2(true)`): `deserialize` then rejects points off the curve or outside the
 * prime-order subgroup (test/crypto covers both; a second explicit `isValidOrder()` tripled the
 * cost of combining, see docs/crypto.md). The Miller-loop lines of −g2 and of
 * every decoded public key are precomputed (`mclBn_precomputeG2`), so a verification is one
 * double Miller loop on precomputed lines plus one final exponentiation.
 *
 * mcl keeps global state (one wasm instance per thread); `initMcl` is idempotent.
 */
import * as mcl from 'mcl-wasm';
import { createRequire } from 'node:module';
import { bls12_381 as bls } from '@noble/curves/bls12-381.js';
import type { CurveOps, PreparedPublicKey } from './curve-ops.ts';
import { BackendError } from './errors.ts';
import { scalarToBytes } from './field.ts';

/** The raw Emscripten module of mcl-wasm (C exports with a leading underscore). */
interface McLModule {
  HEAP8: Int8Array;
  stackSave(): number;
  stackAlloc(n: number): number;
  stackRestore(p: number): void;
  copyFromHeap32(a: Uint32Array, pos: number): void;
  _mclBnG1_hashAndMapToWithDst(p: number, msg: number, msgLen: number, dst: number, dstLen: number): number;
  _malloc(n: number): number;
  _free(p: number): void;
}

/** Messages up to this many bytes are copied to the wasm stack; longer ones to the wasm heap. */
const STACK_MESSAGE_LIMIT = 1024;

interface McLPreparedKey extends PreparedPublicKey<mcl.G2> {
  readonly pre: mcl.PrecomputedG2;
}

let ready: Promise<void> | undefined;

/** Loads and configures the mcl wasm module once per thread. @throws BackendError */
export function initMcl(): Promise<void> {
  ready ??= (async () => {
    try {
      await mcl.init(mcl.BLS12_381);
      mcl.setETHserialization(true);
      mcl.setMapToMode(mcl.IRTF);
      mcl.verifyOrderG1(true);
      mcl.verifyOrderG2(true);
    } catch (cause) {
      ready = undefined;
      throw new BackendError('cannot initialise mcl-wasm', { cause });
    }
  })();
  return ready;
}

/**
 * mcl-wasm's internal CommonJS module object (the same instance `mcl-wasm` itself uses). Loaded
 * with `require` because its `mod` export is assigned during init, which an ESM namespace
 * snapshot (or a default-import interop shim under tsx's CJS mode in workers) would not see.
 */
const requireCjs = createRequire(import.meta.url);

function rawModule(): McLModule {
  const m = (requireCjs('mcl-wasm/dist/mcl.js') as { mod?: McLModule }).mod;
  if (m === undefined || typeof m._mclBnG1_hashAndMapToWithDst !== 'function') {
    throw new BackendError('mcl-wasm lacks mclBnG1_hashAndMapToWithDst (need mcl-wasm 2.x, initialised)');
  }
  return m;
}

function toFr(k: bigint): mcl.Fr {
  const f = new mcl.Fr();
  f.setBigEndianMod(scalarToBytes(k));
  return f;
}

/** Creates the mcl {@link CurveOps}; call after `await initMcl()`. */
export function mclCurveOps(): CurveOps<mcl.G1, mcl.G2> {
  const raw = rawModule();
  const g2 = new mcl.G2();
  g2.deserialize(bls.G2.Point.BASE.toBytes(true));
  const negG2Pre = new mcl.PrecomputedG2(mcl.neg(g2));
  const hashToG1 = (message: Uint8Array, dst: Uint8Array): mcl.G1 => {
    const out = new mcl.G1();
    const words = (out as unknown as { a_: Uint32Array }).a_;
    const sp = raw.stackSave();
    // Small inputs go on the wasm stack; large messages on the wasm heap (the stack is small).
    const heapMsg = message.length > STACK_MESSAGE_LIMIT ? raw._malloc(message.length) : 0;
    try {
      const pPos = raw.stackAlloc(words.length * 4);
      const mPos = heapMsg !== 0 ? heapMsg : raw.stackAlloc(message.length + 1);
      if (heapMsg === 0 && message.length > STACK_MESSAGE_LIMIT) throw new BackendError('wasm malloc failed');
      raw.HEAP8.set(message, mPos);
      const dPos = raw.stackAlloc(dst.length);
      raw.HEAP8.set(dst, dPos);
      if (raw._mclBnG1_hashAndMapToWithDst(pPos, mPos, message.length, dPos, dst.length) !== 0) {
        throw new BackendError('mclBnG1_hashAndMapToWithDst failed');
      }
      raw.copyFromHeap32(words, pPos);
    } finally {
      raw.stackRestore(sp);
      if (heapMsg !== 0) raw._free(heapMsg);
    }
    return out;
  };

  return {
    name: 'mcl',
    decodeG1(bytes) {
      const p = new mcl.G1();
      p.deserialize(bytes); // on-curve + subgroup checked inside (verifyOrderG1(true))
      if (p.isZero()) throw new Error('point at infinity');
      return p;
    },
    decodeG2(bytes): McLPreparedKey {
      const p = new mcl.G2();
      p.deserialize(bytes); // on-curve + subgroup checked inside (verifyOrderG2(true))
      if (p.isZero()) throw new Error('point at infinity');
      return { point: p, pre: new mcl.PrecomputedG2(p) };
    },
    releaseG2: (p) => (p as McLPreparedKey).pre.destroy(),
    encodeG1: (p) => p.serialize(),
    encodeG2: (p) => p.serialize(),
    hashToG1,
    mulG1: (p, k) => mcl.mul(p, toFr(k)),
    mulBaseG2: (k) => mcl.mul(g2, toFr(k)),
    msmG1: (points, scalars) => mcl.mulVec([...points], scalars.map(toFr)),
    msmG2: (points, scalars) => mcl.mulVec([...points], scalars.map(toFr)),
    isZeroG1: (p) => p.isZero(),
    equalG2: (a, b) => a.isEqual(b),
    pairingCheck(sig, terms) {
      if (sig.isZero() || terms.length === 0) return false;
      const [h0, pk0] = terms[0]!;
      if (h0.isZero()) return false;
      let e = mcl.precomputedMillerLoop2(sig, negG2Pre, h0, (pk0 as McLPreparedKey).pre);
      for (let k = 1; k < terms.length; k++) {
        const [h, pk] = terms[k]!;
        if (h.isZero()) return false;
        e = mcl.mul(e, mcl.precomputedMillerLoop(h, (pk as McLPreparedKey).pre));
      }
      return mcl.finalExp(e).isOne();
    },
  };
}
