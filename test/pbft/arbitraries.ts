/** fast-check arbitraries of well-formed PBFT messages (shared by codec and replica tests). */
import fc from 'fast-check';
import type {
  CheckpointMsg,
  NewViewMsg,
  PbftMessage,
  PrePrepareMsg,
  PrepareMsg,
  PreparedCert,
  RequestMsg,
  ViewChangeMsg,
} from '../../src/consensus/pbft/messages.ts';

export const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
export const replica = fc.integer({ min: 0, max: 255 });
export const digest = fc.uint8Array({ minLength: 32, maxLength: 32 });
export const sig = fc.uint8Array({ maxLength: 64 });
export const clientId = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => {
  const n = new TextEncoder().encode(s).length;
  return n >= 1 && n <= 64;
});
const bytes = fc.uint8Array({ maxLength: 40 });

export const request: fc.Arbitrary<RequestMsg> = fc.record({
  type: fc.constant('request' as const),
  clientId,
  requestId: u64,
  payload: bytes,
  sig,
});
export const prePrepare: fc.Arbitrary<PrePrepareMsg> = fc.record({
  type: fc.constant('pre-prepare' as const),
  view: u64,
  seq: u64,
  digest,
  replica,
  sig,
  batch: fc.array(request, { maxLength: 3 }),
});
export const prepare: fc.Arbitrary<PrepareMsg> = fc.record({
  type: fc.constant('prepare' as const),
  view: u64,
  seq: u64,
  digest,
  replica,
  sig,
});
export const checkpoint: fc.Arbitrary<CheckpointMsg> = fc.record({
  type: fc.constant('checkpoint' as const),
  seq: u64,
  stateDigest: digest,
  replica,
  sig,
});
const preparedCert: fc.Arbitrary<PreparedCert> = fc.record({ prePrepare, prepares: fc.array(prepare, { maxLength: 3 }) });
export const viewChange: fc.Arbitrary<ViewChangeMsg> = fc.record({
  type: fc.constant('view-change' as const),
  newView: u64,
  replica,
  stableSeq: u64,
  checkpointProof: fc.array(checkpoint, { maxLength: 3 }),
  prepared: fc.array(preparedCert, { maxLength: 2 }),
  sig,
});
export const newView: fc.Arbitrary<NewViewMsg> = fc.record({
  type: fc.constant('new-view' as const),
  view: u64,
  replica,
  viewChanges: fc.array(viewChange, { maxLength: 2 }),
  prePrepares: fc.array(prePrepare, { maxLength: 2 }),
  sig,
});

/** Any well-formed message. */
export const message: fc.Arbitrary<PbftMessage> = fc.oneof(
  request,
  fc.record({
    type: fc.constant('reply' as const),
    view: u64,
    replica,
    clientId,
    requestId: u64,
    result: bytes,
    sig,
  }),
  prePrepare,
  prepare,
  fc.record({ type: fc.constant('commit' as const), view: u64, seq: u64, digest, replica }),
  checkpoint,
  viewChange,
  newView,
  fc.record({ type: fc.constant('status' as const), replica, view: u64, lastExecuted: u64, stableSeq: u64 }),
  fc.record({ type: fc.constant('fetch' as const), replica, lastExecuted: u64 }),
  fc.record({
    type: fc.constant('state' as const),
    replica,
    checkpoint: fc.option(fc.record({ seq: u64, snapshot: bytes, proof: fc.array(checkpoint, { maxLength: 3 }) }), { nil: undefined }),
    batches: fc.array(fc.record({ seq: u64, batch: fc.array(request, { maxLength: 2 }) }), { maxLength: 2 }),
  }),
);
