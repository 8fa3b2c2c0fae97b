/**
 * The native blst backend on its own: it really loads here (linux-x64, Node 20/22 prebuilds), a
 * missing or broken native module is a BackendError, the default backend falls back to mcl with
 * one warning per thread, and the curve operations agree with @noble/curves (scalar encoding,
 * G1/G2 multiplication, MSM with zero scalars, pairing check).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bls12_381 as nobleBls } from '@noble/curves/bls12-381.js';
import { BackendError, DEFAULT_BACKEND, loadThresholdBls } from '../../src/crypto/index.ts';
import { blstCurveOps, loadBlst, scalarToLittleEndian, type BlstBinding } from '../../src/crypto/backend-blst.ts';
import {
  createWithFallback,
  fallbackWarned,
  FALLBACK_BACKEND,
  loadGeneric,
  resetFallbackWarning,
  setFallbackWarning,
  type FallbackWarn,
} from '../../src/crypto/backends.ts';
import { FR_ORDER } from '../../src/crypto/field.ts';
import { domainSeparationTag } from '../../src/crypto/suite.ts';
import { enc, hex } from './helpers.ts';

const G1 = nobleBls.G1.Point;
const G2 = nobleBls.G2.Point;

test('the default backend is blst and it loads natively here (no fallback)', async () => {
  assert.equal(DEFAULT_BACKEND, 'blst');
  const bls = await loadThresholdBls();
  assert.equal(bls.backend, 'blst');
  assert.equal(fallbackWarned(), false);
});

test('a missing native module is a BackendError carrying the cause', () => {
  const missing = (id: string): unknown => {
    throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
  };
  assert.throws(() => loadBlst(missing), (e: unknown) => e instanceof BackendError && e.cause instanceof Error && /Cannot find module/.test(e.cause.message));
});

test('a native module that hashes wrongly (or lacks the API) fails the self-test', () => {
  const real = loadBlst();
  // Same binding, except that hashing returns a fixed point: the RFC 9380 'abc' check must refuse it.
  const wrong = { ...real, P1: class { hash_to() { return real.P1.generator(); } } } as unknown as BlstBinding;
  assert.throws(() => loadBlst(() => ({ blst: wrong })), (e: unknown) => e instanceof BackendError && /self-test/.test(e.message));
  assert.throws(() => loadBlst(() => ({ blst: {} })), BackendError);
  assert.throws(() => loadBlst(() => ({})), BackendError);
});

test('blst falls back to mcl when the native module cannot load, warning once per thread', async () => {
  const warnings: Parameters<FallbackWarn>[] = [];
  const prev = setFallbackWarning((info, msg) => warnings.push([info, msg]));
  resetFallbackWarning();
  try {
    const failing = () => {
      throw new BackendError('cannot load the native blst module', { cause: new Error('no prebuild for this ABI') });
    };
    const a = await createWithFallback(failing);
    const b = await createWithFallback(failing);
    assert.equal(a.backend, FALLBACK_BACKEND);
    assert.equal(b, a, 'the cached mcl instance');
    assert.equal(warnings.length, 1, 'warned once');
    assert.equal(warnings[0]![0].fallback, 'mcl');
    assert.match(warnings[0]![0].reason, /no prebuild for this ABI/);
    // the fallback instance works and matches blst byte for byte
    const blst = await loadGeneric('blst');
    const m = enc('fallback');
    assert.equal(hex(a.hashToCurveWithDst(m, domainSeparationTag('ordered-reply'))), hex(blst.hashToCurveWithDst(m, domainSeparationTag('ordered-reply'))));
  } finally {
    setFallbackWarning(prev);
    resetFallbackWarning();
  }
});

test("property: scalars go to blst as little-endian bytes (minimal for public, 32 bytes for secret scalars)", () => {
  assert.equal(scalarToLittleEndian(0n).length, 0);
  assert.deepEqual([...scalarToLittleEndian(0x0102n)], [0x02, 0x01]);
  assert.deepEqual([...scalarToLittleEndian(0x0102n, true)], [0x02, 0x01, ...new Array(30).fill(0)], 'secret scalars: fixed 32 bytes');
  assert.equal(scalarToLittleEndian((1n << 64n) - 1n).length, 8);
  assert.throws(() => scalarToLittleEndian(-1n), RangeError);
  assert.throws(() => scalarToLittleEndian(1n << 256n), RangeError);
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: (1n << 256n) - 1n }), (k) => {
      const b = scalarToLittleEndian(k);
      let back = 0n;
      for (let i = b.length - 1; i >= 0; i--) back = (back << 8n) | BigInt(b[i]!);
      assert.equal(back, k);
      assert.notEqual(b[b.length - 1], 0, 'minimal: no high zero byte');
      const f = scalarToLittleEndian(k, true);
      assert.equal(f.length, 32);
      assert.deepEqual(f.subarray(0, b.length), b);
    }),
    { numRuns: 200 },
  );
});

test('property: blst scalar multiplication and MSM agree with noble in G1 and G2', () => {
  const ops = blstCurveOps();
  const dst = domainSeparationTag('ordered-reply');
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 1n, max: FR_ORDER - 1n }))), { minLength: 1, maxLength: 4 }),
      (terms) => {
        const pts = terms.map(([m]) => ops.hashToG1(m, dst));
        const ks = terms.map(([, k]) => k);
        const expect = terms.reduce((acc, [m, k]) => (k === 0n ? acc : acc.add(G1.fromBytes(ops.encodeG1(ops.hashToG1(m, dst))).multiply(k))), G1.ZERO);
        const got = ops.msmG1(pts, ks);
        if (expect.is0()) assert.equal(ops.isZeroG1(got), true);
        else assert.equal(hex(ops.encodeG1(got)), expect.toHex(true));
        const k0 = ks.find((k) => k !== 0n);
        if (k0 !== undefined) assert.equal(hex(ops.encodeG1(ops.mulG1(pts[0]!, k0))), G1.fromBytes(ops.encodeG1(pts[0]!)).multiply(k0).toHex(true));
      },
    ),
    { numRuns: 15 },
  );
  for (const k of [1n, 2n, (1n << 64n) + 3n, FR_ORDER - 1n]) {
    assert.equal(hex(ops.encodeG2(ops.mulBaseG2(k))), G2.BASE.multiply(k).toHex(true), `k·g2, k=${k}`);
  }
  const q = [ops.mulBaseG2(5n), ops.mulBaseG2(7n)];
  assert.equal(ops.equalG2(ops.msmG2(q, [3n, 0n]), ops.mulBaseG2(15n)), true);
  assert.equal(ops.equalG2(ops.msmG2(q, [3n, 2n]), ops.mulBaseG2(29n)), true);
  assert.equal(ops.equalG2(ops.msmG2(q, [3n, 2n]), ops.mulBaseG2(30n)), false);
  assert.throws(() => ops.msmG1([ops.hashToG1(enc('x'), dst)], [1n, 2n]), RangeError);
});

test('blst pairing check: e(σ, g2) = Π e(h_k, P_k), rejects infinity and wrong pairs', () => {
  const ops = blstCurveOps();
  const dst = domainSeparationTag('ordered-reply');
  const sk1 = 0x1234567890abcdefn;
  const sk2 = FR_ORDER - 99n;
  const pk1 = ops.decodeG2(ops.encodeG2(ops.mulBaseG2(sk1)));
  const pk2 = ops.decodeG2(ops.encodeG2(ops.mulBaseG2(sk2)));
  const h1 = ops.hashToG1(enc('one'), dst);
  const h2 = ops.hashToG1(enc('two'), dst);
  const s1 = ops.mulG1(h1, sk1);
  const s2 = ops.mulG1(h2, sk2);
  assert.equal(ops.pairingCheck(s1, [[h1, pk1]]), true);
  assert.equal(ops.pairingCheck(s1, [[h1, pk2]]), false);
  assert.equal(ops.pairingCheck(s1, [[h2, pk1]]), false);
  // aggregate of two signatures under two keys
  assert.equal(ops.pairingCheck(ops.msmG1([s1, s2], [1n, 1n]), [[h1, pk1], [h2, pk2]]), true);
  assert.equal(ops.pairingCheck(ops.msmG1([s1, s2], [1n, 2n]), [[h1, pk1], [h2, pk2]]), false);
  assert.equal(ops.pairingCheck(ops.msmG1([s1], [0n]), [[h1, pk1]]), false, 'infinity signature');
  assert.equal(ops.pairingCheck(s1, [[ops.msmG1([h1], [0n]), pk1]]), false, 'infinity hash');
  assert.equal(ops.pairingCheck(s1, []), false, 'no terms');
});
