import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateIdentityKeyPair, importIdentityPrivateKey, importIdentityPublicKey } from '../../src/net/index.ts';
import { InitiatorHandshake, ResponderHandshake, type HandshakeStep } from '../../src/net/handshake-machine.ts';
import { openData, sealData } from '../../src/net/handshake.ts';

const ids = [0, 1, 2].map(() => generateIdentityKeyPair());
const priv = ids.map((k) => importIdentityPrivateKey(k.privateKey));
const pub = ids.map((k) => importIdentityPublicKey(k.publicKey));

function sent(steps: HandshakeStep[]): Buffer {
  const s = steps.find((x) => x.kind === 'send');
  assert.ok(s && s.kind === 'send', `expected a send, got ${JSON.stringify(steps.map((x) => x.kind))}`);
  return s.frame;
}
const responder = (self: number): ResponderHandshake => new ResponderHandshake(self, priv[self]!, (id) => (id < self ? pub[id] : undefined));

test('handshake: both sides derive matching directional keys; data MACs check across, not back', () => {
  const i = new InitiatorHandshake(0, { id: 1, key: pub[1]! }, priv[0]!);
  const r = responder(1);
  const reply = sent(r.onFrame(sent(i.start())));
  const iSteps = i.onFrame(reply);
  const iEst = iSteps.find((x) => x.kind === 'established');
  const rEst = r.onFrame(sent(iSteps)).find((x) => x.kind === 'established');
  assert.ok(iEst?.kind === 'established' && rEst?.kind === 'established');
  assert.equal(iEst.peer, 1);
  assert.equal(rEst.peer, 0);
  assert.deepEqual(iEst.keys.send, rEst.keys.receive);
  assert.deepEqual(iEst.keys.receive, rEst.keys.send);
  assert.notDeepEqual(iEst.keys.send, iEst.keys.receive);
  const frame = sealData(iEst.keys.send, 1n, Buffer.from('x'));
  assert.equal(openData(rEst.keys.receive, frame).ok, true);
  assert.deepEqual(openData(iEst.keys.receive, frame), { ok: false, reason: 'bad-mac' }); // reflected back
});

test('handshake: a recorded REPLY does not complete a new handshake (fresh nonce) and wrong keys fail', () => {
  const i1 = new InitiatorHandshake(0, { id: 1, key: pub[1]! }, priv[0]!);
  const reply1 = sent(responder(1).onFrame(sent(i1.start())));
  const i2 = new InitiatorHandshake(0, { id: 1, key: pub[1]! }, priv[0]!);
  i2.start();
  assert.deepEqual(i2.onFrame(reply1).map((s) => s.kind === 'fail' && s.reason), ['bad-signature']);
  // initiator expects replica 1 but replica 2 answers (its own key, its own id)
  const i3 = new InitiatorHandshake(0, { id: 1, key: pub[1]! }, priv[0]!);
  const hello3 = sent(i3.start());
  const r2 = new ResponderHandshake(2, priv[2]!, (id) => (id < 2 ? pub[id] : undefined));
  assert.deepEqual(r2.onFrame(hello3).map((s) => s.kind === 'fail' && s.reason), ['misrouted']);
  // a FINISH signed with a key that is not replica 0's
  const i4 = new InitiatorHandshake(0, { id: 1, key: pub[1]! }, priv[2]!);
  const r4 = responder(1);
  const fin = sent(i4.onFrame(sent(r4.onFrame(sent(i4.start())))));
  assert.deepEqual(r4.onFrame(fin).map((s) => s.kind === 'fail' && s.reason), ['bad-signature']);
  // a higher id may not dial a lower one
  const i5 = new InitiatorHandshake(2, { id: 1, key: pub[1]! }, priv[2]!);
  assert.deepEqual(responder(1).onFrame(sent(i5.start())).map((s) => s.kind === 'fail' && s.reason), ['unknown-peer']);
  // truncated or extra frames
  assert.deepEqual(responder(1).onFrame(Buffer.alloc(10)).map((s) => s.kind === 'fail' && s.reason), ['malformed']);
});
