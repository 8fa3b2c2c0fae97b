import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameDecoder, encodeFrame, FrameError } from '../../src/net/index.ts';

test('frames survive arbitrary chunking', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 30 }),
      (payloads, cuts) => {
        const stream = Buffer.concat(payloads.map((p) => encodeFrame(p)));
        const dec = new FrameDecoder(1000);
        const got: Buffer[] = [];
        let off = 0;
        let i = 0;
        while (off < stream.length) {
          const k = cuts[i++ % cuts.length]!;
          got.push(...dec.push(stream.subarray(off, off + k)));
          off += k;
        }
        assert.equal(got.length, payloads.length);
        got.forEach((g, j) => assert.deepEqual(new Uint8Array(g), payloads[j]));
        assert.equal(dec.bufferedBytes, 0);
      },
    ),
    { numRuns: 200 },
  );
});

test('empty frames and byte-at-a-time delivery', () => {
  const dec = new FrameDecoder(10);
  const stream = Buffer.concat([encodeFrame(new Uint8Array(0)), encodeFrame(Buffer.from('abc'))]);
  const got: Buffer[] = [];
  for (const b of stream) got.push(...dec.push(Buffer.from([b])));
  assert.deepEqual(got.map((g) => g.toString()), ['', 'abc']);
});

test('oversize length prefix (2^31) is rejected before allocation and fails the decoder', () => {
  const dec = new FrameDecoder(1024);
  const hdr = Buffer.alloc(4);
  hdr.writeUInt32BE(2 ** 31);
  assert.throws(() => dec.push(hdr), (e: unknown) => e instanceof FrameError && e.code === 'oversize');
  assert.throws(() => dec.push(Buffer.from([0])), (e: unknown) => e instanceof FrameError && e.code === 'decoder-failed');
});

test('a limit-sized frame passes, one byte more fails; encoder enforces the limit', () => {
  const dec = new FrameDecoder(8);
  assert.equal(dec.push(encodeFrame(new Uint8Array(8), 8)).length, 1);
  assert.throws(() => encodeFrame(new Uint8Array(9), 8), FrameError);
  const hdr = Buffer.alloc(4);
  hdr.writeUInt32BE(9);
  assert.throws(() => dec.push(hdr), FrameError);
});

test('random garbage either decodes into bounded frames or fails with FrameError, never anything else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (garbage) => {
      const dec = new FrameDecoder(64);
      try {
        for (const f of dec.push(garbage)) assert.ok(f.length <= 64);
        assert.ok(dec.bufferedBytes <= 64 + 4);
      } catch (e) {
        assert.ok(e instanceof FrameError);
      }
    }),
    { numRuns: 300 },
  );
});
