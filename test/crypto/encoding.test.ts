/**
 * Property tests (fast-check) on point encodings: arbitrary bytes never crash a decoder with an
 * untyped exception and never verify; valid encodings round-trip; single-bit corruptions of a
 * valid signature are rejected by every backend (blst, mcl, noble) alike.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CryptoError, dealKeySets, fromHex, InfinityPointError, InvalidPointError, MalformedEncodingError, toHex } from '../../src/crypto/index.ts';
import { BACKENDS, loadGeneric } from '../../src/crypto/backends.ts';
import { checkCompressedPoint } from '../../src/crypto/encoding.ts';
import { scalarFromBytes, scalarToBytes, FR_ORDER } from '../../src/crypto/field.ts';
import { GenericThresholdBls } from '../../src/crypto/threshold.ts';
import { enc, g1NotOnCurve, g1OffSubgroup, g2OffSubgroup, hex, infinity } from './helpers.ts';

const { publicKeySets, shares } = dealKeySets(4, [{ name: 'ordered', threshold: 2 }]);
const ks = publicKeySets[0]!;
const msg = enc('m');
let mcl: GenericThresholdBls<unknown, unknown>;
let noble: GenericThresholdBls<unknown, unknown>;
let blst: GenericThresholdBls<unknown, unknown>;
let all: GenericThresholdBls<unknown, unknown>[];
let sig: Uint8Array;
before(async () => {
  mcl = await loadGeneric('mcl');
  noble = await loadGeneric('noble');
  blst = await loadGeneric('blst');
  assert.equal(blst.backend, 'blst');
  all = await Promise.all(BACKENDS.map((b) => loadGeneric(b)));
  sig = mcl.combine(ks, [mcl.signShare(shares[0]![0]!, 'ordered-reply', msg), mcl.signShare(shares[2]![0]!, 'ordered-reply', msg)]);
});

/** Decodes with a backend; returns 'ok' or the error class name; fails the test on untyped errors. */
function classify(bls: GenericThresholdBls<unknown, unknown>, bytes: Uint8Array, group: 'G1' | 'G2'): string {
  try {
    if (group === 'G1') bls.decodeSignature(bytes);
    else bls.preparePublicKey(bytes);
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof CryptoError, `untyped error ${String(e)}`);
    return e.name;
  }
}

test('property: arbitrary 48/96-byte strings decode to a typed error or a valid point, same verdict on all backends', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ minLength: 48, maxLength: 48 }), fc.uint8Array({ maxLength: 100 })), fc.boolean(), (b, setFlag) => {
      const bytes = b.slice();
      if (setFlag && bytes.length > 0) bytes[0]! = (bytes[0]! | 0x80) & 0xbf; // compressed, not infinity: exercise curve checks
      const v1 = classify(mcl, bytes, 'G1');
      assert.equal(classify(noble, bytes, 'G1'), v1);
      assert.equal(classify(blst, bytes, 'G1'), v1);
      if (v1 === 'ok') {
        assert.equal(hex(mcl.curve.encodeG1(mcl.decodeSignature(bytes))), hex(bytes), 'canonical round trip');
        assert.equal(hex(blst.curve.encodeG1(blst.decodeSignature(bytes))), hex(bytes), 'canonical round trip (blst)');
      }
      assert.equal(mcl.verify(ks.groupPublicKey, 'ordered-reply', msg, bytes), false);
      assert.equal(blst.verify(ks.groupPublicKey, 'ordered-reply', msg, bytes), false);
    }),
    { numRuns: 150 },
  );
});

test('property: arbitrary 96-byte strings as public keys give the same typed verdict on all backends', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 96, maxLength: 96 }), (b) => {
      const bytes = b.slice();
      bytes[0]! = (bytes[0]! | 0x80) & 0x9f;
      const v = classify(mcl, bytes, 'G2');
      assert.equal(classify(noble, bytes, 'G2'), v);
      assert.equal(classify(blst, bytes, 'G2'), v);
      assert.equal(mcl.verify(bytes, 'ordered-reply', msg, sig), false);
      assert.equal(blst.verify(bytes, 'ordered-reply', msg, sig), false);
    }),
    { numRuns: 40 },
  );
});

test('property: every single-bit flip of a valid signature is rejected by all backends', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 48 * 8 - 1 }), (bit) => {
      const bad = sig.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(mcl.verify(ks.groupPublicKey, 'ordered-reply', msg, bad), false);
      assert.equal(noble.verify(ks.groupPublicKey, 'ordered-reply', msg, bad), false);
      assert.equal(blst.verify(ks.groupPublicKey, 'ordered-reply', msg, bad), false);
    }),
    { numRuns: 25 },
  );
  for (const b of all) assert.equal(b.verify(ks.groupPublicKey, 'ordered-reply', msg, sig), true, b.backend);
});

test('property: valid points round-trip through all backends identically', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (m) => {
      const a = mcl.hashToCurveWithDst(m, enc('CART-TEST'));
      assert.equal(hex(noble.hashToCurveWithDst(m, enc('CART-TEST'))), hex(a));
      assert.equal(hex(noble.curve.encodeG1(noble.decodeSignature(a))), hex(a));
      assert.equal(hex(mcl.curve.encodeG1(mcl.decodeSignature(a))), hex(a));
      assert.equal(hex(blst.hashToCurveWithDst(m, enc('CART-TEST'))), hex(a));
      assert.equal(hex(blst.curve.encodeG1(blst.decodeSignature(a))), hex(a));
    }),
    { numRuns: 20 },
  );
});

test('off-curve and off-subgroup points are InvalidPointError on all backends (G1 and G2)', () => {
  for (const bls of all) {
    assert.throws(() => bls.decodeSignature(g1OffSubgroup()), InvalidPointError, bls.backend);
    assert.throws(() => bls.decodeSignature(g1OffSubgroup(100n)), InvalidPointError, bls.backend);
    assert.throws(() => bls.decodeSignature(g1NotOnCurve()), InvalidPointError, bls.backend);
    assert.throws(() => bls.preparePublicKey(g2OffSubgroup()), InvalidPointError, bls.backend);
    assert.throws(() => bls.decodeSignature(infinity(48)), InfinityPointError, bls.backend);
    assert.throws(() => bls.preparePublicKey(infinity(96)), InfinityPointError, bls.backend);
    bls.preparePublicKey(ks.groupPublicKey);
    bls.decodeSignature(sig);
  }
});

test('property: scalars and hex round-trip; non-canonical scalars are rejected', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: FR_ORDER - 1n }), (s) => {
      assert.equal(scalarFromBytes(scalarToBytes(s)), s);
      const b = scalarToBytes(s);
      assert.equal(hex(fromHex(toHex(b), 32)), hex(b));
    }),
  );
  assert.throws(() => scalarFromBytes(scalarToBytes(FR_ORDER)), CryptoError);
  assert.throws(() => scalarFromBytes(new Uint8Array(32)), CryptoError);
  assert.throws(() => fromHex('abc'), MalformedEncodingError);
  assert.throws(() => fromHex('zz'), MalformedEncodingError);
  assert.throws(() => checkCompressedPoint('x', 'G1', 'x'), MalformedEncodingError);
});
