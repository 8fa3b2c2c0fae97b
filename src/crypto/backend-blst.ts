/**
 * Native backend on supranational's blst (assembly-optimised C) through the SWIG binding shipped
 * by `@chainsafe/blst@0.2.11`, installed under the npm alias `blst-native` (an optional
 * dependency: its npm tarball carries prebuilt `.node` files for linux/darwin/win32 × x64/arm64
 * and Node ABIs 93–127, i.e. Node 16–22; nothing is downloaded or compiled at install time when a
 * prebuild matches). The fastest backend we measured for signing and verifying (docs/crypto.md).
 *
 * What the binding offers and how each {@link CurveOps} operation maps onto it:
 * - decode: `new P1(bytes)` / `new P2_Affine(bytes)` (blst_p1/p2_deserialize: canonical encoding,
 *   x < p, on-curve) followed by an explicit `in_group()` subgroup check (deserialisation alone does
 *   not check the subgroup) and an infinity check.
 * - hash to G1: `P1.hash_to(msg, DST)` = blst_hash_to_g1, RFC 9380 §8.8.1 BLS12381G1_XMD:SHA-256_SSWU_RO_.
 *   The binding takes the DST as a JS string (UTF-8 encoded natively), so DSTs with bytes ≥ 0x80
 *   (never CART's own, only arbitrary test DSTs) are hashed with @noble/curves instead — same suite,
 *   same bytes.
 * - scalar multiplication: `mult(le_bytes)` (blst_p1_mult; the binding's BigInt path is compiled out
 *   for V8 ≥ 7, so scalars go as minimal little-endian byte strings: a 64-bit batch weight costs
 *   64 bits, not 255).
 * - multi-scalar multiplication: not exported by the binding (`P1_Affines` is %ignore'd), so Σ k_i·P_i
 *   is t scalar multiplications plus t−1 additions. For CART's thresholds (t ≤ 2f+1, small) this is
 *   still faster than mcl's MSM (docs/crypto.md).
 * - pairing check e(σ, g2) = Π e(h_k, P_k): `new PT(σ)` (blst_aggregated_in_g1 = Miller loop with g2),
 *   `new PT(P_k, h_k)` Miller loops multiplied together, then `PT.finalverify` (blst_fp12_finalverify:
 *   one final exponentiation of the quotient). No precomputed lines: the binding has none, and blst's
 *   plain Miller loop is already faster than mcl's precomputed one.
 *
 * The native module is loaded lazily with `require` (CommonJS, context-aware: it loads in worker
 * threads too). {@link loadBlst} throws a {@link BackendError} when it cannot be loaded; callers
 * (`backends.ts`) fall back to mcl.
 */
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { bls12_381 as nobleBls } from '@noble/curves/bls12-381.js';
import type { CurveOps, PreparedPublicKey } from './curve-ops.ts';
import { BackendError } from './errors.ts';

/** The slice of the SWIG-generated blst binding this backend uses (blst/bindings/blst.hpp). */
export interface BlstP1 {
  dup(): BlstP1;
  to_affine(): BlstP1Affine;
  compress(): Uint8Array;
  in_group(): boolean;
  is_inf(): boolean;
  is_equal(p: BlstP1): boolean;
  hash_to(msg: Uint8Array, dst: string): BlstP1;
  mult(scalarLittleEndian: Uint8Array): BlstP1;
  add(p: BlstP1): BlstP1;
}
/** An affine G1 point of the binding (input to Miller loops). */
export interface BlstP1Affine {
  is_inf(): boolean;
}
/** A Jacobian G2 point of the binding. */
export interface BlstP2 {
  dup(): BlstP2;
  to_affine(): BlstP2Affine;
  compress(): Uint8Array;
  is_inf(): boolean;
  is_equal(p: BlstP2): boolean;
  mult(scalarLittleEndian: Uint8Array): BlstP2;
  add(p: BlstP2): BlstP2;
}
/** An affine G2 point of the binding. */
export interface BlstP2Affine {
  to_jacobian(): BlstP2;
  in_group(): boolean;
  is_inf(): boolean;
}
/** An element of Fp12 (Miller loop output) of the binding. */
export interface BlstPT {
  mul(p: BlstPT): BlstPT;
}
/** The binding's module object (`require('blst-native/dist/bindings.js').blst`). */
export interface BlstBinding {
  P1: { new (): BlstP1; new (bytes: Uint8Array): BlstP1; generator(): BlstP1 };
  P2: { new (): BlstP2; generator(): BlstP2 };
  P2_Affine: { new (bytes: Uint8Array): BlstP2Affine };
  PT: { new (sig: BlstP1Affine): BlstPT; new (q: BlstP2Affine, p: BlstP1Affine): BlstPT; finalverify(a: BlstPT, b: BlstPT): boolean };
}

/** The npm alias under which `@chainsafe/blst@0.2.11` is installed (package.json optionalDependencies). */
export const BLST_PACKAGE = 'blst-native';

const requireCjs = createRequire(import.meta.url);
let binding: BlstBinding | undefined;

/**
 * Loads the native blst binding once per thread and checks it answers the RFC 9380 J.9.1 'abc'
 * vector (so a mismatched or broken binary is refused here, not after signing something wrong).
 * @param requireFn - module loader (injectable for tests of the fallback path).
 * @throws BackendError if the module is missing, has no prebuild for this platform / Node ABI,
 *   lacks the expected API or fails the self-test.
 */
export function loadBlst(requireFn: (id: string) => unknown = requireCjs): BlstBinding {
  if (binding !== undefined && requireFn === requireCjs) return binding;
  let b: BlstBinding;
  try {
    if (!isMainThread) pinNativeLibrary(requireFn);
    b = (requireFn(`${BLST_PACKAGE}/dist/bindings.js`) as { blst: BlstBinding }).blst;
  } catch (cause) {
    throw new BackendError(`cannot load the native blst module (${BLST_PACKAGE} = @chainsafe/blst@0.2.11)`, { cause });
  }
  try {
    if (typeof b?.P1 !== 'function' || typeof b.PT?.finalverify !== 'function') throw new Error('unexpected binding API');
    const h = new b.P1().hash_to(new TextEncoder().encode('abc'), 'QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_');
    const got = Buffer.from(h.compress()).toString('hex');
    if (got !== SELF_TEST_ABC) throw new Error(`RFC 9380 J.9.1 'abc' vector mismatch: ${got}`);
  } catch (cause) {
    throw new BackendError('the native blst module failed its self-test', { cause });
  }
  if (requireFn === requireCjs) binding = b;
  return b;
}

/** dlopen(3) RTLD_NODELETE (not in `os.constants.dlopen`): glibc/musl 0x1000, macOS 0x80. */
const RTLD_NODELETE: Partial<Record<NodeJS.Platform, number>> = { linux: 0x1000, darwin: 0x80 };

/**
 * Keeps the native library mapped for the life of the process. When a worker thread exits, Node
 * dlclose()s the addons it loaded and only afterwards tears down the worker's heap, whose weak
 * callbacks (SWIG's destructors for still-live blst objects) then jump into unmapped code:
 * SIGSEGV (seen with piscina's `destroy()`). Opening the same file once more with RTLD_NODELETE
 * makes every later dlclose() a no-op. (Where the flag is unknown — Windows — nothing is done;
 * the service also loads the module on the main thread, which keeps it mapped the same way.)
 */
function pinNativeLibrary(requireFn: (id: string) => unknown): void {
  const flag = RTLD_NODELETE[process.platform];
  if (flag === undefined) return;
  const paths = requireFn(`${BLST_PACKAGE}/dist/scripts/paths.js`) as { getBinaryPath(): string };
  process.dlopen({ exports: {} } as NodeJS.Module, paths.getBinaryPath(), osConstants.dlopen.RTLD_NOW! | flag);
}

/** RFC 9380 J.9.1, msg = "abc": P compressed (P.x with the compression flag; P.y is the smaller root). */
const SELF_TEST_ABC =
  '83567bc5ef9c690c2ab2ecdf6a96ef1c139cc0b2f284dca0a9a7943388a49a3aee664ba5379a7655d3c68900be2f6903';

interface BlstPreparedKey extends PreparedPublicKey<BlstP2> {
  readonly affine: BlstP2Affine;
}

/**
 * Little-endian encoding of 0 ≤ k < 2^256 for blst, which multiplies by 8·length bits.
 * @param fixed - pad to 32 bytes: use for secret scalars, so the multiplication time does not
 *   depend on the key's bit length (blst's ladder is constant-time for a given length). Without it
 *   the encoding is minimal (empty for 0): public scalars such as 64-bit batch weights and Lagrange
 *   coefficients then cost only their length.
 * @throws RangeError for k outside [0, 2^256).
 */
export function scalarToLittleEndian(k: bigint, fixed = false): Uint8Array {
  if (k < 0n || k >= 1n << 256n) throw new RangeError('scalar out of range');
  const out: number[] = [];
  for (let x = k; x > 0n; x >>= 8n) out.push(Number(x & 0xffn));
  while (fixed && out.length < 32) out.push(0);
  return Uint8Array.from(out);
}

/** True when every byte is 7-bit ASCII (then the binding's UTF-8 string DST is byte-exact). */
function asciiString(bytes: Uint8Array): string | undefined {
  for (const c of bytes) if (c >= 0x80) return undefined;
  return String.fromCharCode(...bytes);
}

/**
 * Creates the blst {@link CurveOps}.
 * @param b - the loaded binding (default: {@link loadBlst}).
 * @throws BackendError if the native module cannot be loaded.
 */
export function blstCurveOps(b: BlstBinding = loadBlst()): CurveOps<BlstP1, BlstP2> {
  // k·P for a secret k (share signing, dealing): fixed 256-bit length, see scalarToLittleEndian.
  const multiplySecret = <P extends { dup(): P; mult(s: Uint8Array): P }>(zero: () => P, p: P, k: bigint): P =>
    k === 0n ? zero() : p.dup().mult(scalarToLittleEndian(k, true));
  // Σ k_i·P_i for public scalars (Lagrange coefficients, batch weights): minimal lengths.
  const msm = <P extends { dup(): P; mult(s: Uint8Array): P; add(q: P): P }>(zero: () => P, points: readonly P[], scalars: readonly bigint[]): P => {
    if (points.length !== scalars.length) throw new RangeError('msm: points and scalars differ in length');
    let acc: P | undefined;
    for (let i = 0; i < points.length; i++) {
      if (scalars[i] === 0n) continue;
      const term = points[i]!.dup().mult(scalarToLittleEndian(scalars[i]!));
      acc = acc === undefined ? term : acc.add(term);
    }
    return acc ?? zero();
  };
  const zeroG1 = () => new b.P1();
  const zeroG2 = () => new b.P2();
  const g2 = b.P2.generator();

  return {
    name: 'blst',
    decodeG1(bytes) {
      const p = new b.P1(bytes); // canonical encoding + on-curve (blst_p1_deserialize)
      if (p.is_inf()) throw new Error('point at infinity');
      if (!p.in_group()) throw new Error('not in the prime-order subgroup');
      return p;
    },
    decodeG2(bytes): BlstPreparedKey {
      const a = new b.P2_Affine(bytes); // canonical encoding + on-curve (blst_p2_deserialize)
      if (a.is_inf()) throw new Error('point at infinity');
      if (!a.in_group()) throw new Error('not in the prime-order subgroup');
      return { point: a.to_jacobian(), affine: a };
    },
    encodeG1: (p) => p.compress(),
    encodeG2: (p) => p.compress(),
    hashToG1(message, dst) {
      const s = asciiString(dst);
      if (s !== undefined) return new b.P1().hash_to(message, s);
      // Non-ASCII DST: the binding would UTF-8-encode it; hash with noble (same suite) and import.
      return new b.P1(nobleBls.G1.hashToCurve(message, { DST: dst }).toBytes(true));
    },
    mulG1: (p, k) => multiplySecret(zeroG1, p, k),
    mulBaseG2: (k) => multiplySecret(zeroG2, g2, k),
    msmG1: (points, scalars) => msm(zeroG1, points, scalars),
    msmG2: (points, scalars) => msm(zeroG2, points, scalars),
    isZeroG1: (p) => p.is_inf(),
    equalG2: (x, y) => x.is_equal(y),
    pairingCheck(sig, terms) {
      if (sig.is_inf() || terms.length === 0) return false;
      let prod: BlstPT | undefined;
      for (const [h, pk] of terms) {
        if (h.is_inf()) return false;
        const ml = new b.PT((pk as BlstPreparedKey).affine, h.to_affine());
        prod = prod === undefined ? ml : prod.mul(ml);
      }
      return b.PT.finalverify(new b.PT(sig.to_affine()), prod!);
    },
  };
}
