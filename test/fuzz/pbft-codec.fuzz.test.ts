import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError, decodeMessage, encodeMessage } from '../../src/consensus/pbft/codec.ts';
import type { CheckpointMsg, PbftMessage, PrePrepareMsg, PrepareMsg, RequestMsg, ViewChangeMsg } from '../../src/consensus/pbft/messages.ts';
import { RUNS, decodeOrTypedError, fuzzBytes } from './helpers.ts';

const b = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
const sig = b(64, 0x5a);
const req = (id: bigint): RequestMsg => ({ type: 'request', clientId: 'client-1', requestId: id, payload: b(12, 0x11), sig });
const prePrepare: PrePrepareMsg = { type: 'pre-prepare', view: 1n, seq: 5n, digest: b(32, 0x22), replica: 1, sig, batch: [req(1n), req(2n)] };
const prepare: PrepareMsg = { type: 'prepare', view: 1n, seq: 5n, digest: b(32, 0x22), replica: 2, sig };
const checkpoint: CheckpointMsg = { type: 'checkpoint', seq: 4n, stateDigest: b(32, 0x33), replica: 3, sig };
const viewChange: ViewChangeMsg = { type: 'view-change', newView: 2n, replica: 2, stableSeq: 4n, checkpointProof: [checkpoint, { ...checkpoint, replica: 1 }], prepared: [{ prePrepare, prepares: [prepare] }], sig };
const messages: PbftMessage[] = [
  req(9n),
  { type: 'reply', view: 1n, replica: 0, clientId: 'client-1', requestId: 9n, result: b(8, 0x44), sig },
  prePrepare,
  prepare,
  { type: 'commit', view: 1n, seq: 5n, digest: b(32, 0x22), replica: 3 },
  checkpoint,
  viewChange,
  { type: 'new-view', view: 2n, replica: 2, viewChanges: [viewChange], prePrepares: [prePrepare], sig },
  { type: 'status', replica: 1, view: 1n, lastExecuted: 5n, stableSeq: 4n },
  { type: 'fetch', replica: 1, lastExecuted: 3n },
  { type: 'state', replica: 0, checkpoint: { seq: 4n, snapshot: b(40, 0x55), proof: [checkpoint] }, batches: [{ seq: 5n, batch: [req(3n)] }] },
];
const corpus = messages.map(encodeMessage);
const isDecodeError = (e: unknown): boolean => e instanceof DecodeError;

test('pbft codec: every corpus message round-trips', () => {
  for (const [i, bytes] of corpus.entries()) {
    const m = decodeMessage(bytes);
    assert.equal(m.type, messages[i]!.type);
    assert.deepEqual(Buffer.from(encodeMessage(m)), Buffer.from(bytes));
  }
});

test('fuzz: pbft decodeMessage yields a canonical message or a DecodeError', () => {
  fc.assert(
    fc.property(fuzzBytes(corpus), (input) => {
      const m = decodeOrTypedError(decodeMessage, input, isDecodeError);
      if (m === undefined) return;
      // The codec is canonical: an accepted frame re-encodes to exactly the same bytes.
      assert.equal(Buffer.from(encodeMessage(m)).toString('hex'), Buffer.from(input).toString('hex'));
    }),
    { numRuns: RUNS },
  );
});

test('pbft codec: unknown versions and message types are DecodeErrors', () => {
  const status = Uint8Array.from(corpus[8]!);
  for (const code of [0, 12, 99, 255]) {
    const x = Uint8Array.from(status);
    x[1] = code;
    assert.throws(() => decodeMessage(x), (e: unknown) => e instanceof DecodeError && e.code === 'unknown-type');
  }
  const v = Uint8Array.from(status);
  v[0] = 2;
  assert.throws(() => decodeMessage(v), (e: unknown) => e instanceof DecodeError && e.code === 'bad-version');
  assert.throws(() => decodeMessage(new Uint8Array(0)), DecodeError);
});
