/**
 * VIEW-CHANGE / NEW-VIEW validation at a replica (Castro & Liskov TOCS 2002 §4.4): a correct
 * NEW-VIEW re-proposes the prepared batch; forged ones (wrong O, too few VIEW-CHANGEs, bad
 * prepared certificate, wrong sender) are dropped as bad certificates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PbftReplica } from '../../src/consensus/pbft/replica.ts';
import { SimAuthenticator } from '../../src/consensus/pbft/auth.ts';
import { batchDigest, decodeMessage, encodeMessage, signedBytes } from '../../src/consensus/pbft/codec.ts';
import type { NewViewMsg, PrePrepareMsg, PrepareMsg, PreparedCert, RequestMsg, ViewChangeMsg } from '../../src/consensus/pbft/messages.ts';
import { HashChainApp, simConfig } from '../../src/consensus/pbft/simulation.ts';

const SEED = 'vc';
const auth = (r: number): SimAuthenticator => new SimAuthenticator(SEED, r, 4);
const sign = <T extends { sig: Uint8Array }>(r: number, m: T): T => ({ ...m, sig: auth(r).sign(signedBytes(m as never)) });

function request(id: bigint): RequestMsg {
  const m: RequestMsg = { type: 'request', clientId: 'c', requestId: id, payload: Uint8Array.of(Number(id)), sig: new Uint8Array() };
  return { ...m, sig: SimAuthenticator.clientSigner(SEED, 'c').sign(signedBytes(m)) };
}
const pp = (signer: number, view: bigint, seq: bigint, batch: RequestMsg[]): PrePrepareMsg =>
  sign(signer, { type: 'pre-prepare', view, seq, digest: batchDigest(batch), replica: signer, sig: new Uint8Array(), batch });
const prep = (r: number, view: bigint, seq: bigint, digest: Uint8Array): PrepareMsg =>
  sign(r, { type: 'prepare', view, seq, digest, replica: r, sig: new Uint8Array() });

const B = [request(1n), request(2n)];
/** Prepared in view 0 at seq 1: PRE-PREPARE by primary 0, PREPAREs by 2 and 3. */
const cert: PreparedCert = { prePrepare: pp(0, 0n, 1n, B), prepares: [prep(2, 0n, 1n, batchDigest(B)), prep(3, 0n, 1n, batchDigest(B))] };
const vc = (r: number, prepared: PreparedCert[] = []): ViewChangeMsg =>
  sign(r, { type: 'view-change', newView: 1n, replica: r, stableSeq: 0n, checkpointProof: [], prepared, sig: new Uint8Array() });
const nv = (signer: number, viewChanges: ViewChangeMsg[], prePrepares: PrePrepareMsg[]): NewViewMsg =>
  sign(signer, { type: 'new-view', view: 1n, replica: signer, viewChanges, prePrepares, sig: new Uint8Array() });

function receiver() {
  const rep = new PbftReplica(3, simConfig(1), new HashChainApp(), auth(3));
  rep.start();
  return rep;
}
const deliver = (rep: PbftReplica, from: number, m: NewViewMsg) => rep.handle({ kind: 'message', from, bytes: encodeMessage(m) });

test('NEW-VIEW: the prepared batch is re-proposed and accepted (also when relayed)', () => {
  const rep = receiver();
  const good = nv(1, [vc(0, [cert]), vc(1), vc(2)], [pp(1, 1n, 1n, B)]);
  const out = deliver(rep, 2, good); // relayed by replica 2
  assert.ok(out.some((o) => o.kind === 'view-change' && o.view === 1n), 'entered view 1');
  const prepares = out.filter((o) => o.kind === 'send').map((o) => decodeMessage((o as { bytes: Uint8Array }).bytes)).filter((m) => m.type === 'prepare');
  assert.equal(prepares.length, 1);
  assert.equal((prepares[0] as PrepareMsg).seq, 1n);
  assert.deepEqual((prepares[0] as PrepareMsg).digest, batchDigest(B));
  assert.equal(rep.metrics().view, 1n);
});

test('NEW-VIEW: forged variants are dropped as bad certificates', () => {
  const cases: [string, NewViewMsg][] = [
    ['O drops the prepared batch (null request instead)', nv(1, [vc(0, [cert]), vc(1), vc(2)], [pp(1, 1n, 1n, [])])],
    ['O re-orders the batch', nv(1, [vc(0, [cert]), vc(1), vc(2)], [pp(1, 1n, 1n, [...B].reverse())])],
    ['only 2f VIEW-CHANGEs', nv(1, [vc(0, [cert]), vc(1)], [pp(1, 1n, 1n, B)])],
    ['duplicate VIEW-CHANGE sender', nv(1, [vc(0, [cert]), vc(0, [cert]), vc(1)], [pp(1, 1n, 1n, B)])],
    ['not from the primary of view 1', nv(2, [vc(0, [cert]), vc(1), vc(2)], [pp(2, 1n, 1n, B)])],
    [
      'prepared certificate with a single PREPARE',
      nv(1, [vc(0, [{ prePrepare: cert.prePrepare, prepares: [cert.prepares[0]!] }]), vc(1), vc(2)], [pp(1, 1n, 1n, B)]),
    ],
    [
      'prepared certificate whose PRE-PREPARE is not by the old primary',
      nv(1, [vc(0, [{ prePrepare: pp(2, 0n, 1n, B), prepares: cert.prepares }]), vc(1), vc(2)], [pp(1, 1n, 1n, B)]),
    ],
    ['tampered VIEW-CHANGE signature', nv(1, [{ ...vc(0, [cert]), stableSeq: 0n, sig: new Uint8Array(16) }, vc(1), vc(2)], [pp(1, 1n, 1n, B)])],
  ];
  for (const [name, m] of cases) {
    const rep = receiver();
    const out = deliver(rep, 1, m);
    assert.equal(rep.metrics().dropped['bad-certificate'], 1, name);
    assert.ok(!out.some((o) => o.kind === 'view-change'), `${name}: view not entered`);
    assert.equal(rep.metrics().view, 0n, name);
  }
});

test('VIEW-CHANGE: f+1 from others make a replica join; invalid ones are dropped', () => {
  const rep = receiver();
  rep.handle({ kind: 'message', from: 0, bytes: encodeMessage({ ...vc(0), sig: new Uint8Array(16) }) });
  assert.equal(rep.metrics().dropped['bad-certificate'], 1);
  rep.handle({ kind: 'message', from: 0, bytes: encodeMessage(vc(0, [cert])) });
  assert.equal(rep.metrics().view, 0n, 'one VIEW-CHANGE is not enough');
  const out = rep.handle({ kind: 'message', from: 2, bytes: encodeMessage(vc(2)) });
  assert.equal(rep.metrics().view, 1n, 'f+1 = 2 VIEW-CHANGEs: joined');
  const sent = out.filter((o) => o.kind === 'send').map((o) => decodeMessage((o as { bytes: Uint8Array }).bytes));
  assert.ok(sent.some((m) => m.type === 'view-change' && m.newView === 1n && m.replica === 3));
  assert.ok(out.some((o) => o.kind === 'set-timer' && o.timer === 'view-change'), '2f+1 want view 1: view-change timer armed');
});
