/** The native client core: f+1 matching replies, retransmission, view learning, pipelining. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientBusyError, PbftClientCore } from '../../src/consensus/pbft/client-core.ts';
import { SimAuthenticator, Ed25519Authenticator, ed25519FromSeed } from '../../src/consensus/pbft/auth.ts';
import { decodeMessage, encodeMessage, signedBytes } from '../../src/consensus/pbft/codec.ts';
import type { ReplyMsg } from '../../src/consensus/pbft/messages.ts';
import { runPbftSimulation } from '../../src/consensus/pbft/simulation.ts';

const SEED = 'client-test';
const n = 4;
function client(window = 8, sendToAll = false): PbftClientCore {
  const verifier = new SimAuthenticator(SEED, 0, n);
  return new PbftClientCore('alice', { n, f: 1, retransmitTimeoutMs: 100, clientWindow: window, sendToAll }, SimAuthenticator.clientSigner(SEED, 'alice'), (r, b, s) =>
    verifier.verify(r, b, s),
  );
}
function reply(replica: number, requestId: bigint, result: string, view = 0n, clientId = 'alice'): Uint8Array {
  const m: ReplyMsg = { type: 'reply', view, replica, clientId, requestId, result: new TextEncoder().encode(result), sig: new Uint8Array() };
  return encodeMessage({ ...m, sig: new SimAuthenticator(SEED, replica, n).sign(signedBytes(m)) });
}

test('client: completes only on f+1 matching replies from distinct replicas', () => {
  const c = client();
  const { requestId, outputs } = c.submit(new Uint8Array([1]));
  assert.equal(requestId, 1n);
  const send = outputs.find((o) => o.kind === 'send');
  assert.ok(send && send.kind === 'send' && send.to === 0, 'first transmission to the primary of view 0');
  const req = decodeMessage(send.bytes);
  assert.equal(req.type, 'request');
  assert.ok(new SimAuthenticator(SEED, 0, n).verifyClient('alice', signedBytes(req as never), (req as { sig: Uint8Array }).sig), 'request signed');

  assert.deepEqual(c.handle({ kind: 'reply', from: 1, bytes: reply(1, 1n, 'good') }), []);
  assert.deepEqual(c.handle({ kind: 'reply', from: 1, bytes: reply(1, 1n, 'good') }), [], 'same replica twice counts once');
  assert.deepEqual(c.handle({ kind: 'reply', from: 2, bytes: reply(2, 1n, 'evil') }), [], 'mismatching result');
  const done = c.handle({ kind: 'reply', from: 3, bytes: reply(3, 1n, 'good') });
  const complete = done.find((o) => o.kind === 'complete');
  assert.ok(complete && complete.kind === 'complete');
  assert.equal(new TextDecoder().decode(complete.result), 'good');
  assert.ok(done.some((o) => o.kind === 'cancel-timer' && o.requestId === 1n));
  assert.equal(c.outstandingCount, 0);
  assert.deepEqual(c.handle({ kind: 'reply', from: 0, bytes: reply(0, 1n, 'good') }), [], 'late reply ignored');
  assert.equal(c.metrics().dropped['unknown-request'], 1);
});

test('client: forged, misrouted and malformed replies are dropped and counted', () => {
  const c = client();
  c.submit(new Uint8Array([1]));
  c.handle({ kind: 'reply', from: 2, bytes: reply(1, 1n, 'x') }); // claims 1, arrived from 2
  const forged = decodeMessage(reply(1, 1n, 'x')) as ReplyMsg;
  c.handle({ kind: 'reply', from: 1, bytes: encodeMessage({ ...forged, result: new TextEncoder().encode('y') }) });
  c.handle({ kind: 'reply', from: 1, bytes: Uint8Array.of(1, 2) });
  c.handle({ kind: 'reply', from: 1, bytes: reply(1, 1n, 'x', 0n, 'bob') });
  const m = c.metrics();
  assert.equal(m.dropped['wrong-sender'], 1);
  assert.equal(m.dropped['bad-signature'], 1);
  assert.equal(m.dropped.malformed, 1);
  assert.equal(m.dropped.unexpected, 1);
  assert.equal(c.outstandingCount, 1);
});

test('client: retransmits to all with back-off and learns the view from matching replies', () => {
  const c = client();
  c.submit(new Uint8Array([1]));
  const r1 = c.handle({ kind: 'timer', requestId: 1n });
  assert.ok(r1.some((o) => o.kind === 'send' && o.to === 'all'));
  assert.ok(r1.some((o) => o.kind === 'set-timer' && o.afterMs === 200));
  const r2 = c.handle({ kind: 'timer', requestId: 1n });
  assert.ok(r2.some((o) => o.kind === 'set-timer' && o.afterMs === 400));
  c.handle({ kind: 'reply', from: 1, bytes: reply(1, 1n, 'ok', 6n) });
  c.handle({ kind: 'reply', from: 2, bytes: reply(2, 1n, 'ok', 5n) });
  assert.equal(c.currentView, 5n, 'the lower of the f+1 matching views');
  const { outputs } = c.submit(new Uint8Array([2]));
  assert.ok(outputs.some((o) => o.kind === 'send' && o.to === 1), 'now sends to primary 5 mod 4 = 1');
  assert.deepEqual(c.handle({ kind: 'timer', requestId: 1n }), [], 'timer of a completed request is a no-op');
});

test('client: many outstanding requests, bounded by the client window', () => {
  const c = client(3);
  const ids = [c.submit(new Uint8Array([1])).requestId, c.submit(new Uint8Array([2])).requestId, c.submit(new Uint8Array([3])).requestId];
  assert.deepEqual(ids, [1n, 2n, 3n]);
  assert.equal(c.canSubmit(), false);
  assert.throws(() => c.submit(new Uint8Array([4])), ClientBusyError);
  // Completing a later request does not free the window (ids must stay within W of the oldest).
  c.handle({ kind: 'reply', from: 1, bytes: reply(1, 3n, 'r') });
  c.handle({ kind: 'reply', from: 2, bytes: reply(2, 3n, 'r') });
  assert.equal(c.canSubmit(), false);
  c.handle({ kind: 'reply', from: 1, bytes: reply(1, 1n, 'r') });
  c.handle({ kind: 'reply', from: 2, bytes: reply(2, 1n, 'r') });
  assert.equal(c.canSubmit(), true);
  assert.equal(c.submit(new Uint8Array([4])).requestId, 4n);
});

test('ed25519: authenticator accepts own signatures, rejects other signers and tampering', () => {
  const keys = [0, 1].map((i) => ed25519FromSeed(new Uint8Array(32).fill(i + 1)));
  const a0 = new Ed25519Authenticator({ privateKey: keys[0]!.privateKey, replicaKeys: keys.map((k) => k.publicKey) });
  const msg = new TextEncoder().encode('prepare');
  const sig = a0.sign(msg);
  assert.equal(sig.length, 64);
  assert.equal(a0.verify(0, msg, sig), true);
  assert.equal(a0.verify(1, msg, sig), false, 'wrong signer');
  assert.equal(a0.verify(0, new TextEncoder().encode('prepar3'), sig), false, 'tampered');
  assert.equal(a0.verify(7, msg, sig), false, 'unknown replica');
  assert.equal(a0.verify(0, msg, sig.subarray(1)), false, 'short signature');
  assert.equal(a0.verifyClient('nobody', msg, sig), false, 'unknown clients rejected by default');
});

test('pbft simulation with real Ed25519 signatures: equivocating primary replaced, all requests complete', () => {
  const r = runPbftSimulation({
    seed: 3,
    authenticator: 'ed25519',
    byzantine: { replica: 0, behaviour: 'equivocate' },
    clients: 3,
    outstandingPerClient: 8,
    requestsPerClient: 10,
  });
  assert.ok(r.ok, r.failure);
  assert.ok(r.replicas.slice(1).every((m) => m.view > 0n), 'view changed');
});
