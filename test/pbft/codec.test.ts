import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError, decodeMessage, encodeMessage, CODEC_VERSION } from '../../src/consensus/pbft/codec.ts';
import { message } from './arbitraries.ts';

/** decode must either return a message that re-encodes to exactly the input, or throw DecodeError. */
function checkDecode(bytes: Uint8Array): void {
  let m;
  try {
    m = decodeMessage(bytes);
  } catch (e) {
    assert.ok(e instanceof DecodeError, `non-DecodeError thrown: ${String(e)}`);
    return;
  }
  assert.deepEqual(encodeMessage(m), bytes, 'accepted bytes must be canonical');
}

test('codec: every well-formed message round-trips canonically', () => {
  fc.assert(
    fc.property(message, (m) => {
      const bytes = encodeMessage(m);
      assert.equal(bytes[0], CODEC_VERSION);
      const back = decodeMessage(bytes);
      assert.deepEqual(structuredClone(back), structuredClone(m));
      assert.deepEqual(encodeMessage(back), bytes);
    }),
    { numRuns: 1000 },
  );
});

test('codec: minimal nested items at the end of a frame (regression: list lower bounds)', () => {
  const pp = { type: 'pre-prepare' as const, view: 0n, seq: 0n, digest: new Uint8Array(32), replica: 0, sig: new Uint8Array(), batch: [] };
  const vc = { type: 'view-change' as const, newView: 0n, replica: 0, stableSeq: 0n, checkpointProof: [], prepared: [], sig: new Uint8Array() };
  for (const m of [
    { type: 'new-view' as const, view: 0n, replica: 0, viewChanges: [], prePrepares: [pp, pp], sig: new Uint8Array() },
    { type: 'new-view' as const, view: 0n, replica: 0, viewChanges: [vc, vc, vc], prePrepares: [], sig: new Uint8Array() },
  ]) {
    assert.deepEqual(encodeMessage(decodeMessage(encodeMessage(m))), encodeMessage(m));
  }
});

test('codec fuzz: random bytes give a typed DecodeError or a canonical message', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => checkDecode(b)),
    { numRuns: 2000 },
  );
  // Same with a valid version and type prefix, which gets past the first checks.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 12 }), fc.uint8Array({ maxLength: 200 }), (t, b) => checkDecode(Uint8Array.of(CODEC_VERSION, t, ...b))),
    { numRuns: 2000 },
  );
});

test('codec fuzz: mutated valid encodings (flip, truncate, extend, splice)', () => {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  );
  fc.assert(
    fc.property(message, fc.array(mutation, { minLength: 1, maxLength: 3 }), (m, muts) => {
      let b = encodeMessage(m);
      for (const mu of muts) {
        if (mu.kind === 'flip' && b.length > 0) {
          b = b.slice();
          const i = mu.at % b.length;
          b[i] = b[i]! ^ mu.xor;
        } else if (mu.kind === 'truncate') b = b.slice(0, mu.at % (b.length + 1));
        else if (mu.kind === 'extend') b = Uint8Array.from([...b, ...mu.extra]);
        else if (mu.kind === 'splice') {
          const i = mu.at % (b.length + 1);
          b = Uint8Array.from([...b.slice(0, i), ...mu.extra, ...b.slice(i)]);
        }
      }
      checkDecode(b);
    }),
    { numRuns: 1500 },
  );
});

test('codec: specific rejections carry their codes', () => {
  const commit = encodeMessage({ type: 'commit', view: 1n, seq: 2n, digest: new Uint8Array(32), replica: 1 });
  const code = (b: Uint8Array): string => {
    try {
      decodeMessage(b);
      return 'accepted';
    } catch (e) {
      assert.ok(e instanceof DecodeError);
      return e.code;
    }
  };
  assert.equal(code(new Uint8Array()), 'truncated');
  assert.equal(code(Uint8Array.from([2, ...commit.slice(1)])), 'bad-version');
  assert.equal(code(Uint8Array.of(CODEC_VERSION, 99)), 'unknown-type');
  assert.equal(code(Uint8Array.from([...commit, 0])), 'trailing-bytes');
  assert.equal(code(commit.slice(0, commit.length - 1)), 'truncated');
  // A request whose payload length field claims 4 GiB: rejected before allocating.
  const req = encodeMessage({ type: 'request', clientId: 'c', requestId: 1n, payload: new Uint8Array(3), sig: new Uint8Array() });
  const huge = req.slice();
  new DataView(huge.buffer).setUint32(2 + 1 + 1 + 8, 0xffffffff);
  assert.equal(code(huge), 'too-large');
  // Batch count far beyond the bytes present.
  const pp = encodeMessage({ type: 'pre-prepare', view: 0n, seq: 1n, digest: new Uint8Array(32), replica: 0, sig: new Uint8Array(), batch: [] });
  const lying = pp.slice();
  new DataView(lying.buffer).setUint32(lying.length - 4, 60_000);
  assert.equal(code(lying), 'truncated');
  // Client id that is not UTF-8.
  const bad = req.slice();
  bad[3] = 0xff;
  assert.equal(code(bad), 'invalid');
});
