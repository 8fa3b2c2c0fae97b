import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import {
  decodeClientFrame,
  decodePeerFrame,
  decodeReplicaFrame,
  encodeClientFrame,
  encodePeerFrame,
  encodeReplicaFrame,
  ErrorCode,
  DEFAULT_WIRE_LIMITS,
} from '../../src/wire/codec.ts';
import { UnsupportedVersionError, WireError, MalformedFrameError, TooLargeError } from '../../src/wire/errors.ts';
import { RUNS, decodeOrTypedError, fuzzBytes, norm } from './helpers.ts';

const b = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
const clientFrame = encodeClientFrame({ clientPublicKey: b(32, 1), requestId: 7n, operation: b(20, 2), readOnly: false, signature: b(64, 3) });
const replyFrame = encodeReplicaFrame({
  type: 'reply',
  reply: { requestId: 7n, clientId: b(32, 4), result: b(10, 5), keySet: 'ordered', sequence: 9n, root: b(32, 6), leafIndex: 1, leafCount: 4, proof: [b(32, 7), b(32, 8)], groupSignature: b(48, 9), replica: 2 },
});
const errorFrame = encodeReplicaFrame({ type: 'error', error: { requestId: 7n, code: ErrorCode.OVERLOADED, message: 'busy', supportedVersion: 1 } });
const shareFrame = encodePeerFrame({ type: 'share', share: { keySet: 'ordered', sequence: 9n, root: b(32, 6), leafCount: 4, signer: 3, signature: b(48, 9) } });
const shareRequestFrame = encodePeerFrame({ type: 'share-request', keySet: 'ordered', sequence: 9n });
const readOnlyRequestFrame = encodePeerFrame({ type: 'read-only-batch', batch: { batchId: 3n, requests: [clientFrame, clientFrame] } });
const readOnlyShareFrame = encodePeerFrame({ type: 'read-only-batch-share', share: { batchId: 3n, leaves: [b(32, 4), b(32, 6)], results: [b(10, 5)], signer: 2, signature: b(48, 9) } });
/** version = 2 followed by an unknown field 15 (length-delimited): an unknown message type. */
const unknownType = Uint8Array.from([0x08, 0x02, 0x7a, 0x03, 0x01, 0x02, 0x03]);
const corpus = [clientFrame, replyFrame, errorFrame, shareFrame, shareRequestFrame, readOnlyRequestFrame, readOnlyShareFrame, unknownType];
const isWire = (e: unknown): boolean => e instanceof WireError;

test('fuzz: client frames decode to a valid request or a WireError', () => {
  fc.assert(
    fc.property(fuzzBytes(corpus), (input) => {
      const req = decodeOrTypedError(decodeClientFrame, input, isWire);
      if (req === undefined) return;
      assert.equal(req.clientPublicKey.length, 32);
      assert.equal(req.signature.length, 64);
      assert.ok(req.requestId >= 1n && req.requestId < 1n << 64n);
      assert.ok(req.operation.length <= DEFAULT_WIRE_LIMITS.maxOperationBytes);
      assert.deepEqual(norm(decodeClientFrame(encodeClientFrame(req))), norm(req), 're-encoding an accepted frame must round-trip');
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: replica frames decode to a valid reply/error or a WireError', () => {
  fc.assert(
    fc.property(fuzzBytes(corpus), (input) => {
      const m = decodeOrTypedError(decodeReplicaFrame, input, isWire);
      if (m === undefined) return;
      if (m.type === 'reply') {
        const r = m.reply;
        assert.equal(r.clientId.length, 32);
        assert.equal(r.root.length, 32);
        assert.ok(r.leafIndex < r.leafCount);
        assert.ok(r.proof.length <= DEFAULT_WIRE_LIMITS.maxProofEntries && r.proof.every((p) => p.length === 32));
        assert.ok(r.groupSignature.length > 0 && r.groupSignature.length <= DEFAULT_WIRE_LIMITS.maxBlsSignatureBytes);
        assert.ok(r.keySet.length > 0);
      }
      assert.deepEqual(norm(decodeReplicaFrame(encodeReplicaFrame(m))), norm(m));
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: peer frames decode to a valid share/share-request or a WireError', () => {
  fc.assert(
    fc.property(fuzzBytes(corpus), (input) => {
      const m = decodeOrTypedError(decodePeerFrame, input, isWire);
      if (m === undefined) return;
      if (m.type === 'share') {
        assert.ok(m.share.signer >= 1);
        assert.equal(m.share.root.length, 32);
        assert.ok(m.share.signature.length > 0);
      }
      assert.deepEqual(norm(decodePeerFrame(encodePeerFrame(m))), norm(m));
    }),
    { numRuns: RUNS },
  );
});

test('wire: invalid UTF-8 in a string field decodes to a well-formed string that round-trips (fast-check counterexample)', () => {
  // ShareRequest whose key_set bytes start with 0xED: protobufjs decoded a lone surrogate
  const m = decodePeerFrame(Uint8Array.from([8, 2, 26, 11, 10, 7, 237, 114, 100, 101, 114, 101, 100, 16, 9]));
  assert.equal(m.type, 'share-request');
  assert.deepEqual(norm(decodePeerFrame(encodePeerFrame(m))), norm(m));
});

test('wire: unknown message types, unknown versions and oversize frames are typed errors', () => {
  for (const dec of [decodeClientFrame, decodeReplicaFrame, decodePeerFrame]) {
    assert.throws(() => dec(unknownType), MalformedFrameError);
    assert.throws(() => dec(encodeClientFrame({ clientPublicKey: b(32, 1), requestId: 1n, operation: b(1, 1), readOnly: false, signature: b(64, 1) }, 3)), UnsupportedVersionError);
    assert.throws(() => dec(new Uint8Array(DEFAULT_WIRE_LIMITS.maxFrameBytes + 1)), TooLargeError);
  }
  // A bytes field claiming 2^31 bytes inside a small frame.
  const hostile = Uint8Array.from([0x08, 0x02, 0x12, 0x80, 0x80, 0x80, 0x80, 0x08, 0x00]);
  assert.throws(() => decodeClientFrame(hostile), WireError);
  // Cross-channel: a client frame is not a reply, a reply is not a share.
  assert.throws(() => decodePeerFrame(clientFrame), WireError);
});
