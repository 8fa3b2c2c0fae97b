/**
 * Direct tests of one replica core driven with hand-made messages: bad input is dropped and
 * counted by reason (never thrown), exactly-once and the anti-censoring request window, and
 * state transfer refusing snapshots that do not match the certified digest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PbftReplica } from '../../src/consensus/pbft/replica.ts';
import { SimAuthenticator } from '../../src/consensus/pbft/auth.ts';
import { batchDigest, decodeMessage, encodeMessage, sha256, signedBytes } from '../../src/consensus/pbft/codec.ts';
import type { CheckpointMsg, CommitMsg, PbftMessage, PrePrepareMsg, PrepareMsg, RequestMsg } from '../../src/consensus/pbft/messages.ts';
import type { PbftConfig, ReplicaOutput } from '../../src/consensus/pbft/api.ts';
import { HashChainApp, simConfig } from '../../src/consensus/pbft/simulation.ts';
import { ClientTable, encodeCoreState } from '../../src/consensus/pbft/client-table.ts';
import { message } from './arbitraries.ts';

const SEED = 'unit';
const auth = (r: number, n = 4): SimAuthenticator => new SimAuthenticator(SEED, r, n);
const enc = (m: PbftMessage): Uint8Array => encodeMessage(m);

function request(clientId: string, requestId: bigint, text: string): RequestMsg {
  const m: RequestMsg = { type: 'request', clientId, requestId, payload: new TextEncoder().encode(text), sig: new Uint8Array() };
  return { ...m, sig: SimAuthenticator.clientSigner(SEED, clientId).sign(signedBytes(m)) };
}
function prePrepare(view: bigint, seq: bigint, batch: RequestMsg[], signer = 0): PrePrepareMsg {
  const m: PrePrepareMsg = { type: 'pre-prepare', view, seq, digest: batchDigest(batch), replica: signer, sig: new Uint8Array(), batch };
  return { ...m, sig: auth(signer).sign(signedBytes(m)) };
}
function prepare(view: bigint, seq: bigint, digest: Uint8Array, r: number): PrepareMsg {
  const m: PrepareMsg = { type: 'prepare', view, seq, digest, replica: r, sig: new Uint8Array() };
  return { ...m, sig: auth(r).sign(signedBytes(m)) };
}
const commit = (view: bigint, seq: bigint, digest: Uint8Array, r: number): CommitMsg => ({ type: 'commit', view, seq, digest, replica: r });

/** Replica 1 (a backup in view 0) with a recording app. */
function backup(overrides: Partial<PbftConfig> = {}) {
  const executed: { seq: bigint; payloads: string[] }[] = [];
  const app = new HashChainApp((seq, payloads) => executed.push({ seq, payloads: payloads.map((p) => new TextDecoder().decode(p)) }));
  const config = simConfig(1, overrides);
  const rep = new PbftReplica(1, config, app, auth(1));
  rep.start();
  return { rep, app, executed, config };
}

/** Drive replica 1 through PRE-PREPARE, 2f PREPAREs (own + replica 2) and 2f+1 COMMITs for a batch. */
function order(rep: PbftReplica, seq: bigint, batch: RequestMsg[]): ReplicaOutput[] {
  const pp = prePrepare(0n, seq, batch);
  const out: ReplicaOutput[] = [];
  out.push(...rep.handle({ kind: 'message', from: 0, bytes: enc(pp) }));
  out.push(...rep.handle({ kind: 'message', from: 2, bytes: enc(prepare(0n, seq, pp.digest, 2)) }));
  out.push(...rep.handle({ kind: 'message', from: 0, bytes: enc(commit(0n, seq, pp.digest, 0)) }));
  out.push(...rep.handle({ kind: 'message', from: 2, bytes: enc(commit(0n, seq, pp.digest, 2)) }));
  return out;
}
const replies = (out: ReplicaOutput[]) =>
  out.flatMap((o) => (o.kind === 'reply' ? [decodeMessage(o.bytes)] : [])).map((m) => (m.type === 'reply' ? `${m.clientId}#${m.requestId}` : '?'));

test('replica: normal case executes a committed batch and replies', () => {
  const { rep, executed } = backup();
  const out = order(rep, 1n, [request('c', 1n, 'a'), request('c', 2n, 'b')]);
  assert.deepEqual(executed, [{ seq: 1n, payloads: ['a', 'b'] }]);
  assert.deepEqual(replies(out), ['c#1', 'c#2']);
  assert.ok(out.some((o) => o.kind === 'send' && decodeMessage(o.bytes).type === 'prepare'), 'backup sent PREPARE');
  assert.equal(rep.metrics().lastExecuted, 1n);
});

test('replica: exactly-once — duplicates are not re-executed, retransmissions answered from the table', () => {
  const { rep, executed } = backup();
  order(rep, 1n, [request('c', 1n, 'a')]);
  order(rep, 2n, [request('c', 1n, 'a'), request('c', 1n, 'a')]); // a faulty primary re-orders it
  assert.deepEqual(executed, [{ seq: 1n, payloads: ['a'] }], 'duplicate skipped, empty batch not delivered to the app');
  assert.equal(rep.metrics().lastExecuted, 2n);
  const out = rep.handle({ kind: 'request', bytes: enc(request('c', 1n, 'a')) });
  assert.deepEqual(replies(out), ['c#1'], 'retransmission answered from the cache');
  assert.equal(executed.length, 1);
});

test('replica: a later request id ordered first does not censor an earlier one (within the window)', () => {
  const { rep, executed } = backup({ clientWindow: 4 });
  order(rep, 1n, [request('c', 3n, 'third')]);
  order(rep, 2n, [request('c', 1n, 'first')]);
  assert.deepEqual(executed.map((e) => e.payloads), [['third'], ['first']]);
  order(rep, 3n, [request('c', 9n, 'ninth')]);
  order(rep, 4n, [request('c', 5n, 'too old: 5 ≤ 9 − 4')]);
  assert.deepEqual(executed.map((e) => e.payloads).flat(), ['third', 'first', 'ninth']);
  const out = rep.handle({ kind: 'request', bytes: enc(request('c', 2n, 'old')) });
  assert.deepEqual(out.filter((o) => o.kind !== 'set-timer'), []);
  assert.equal(rep.metrics().dropped['old-request'], 1);
});

test('replica: bad input is dropped and counted by reason, never thrown', () => {
  const { rep } = backup();
  const d = () => rep.metrics().dropped;
  rep.handle({ kind: 'message', from: 0, bytes: Uint8Array.of(1, 2, 3) });
  assert.equal(d().malformed, 1);
  const pp = prePrepare(0n, 1n, [request('c', 1n, 'a')]);
  rep.handle({ kind: 'message', from: 2, bytes: enc(pp) }); // claims replica 0, link says 2
  assert.equal(d()['wrong-sender'], 1);
  rep.handle({ kind: 'message', from: 9, bytes: enc(pp) }); // not a replica id
  assert.equal(d()['wrong-sender'], 2);
  rep.handle({ kind: 'message', from: 0, bytes: enc({ ...pp, sig: new Uint8Array(16) }) });
  assert.equal(d()['bad-signature'], 1);
  rep.handle({ kind: 'message', from: 0, bytes: enc(prePrepare(0n, 1000n, [])) });
  assert.equal(d()['out-of-window'], 1);
  rep.handle({ kind: 'message', from: 3, bytes: enc(prePrepare(0n, 1n, [], 3)) });
  assert.equal(d()['not-primary'], 1);
  const forged = { ...request('c', 1n, 'a'), payload: new TextEncoder().encode('tampered') };
  rep.handle({ kind: 'message', from: 0, bytes: enc(prePrepare(0n, 1n, [forged])) });
  assert.equal(d()['bad-signature'], 2, 'client signature checked inside PRE-PREPARE');
  const wrongDigest = { ...prePrepare(0n, 1n, [request('c', 1n, 'a')]), batch: [] };
  rep.handle({ kind: 'message', from: 0, bytes: enc(wrongDigest) });
  assert.equal(d()['bad-digest'], 1);
  rep.handle({ kind: 'message', from: 0, bytes: enc(pp) });
  rep.handle({ kind: 'message', from: 0, bytes: enc(prePrepare(0n, 1n, [request('c', 2n, 'b')])) });
  assert.equal(d().conflicting, 1, 'second digest for the same (view, seq)');
  rep.handle({ kind: 'request', bytes: enc(prepare(0n, 1n, pp.digest, 2)) });
  assert.equal(d().unexpected, 1, 'non-request on a client connection');
  const big = request('c', 5n, 'x'.repeat(2 << 20));
  rep.handle({ kind: 'request', bytes: enc(big) });
  assert.equal(d()['too-large'], 1);
  assert.equal(d()['internal-error'], 0);
  assert.equal(rep.metrics().lastExecuted, 0n, 'nothing executed from bad input');
});

test('replica fuzz: arbitrary and mutated messages from any sender never throw', () => {
  const { rep } = backup();
  order(rep, 1n, [request('c', 1n, 'a')]);
  fc.assert(
    fc.property(fc.integer({ min: -1, max: 5 }), fc.oneof(message.map(enc), fc.uint8Array({ maxLength: 100 })), fc.boolean(), (from, bytes, asClient) => {
      const out = rep.handle(asClient ? { kind: 'request', bytes } : { kind: 'message', from, bytes });
      assert.ok(Array.isArray(out));
    }),
    { numRuns: 800 },
  );
  assert.equal(rep.metrics().dropped['internal-error'], 0);
  assert.equal(rep.metrics().lastExecuted, 1n, 'random messages carry no valid quorum');
});

function checkpointProof(seq: bigint, digest: Uint8Array, signers: number[]): CheckpointMsg[] {
  return signers.map((r) => {
    const m: CheckpointMsg = { type: 'checkpoint', seq, stateDigest: digest, replica: r, sig: new Uint8Array() };
    return { ...m, sig: auth(r).sign(signedBytes(m)) };
  });
}

test('state transfer: installs only a snapshot matching the 2f+1-certified digest', () => {
  // A "donor" state at seq 8: one request executed.
  const donorApp = new HashChainApp();
  donorApp.executeBatch(1n, [new TextEncoder().encode('x')]);
  const table = new ClientTable(64);
  table.record('c', 1n, new Uint8Array([1]), 1n);
  const snapshot = encodeCoreState(table, donorApp.snapshot());
  const digest = sha256(snapshot);
  const { rep, app } = backup();
  const state = (snap: Uint8Array, proof: CheckpointMsg[]) =>
    enc({ type: 'state', replica: 2, checkpoint: { seq: 8n, snapshot: snap, proof }, batches: [] });

  rep.handle({ kind: 'message', from: 2, bytes: state(snapshot, checkpointProof(8n, digest, [0, 2])) });
  assert.equal(rep.metrics().dropped['bad-certificate'], 1, 'only 2 of 2f+1 signatures');
  const tampered = snapshot.slice();
  tampered[tampered.length - 1]! ^= 1;
  rep.handle({ kind: 'message', from: 2, bytes: state(tampered, checkpointProof(8n, digest, [0, 2, 3])) });
  assert.equal(rep.metrics().dropped['bad-snapshot'], 1, 'digest mismatch');
  assert.equal(rep.metrics().lastExecuted, 0n);

  const out = rep.handle({ kind: 'message', from: 2, bytes: state(snapshot, checkpointProof(8n, digest, [0, 2, 3])) });
  assert.ok(out.some((o) => o.kind === 'state-transfer' && o.sequence === 8n));
  const m = rep.metrics();
  assert.equal(m.lastExecuted, 8n);
  assert.equal(m.stableCheckpoint, 8n);
  assert.deepEqual(app.snapshot(), donorApp.snapshot());
  // Exactly-once survives state transfer: request c#1 is answered from the table.
  assert.deepEqual(replies(rep.handle({ kind: 'request', bytes: enc(request('c', 1n, 'x')) })), ['c#1']);
});

test('state transfer: fetched batches execute only with f+1 matching copies', () => {
  const { rep, executed } = backup();
  const b = [request('c', 1n, 'a')];
  const evil = [request('c', 1n, 'evil')];
  const st = (from: number, batch: RequestMsg[]) => enc({ type: 'state', replica: from, checkpoint: undefined, batches: [{ seq: 1n, batch }] });
  // A liar cycling through many different batches for seq 1 must not crowd out honest copies.
  for (let i = 0; i < 10; i++) rep.handle({ kind: 'message', from: 3, bytes: st(3, [request('c', BigInt(i + 2), `evil${i}`)]) });
  rep.handle({ kind: 'message', from: 3, bytes: st(3, evil) });
  rep.handle({ kind: 'message', from: 2, bytes: st(2, b) });
  assert.equal(executed.length, 0, 'two different single copies are not enough');
  rep.handle({ kind: 'message', from: 0, bytes: st(0, b) });
  assert.deepEqual(executed, [{ seq: 1n, payloads: ['a'] }]);
});

test('replica: one client cannot fill the pending set (capped at the client window)', () => {
  const { rep } = backup({ clientWindow: 8 });
  for (let i = 1; i <= 12; i++) rep.handle({ kind: 'request', bytes: enc(request('flood', BigInt(i), `f${i}`)) });
  rep.handle({ kind: 'request', bytes: enc(request('other', 1n, 'o')) });
  const m = rep.metrics();
  assert.equal(m.pendingRequests, 9, '8 from the flooding client + 1 from another');
  assert.equal(m.dropped['queue-full'], 4);
  // Executing frees the flooding client's slots again.
  order(rep, 1n, [request('flood', 1n, 'f1'), request('flood', 2n, 'f2')]);
  assert.equal(rep.metrics().pendingRequests, 7);
  rep.handle({ kind: 'request', bytes: enc(request('flood', 13n, 'f13')) });
  assert.equal(rep.metrics().pendingRequests, 8);
});
