import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteReader, ByteWriter, DecodeError, EncodeError, compareUtf8, utf8Length } from '../../src/apps/codec.ts';

test('codec: compareUtf8 agrees with byte-wise comparison of UTF-8 encodings (property)', () => {
  const enc = new TextEncoder();
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 8 }), (a, b) => {
      assert.equal(Math.sign(compareUtf8(a, b)), Math.sign(Buffer.compare(enc.encode(a), enc.encode(b))));
      assert.equal(utf8Length(a), enc.encode(a).length);
    }),
    { seed: 5, numRuns: 2000 },
  );
});

test('codec: strings round-trip on the ASCII fast path and the UTF-8 path', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (s) => {
      const r = new ByteReader(new ByteWriter(1).string(s).finish());
      assert.equal(r.string(), s);
      r.end();
    }),
    { seed: 6, numRuns: 1000 },
  );
  // invalid UTF-8 is rejected on both paths (short and long)
  for (const len of [2, 100]) {
    const b = new Uint8Array(len + 1);
    b[0] = len;
    b.fill(0x61, 1);
    b[len] = 0xff;
    assert.throws(() => new ByteReader(b).string(), DecodeError);
  }
  assert.throws(() => new ByteWriter().string('abcd', 3), EncodeError);
  assert.throws(() => new ByteReader(new ByteWriter().string('abcd').finish()).string(3), DecodeError);
});

test('codec: varints are canonical and bounded; i64 round-trips', () => {
  for (const v of [0, 1, 127, 128, 300, 2 ** 21, 0xffffffff]) {
    const r = new ByteReader(new ByteWriter().varint(v).finish());
    assert.equal(r.varint(), v);
    r.end();
  }
  assert.throws(() => new ByteReader(Uint8Array.from([0x80, 0x00])).varint(), DecodeError); // non-minimal 0
  assert.throws(() => new ByteReader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).varint(), DecodeError);
  assert.throws(() => new ByteReader(Uint8Array.from([0x80])).varint(), DecodeError);
  assert.throws(() => new ByteReader(Uint8Array.from([0x05])).varint(4), DecodeError);
  assert.throws(() => new ByteWriter().varint(-1), EncodeError);
  assert.throws(() => new ByteWriter().varint(2 ** 32), EncodeError);
  for (const v of [0n, -1n, (1n << 63n) - 1n, -(1n << 63n)]) assert.equal(new ByteReader(new ByteWriter().i64(v).finish()).i64(), v);
  assert.throws(() => new ByteReader(new Uint8Array(7)).i64(), DecodeError);
  assert.throws(() => new ByteReader(Uint8Array.from([3, 1])).bytes(), DecodeError);
});
