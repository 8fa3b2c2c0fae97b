import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { DESCRIPTOR_PATH, PROTO_PATH, renderDescriptor } from '../../src/wire/gen-descriptor.ts';
import {
  DEFAULT_WIRE_LIMITS,
  ErrorCode,
  decodeClientFrame,
  decodePeerFrame,
  decodeReplicaFrame,
  encodeClientFrame,
  encodePeerFrame,
  encodeReplicaFrame,
  type CartReply,
  type CartRequest,
} from '../../src/wire/codec.ts';
import { InvalidFieldError, MalformedFrameError, TooLargeError, UnsupportedVersionError, WireError } from '../../src/wire/errors.ts';
import { batchRootMessage, clientIdOf, digest, replyDigest, requestSigningBytes, signedRequestBytes } from '../../src/wire/digest.ts';

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);
const request: CartRequest = {
  clientPublicKey: bytes(32, 7),
  requestId: (1n << 64n) - 1n,
  operation: Uint8Array.of(1, 2, 3),
  readOnly: true,
  signature: bytes(64, 9),
  fresh: (1n << 64n) - 2n,
  ack: (1n << 64n) - 3n,
};
const reply: CartReply = {
  requestId: 42n,
  clientId: bytes(32, 3),
  result: Uint8Array.of(5, 6),
  keySet: 'ordered',
  sequence: 1n << 40n,
  root: bytes(32, 4),
  leafIndex: 2,
  leafCount: 3,
  proof: [bytes(32, 1), bytes(32, 2)],
  groupSignature: bytes(48, 8),
  replica: 3,
  preferredContact: 2,
};

test('the generated descriptor matches proto/cart.proto', () => {
  assert.equal(readFileSync(DESCRIPTOR_PATH, 'utf8'), renderDescriptor(readFileSync(PROTO_PATH, 'utf8')), 'run: node --import tsx src/wire/gen-descriptor.ts');
});

/** Deep copy with every Uint8Array (Buffer or not) as a plain number array, for deepEqual. */
const plain = (v: unknown): unknown =>
  v instanceof Uint8Array ? [...v] : Array.isArray(v) ? v.map(plain) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v;

test('client, replica and peer frames round-trip', () => {
  assert.deepEqual(plain(decodeClientFrame(encodeClientFrame(request))), plain(request));
  assert.deepEqual(plain(decodeReplicaFrame(encodeReplicaFrame({ type: 'reply', reply }))), plain({ type: 'reply', reply }));
  // no contact hint (an older replica, or hints off) decodes as 0 = none
  const { preferredContact: _, ...noHint } = reply;
  assert.equal((decodeReplicaFrame(encodeReplicaFrame({ type: 'reply', reply: noHint })) as { reply: CartReply }).reply.preferredContact, 0);
  const error = { requestId: 5n, code: ErrorCode.STALE_FRESHNESS, message: 'stale', supportedVersion: 1, sequence: 123_456n };
  assert.deepEqual(decodeReplicaFrame(encodeReplicaFrame({ type: 'error', error })), { type: 'error', error });
  // absent optional fields decode as 0
  const { fresh: _f, ...noFresh } = request;
  assert.equal(decodeClientFrame(encodeClientFrame(noFresh)).fresh, 0n);
  const e2 = decodeReplicaFrame(encodeReplicaFrame({ type: 'error', error: { requestId: 1n, code: ErrorCode.BUSY, message: '', supportedVersion: 1 } }));
  assert.equal(e2.type === 'error' && e2.error.sequence, 0n);
  assert.throws(() => encodeClientFrame({ ...request, fresh: 1n << 64n }), InvalidFieldError);
  const share = { keySet: 'ordered', sequence: 77n, root: bytes(32, 5), leafCount: 9, signer: 4, signature: bytes(48, 6) };
  assert.deepEqual(plain(decodePeerFrame(encodePeerFrame({ type: 'share', share }))), plain({ type: 'share', share }));
  assert.deepEqual(decodePeerFrame(encodePeerFrame({ type: 'share-request', keySet: 'ordered', sequence: 3n })), { type: 'share-request', keySet: 'ordered', sequence: 3n });
  const relay = { type: 'read-only-batch' as const, batch: { batchId: 12n, requests: [encodeClientFrame(request), encodeClientFrame({ ...request, requestId: 2n })] } };
  assert.deepEqual(plain(decodePeerFrame(encodePeerFrame(relay))), plain(relay));
  assert.throws(() => decodePeerFrame(encodePeerFrame({ ...relay, batch: { ...relay.batch, requests: [] } })), InvalidFieldError);
  assert.throws(() => decodePeerFrame(encodePeerFrame(relay), { ...DEFAULT_WIRE_LIMITS, maxReadOnlyBatchRequests: 1 }), TooLargeError);
  const ro = { type: 'read-only-batch-share' as const, share: { batchId: 12n, leaves: [bytes(32, 2), bytes(32, 7)], results: [Uint8Array.of(1)], signer: 2, signature: bytes(48, 3) } };
  assert.deepEqual(plain(decodePeerFrame(encodePeerFrame(ro))), plain(ro));
  assert.throws(() => decodePeerFrame(encodePeerFrame({ ...ro, share: { ...ro.share, leaves: [bytes(3)] } })), InvalidFieldError);
  assert.throws(() => decodePeerFrame(encodePeerFrame({ ...ro, share: { ...ro.share, leaves: [] } })), InvalidFieldError);
  assert.throws(() => decodePeerFrame(encodePeerFrame({ ...ro, share: { ...ro.share, results: [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)] } })), InvalidFieldError);
  assert.throws(() => decodePeerFrame(encodePeerFrame({ ...ro, share: { ...ro.share, signer: 0 } })), InvalidFieldError);
  assert.throws(() => decodePeerFrame(encodePeerFrame({ ...ro, share: { ...ro.share, results: [new Uint8Array(DEFAULT_WIRE_LIMITS.maxResultBytes + 1)] } }), { ...DEFAULT_WIRE_LIMITS, maxFrameBytes: 1 << 22 }), TooLargeError);
});

test('unknown versions, oversize frames and fields, and bad field shapes are typed errors', () => {
  assert.throws(() => decodeClientFrame(encodeClientFrame(request, 3)), (e) => e instanceof UnsupportedVersionError && e.version === 3);
  assert.throws(() => decodeClientFrame(encodeClientFrame(request, 1)), (e) => e instanceof UnsupportedVersionError && e.version === 1, 'version 1 (no signed ack) is refused');
  assert.throws(() => decodeClientFrame(encodeClientFrame(request, 0)), UnsupportedVersionError);
  assert.throws(() => decodeClientFrame(new Uint8Array(DEFAULT_WIRE_LIMITS.maxFrameBytes + 1)), TooLargeError);
  assert.throws(() => decodeClientFrame(encodeClientFrame({ ...request, operation: new Uint8Array(DEFAULT_WIRE_LIMITS.maxOperationBytes + 1) })), TooLargeError);
  assert.throws(() => decodeClientFrame(encodeClientFrame({ ...request, clientPublicKey: bytes(31) })), InvalidFieldError);
  assert.throws(() => decodeClientFrame(encodeClientFrame({ ...request, signature: bytes(63) })), InvalidFieldError);
  assert.throws(() => decodeClientFrame(encodeClientFrame({ ...request, requestId: 0n })), InvalidFieldError);
  assert.throws(() => encodeClientFrame({ ...request, requestId: 1n << 64n }), InvalidFieldError);
  assert.throws(() => decodeClientFrame(Uint8Array.of(0x08, 0x02)), MalformedFrameError); // version only, no request
  assert.throws(() => decodeClientFrame(Uint8Array.of(0x08, 0x02, 0x12, 0x50, 0x01)), MalformedFrameError); // truncated body
  assert.throws(() => decodeReplicaFrame(encodeReplicaFrame({ type: 'reply', reply: { ...reply, leafIndex: 3 } })), InvalidFieldError);
  assert.throws(() => decodeReplicaFrame(encodeReplicaFrame({ type: 'reply', reply: { ...reply, proof: Array.from({ length: 33 }, () => bytes(32)) } })), TooLargeError);
  assert.throws(() => decodeReplicaFrame(encodeReplicaFrame({ type: 'reply', reply: { ...reply, keySet: 'x'.repeat(65) } })), TooLargeError);
  assert.throws(() => decodeReplicaFrame(encodeReplicaFrame({ type: 'reply', reply: { ...reply, root: bytes(31) } })), InvalidFieldError);
  assert.throws(() => decodePeerFrame(encodePeerFrame({ type: 'share', share: { keySet: 'ordered', sequence: 1n, root: bytes(32), leafCount: 1, signer: 0, signature: bytes(48) } })), InvalidFieldError);
  assert.throws(() => decodePeerFrame(encodePeerFrame({ type: 'share', share: { keySet: 'ordered', sequence: 1n, root: bytes(32), leafCount: 1, signer: 1, signature: bytes(500) } })), TooLargeError);
});

test('decoders throw nothing but WireError on arbitrary bytes', () => {
  const valid = [encodeClientFrame(request), encodeReplicaFrame({ type: 'reply', reply }), encodePeerFrame({ type: 'share-request', keySet: 'ordered', sequence: 1n })];
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(2), fc.nat(400), fc.nat(255), (noise, which, pos, val) => {
      // pure noise, and single-byte mutations of valid frames
      const mutated = Uint8Array.from(valid[which]!);
      mutated[pos % mutated.length] = val;
      for (const input of [noise, mutated]) {
        for (const dec of [decodeClientFrame, decodeReplicaFrame, decodePeerFrame]) {
          try {
            dec(input);
          } catch (e) {
            if (!(e instanceof WireError)) throw e;
          }
        }
      }
    }),
    { numRuns: 500 },
  );
});

test('what is signed binds every field', () => {
  const base = { keySet: 'ordered', clientId: clientIdOf(bytes(32, 1)), requestId: 1n, operationDigest: digest(Uint8Array.of(1)), result: Uint8Array.of(2) };
  const d = Buffer.from(replyDigest(base)).toString('hex');
  const variants = [
    { ...base, keySet: 'readonly' },
    { ...base, clientId: clientIdOf(bytes(32, 2)) },
    { ...base, requestId: 2n },
    { ...base, operationDigest: digest(Uint8Array.of(3)) },
    { ...base, result: Uint8Array.of(2, 0) },
  ];
  for (const v of variants) assert.notEqual(Buffer.from(replyDigest(v)).toString('hex'), d);
  const m = Buffer.from(batchRootMessage('ordered', 1n, bytes(32), 1)).toString('hex');
  for (const other of [batchRootMessage('readonly', 1n, bytes(32), 1), batchRootMessage('ordered', 2n, bytes(32), 1), batchRootMessage('ordered', 1n, bytes(32, 2), 1), batchRootMessage('ordered', 1n, bytes(32), 2)]) {
    assert.notEqual(Buffer.from(other).toString('hex'), m);
  }
  assert.notEqual(
    Buffer.from(requestSigningBytes(base.clientId, 1n, false, Uint8Array.of(1))).toString('hex'),
    Buffer.from(requestSigningBytes(base.clientId, 1n, true, Uint8Array.of(1))).toString('hex'),
  );
  // the freshness sequence is signed, and signedRequestBytes is the same builder
  assert.notEqual(
    Buffer.from(requestSigningBytes(base.clientId, 1n, false, Uint8Array.of(1), 0n)).toString('hex'),
    Buffer.from(requestSigningBytes(base.clientId, 1n, false, Uint8Array.of(1), 1n)).toString('hex'),
  );
  assert.deepEqual(
    signedRequestBytes(base.clientId, { requestId: 1n, readOnly: false, operation: Uint8Array.of(1), fresh: 7n }),
    requestSigningBytes(base.clientId, 1n, false, Uint8Array.of(1), 7n),
  );
  // so is the acknowledgement
  assert.notEqual(
    Buffer.from(requestSigningBytes(base.clientId, 1n, false, Uint8Array.of(1), 0n, 0n)).toString('hex'),
    Buffer.from(requestSigningBytes(base.clientId, 1n, false, Uint8Array.of(1), 0n, 1n)).toString('hex'),
  );
  assert.deepEqual(
    signedRequestBytes(base.clientId, { requestId: 5n, readOnly: false, operation: Uint8Array.of(1), fresh: 7n, ack: 3n }),
    requestSigningBytes(base.clientId, 5n, false, Uint8Array.of(1), 7n, 3n),
  );
});
