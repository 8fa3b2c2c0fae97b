/**
 * The cheap-authentication paths of the PBFT core (docs/performance.md): requests of a client
 * co-located with a replica ("home replica") relayed over that replica's authenticated link,
 * home-only unsigned replies, lazy PREPARE signature checks — and that each still rejects what
 * it must (forged relays, bad PREPARE signatures). Plus the co-located {@link LocalPbftClient}.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PbftReplica } from '../../src/consensus/pbft/replica.ts';
import { SimAuthenticator } from '../../src/consensus/pbft/auth.ts';
import { batchDigest, decodeMessage, encodeMessage, signedBytes } from '../../src/consensus/pbft/codec.ts';
import type { CommitMsg, PbftMessage, PrePrepareMsg, PrepareMsg, RequestMsg } from '../../src/consensus/pbft/messages.ts';
import type { Authenticator, ReplicaOutput } from '../../src/consensus/pbft/api.ts';
import { HashChainApp, simConfig } from '../../src/consensus/pbft/simulation.ts';
import { LocalPbftClient, LocalPbftClientError } from '../../src/consensus/pbft/local-client.ts';
import { cartClientHome } from '../../src/consensus/pbft/adapter.ts';
import type { Clock } from '../../src/consensus/pbft/node.ts';

const SEED = 'fast';
const enc = (m: PbftMessage): Uint8Array => encodeMessage(m);

/** SimAuthenticator + clientHome for ids `home<r>/…`, counting signature checks. */
class CountingAuth implements Authenticator {
  verifies = 0;
  clientVerifies = 0;
  signs = 0;
  private readonly inner: SimAuthenticator;
  constructor(self: number) {
    this.inner = new SimAuthenticator(SEED, self, 4);
  }
  sign(b: Uint8Array): Uint8Array {
    this.signs++;
    return this.inner.sign(b);
  }
  verify(r: number, b: Uint8Array, s: Uint8Array): boolean {
    this.verifies++;
    return this.inner.verify(r, b, s);
  }
  verifyClient(c: string, b: Uint8Array, s: Uint8Array): boolean {
    this.clientVerifies++;
    return this.inner.verifyClient(c, b, s);
  }
  clientHome(c: string): number | undefined {
    const m = /^home(\d)\//.exec(c);
    return m ? Number(m[1]) : undefined;
  }
}

function request(clientId: string, requestId: bigint, text: string, validSig = true): RequestMsg {
  const m: RequestMsg = { type: 'request', clientId, requestId, payload: new TextEncoder().encode(text), sig: new Uint8Array() };
  const sig = SimAuthenticator.clientSigner(SEED, clientId).sign(signedBytes(m));
  if (!validSig) sig[0]! ^= 1;
  return { ...m, sig };
}
function prePrepare(seq: bigint, batch: RequestMsg[]): PrePrepareMsg {
  const m: PrePrepareMsg = { type: 'pre-prepare', view: 0n, seq, digest: batchDigest(batch), replica: 0, sig: new Uint8Array(), batch };
  return { ...m, sig: new SimAuthenticator(SEED, 0, 4).sign(signedBytes(m)) };
}
function prepare(seq: bigint, digest: Uint8Array, r: number, validSig = true): PrepareMsg {
  const m: PrepareMsg = { type: 'prepare', view: 0n, seq, digest, replica: r, sig: new Uint8Array() };
  const sig = new SimAuthenticator(SEED, r, 4).sign(signedBytes(m));
  if (!validSig) sig[0]! ^= 1;
  return { ...m, sig };
}
const commit = (seq: bigint, digest: Uint8Array, r: number): CommitMsg => ({ type: 'commit', view: 0n, seq, digest, replica: r });

function replica(id: number) {
  const executed: string[] = [];
  const app = new HashChainApp((_seq, payloads) => executed.push(...payloads.map((p) => new TextDecoder().decode(p))));
  const auth = new CountingAuth(id);
  const rep = new PbftReplica(id, simConfig(1), app, auth);
  rep.start();
  return { rep, auth, executed };
}
const sends = (out: readonly ReplicaOutput[], type: string) => out.filter((o) => o.kind === 'send' && decodeMessage(o.bytes).type === type);
const repliesOf = (out: readonly ReplicaOutput[]) => out.flatMap((o) => (o.kind === 'reply' ? [decodeMessage(o.bytes)] : []));

test('home client: a request relayed by its home replica skips the client signature; by another replica it does not', () => {
  const { rep, auth } = replica(0); // the primary in view 0
  // relayed by replica 2 = its home: accepted without a signature check, proposed
  const out = rep.handle({ kind: 'message', from: 2, bytes: enc(request('home2/x', 1n, 'a', false)) });
  assert.equal(auth.clientVerifies, 0);
  assert.equal(sends(out, 'pre-prepare').length, 1, 'primary proposed the home-relayed request');
  // the same kind of forged request relayed by replica 3 (not its home): checked and dropped
  const out2 = rep.handle({ kind: 'message', from: 3, bytes: enc(request('home2/x', 2n, 'b', false)) });
  assert.equal(auth.clientVerifies, 1);
  assert.equal(sends(out2, 'pre-prepare').length, 0);
  assert.equal(rep.metrics().dropped['bad-signature'], 1);
  // from a client connection (not local): checked and dropped
  rep.handle({ kind: 'request', bytes: enc(request('home0/y', 1n, 'c', false)) });
  assert.equal(rep.metrics().dropped['bad-signature'], 2);
  // the same from the in-process home client: accepted
  assert.equal(auth.clientVerifies, 2);
  rep.handle({ kind: 'request', bytes: enc(request('home0/y', 1n, 'c', false)), local: true });
  assert.equal(auth.clientVerifies, 2, 'in-process request of a home client: not checked');
  assert.equal(rep.metrics().dropped['bad-signature'], 2, 'and accepted');
  assert.equal(rep.metrics().pendingRequests, 2, 'home2/x#1 and home0/y#1 pending');
});

test('home client: requests inside a PRE-PREPARE are still signature-checked unless received from the home link', () => {
  const { rep, auth } = replica(1);
  const forged = request('home2/x', 1n, 'a', false);
  rep.handle({ kind: 'message', from: 0, bytes: enc(prePrepare(1n, [forged])) });
  assert.equal(auth.clientVerifies, 1, 'unknown request in a PRE-PREPARE is checked');
  assert.equal(rep.metrics().dropped['bad-signature'], 1, 'forged request in the batch: PRE-PREPARE refused');
  // once the home replica relayed it, the byte-identical request in a PRE-PREPARE is accepted unchecked
  const { rep: rep2, auth: auth2 } = replica(1);
  rep2.handle({ kind: 'message', from: 2, bytes: enc(request('home2/x', 1n, 'a')) });
  const out = rep2.handle({ kind: 'message', from: 0, bytes: enc(prePrepare(1n, [request('home2/x', 1n, 'a')])) });
  assert.equal(auth2.clientVerifies, 0);
  assert.equal(sends(out, 'prepare').length, 1);
});

test('home client: only the home replica replies, unsigned; ordinary clients get signed replies from all', () => {
  for (const id of [1, 2]) {
    const { rep, auth } = replica(id);
    const batch = [request('home2/x', 1n, 'a'), request('plain', 1n, 'b')];
    const pp = prePrepare(1n, batch);
    const out: ReplicaOutput[] = [];
    out.push(...rep.handle({ kind: 'message', from: 0, bytes: enc(pp) }));
    const other = id === 1 ? 2 : 1;
    out.push(...rep.handle({ kind: 'message', from: other, bytes: enc(prepare(1n, pp.digest, other)) }));
    const signsBefore = auth.signs;
    out.push(...rep.handle({ kind: 'message', from: 0, bytes: enc(commit(1n, pp.digest, 0)) }));
    out.push(...rep.handle({ kind: 'message', from: other, bytes: enc(commit(1n, pp.digest, other)) }));
    const rs = repliesOf(out);
    const ids = rs.map((m) => (m.type === 'reply' ? m.clientId : '?')).sort();
    if (id === 2) {
      assert.deepEqual(ids, ['home2/x', 'plain']);
      const home = rs.find((m) => m.type === 'reply' && m.clientId === 'home2/x');
      assert.ok(home && home.type === 'reply' && home.sig.length === 0, 'unsigned reply to the home client');
      assert.equal(auth.signs - signsBefore, 1, 'only the ordinary reply was signed');
    } else {
      assert.deepEqual(ids, ['plain'], 'no reply to another replica’s home client');
    }
  }
});

test('lazy PREPARE checks: only as many signatures as the certificate needs; a bad one is dropped, never counted', () => {
  // primary (replica 0) needs 2f = 2 PREPAREs: the third is never verified
  {
    const { rep, auth } = replica(0);
    const out = rep.handle({ kind: 'request', bytes: enc(request('plain', 1n, 'a')) });
    const sent = sends(out, 'pre-prepare')[0] as { bytes: Uint8Array };
    const pp = decodeMessage(sent.bytes) as PrePrepareMsg;
    const before = auth.verifies;
    rep.handle({ kind: 'message', from: 1, bytes: enc(prepare(1n, pp.digest, 1)) });
    assert.equal(auth.verifies, before, 'one PREPARE is not enough: nothing verified yet');
    const o2 = rep.handle({ kind: 'message', from: 2, bytes: enc(prepare(1n, pp.digest, 2)) });
    assert.equal(auth.verifies, before + 2);
    assert.equal(sends(o2, 'commit').length, 1, 'prepared: COMMIT sent');
    rep.handle({ kind: 'message', from: 3, bytes: enc(prepare(1n, pp.digest, 3)) });
    assert.equal(auth.verifies, before + 2, 'the surplus PREPARE is never verified');
  }
  // backup 1: a bad PREPARE from 2 is dropped at the check; a good one from 3 completes the certificate
  {
    const { rep } = replica(1);
    const batch = [request('plain', 1n, 'a')];
    const pp = prePrepare(1n, batch);
    rep.handle({ kind: 'message', from: 0, bytes: enc(pp) });
    const o1 = rep.handle({ kind: 'message', from: 2, bytes: enc(prepare(1n, pp.digest, 2, false)) });
    assert.equal(sends(o1, 'commit').length, 0, 'a badly signed PREPARE does not make the slot prepared');
    assert.equal(rep.metrics().dropped['bad-signature'], 1);
    // replica 2 may send a correct PREPARE later (its bad one was discarded)
    const o2 = rep.handle({ kind: 'message', from: 3, bytes: enc(prepare(1n, pp.digest, 3)) });
    assert.equal(sends(o2, 'commit').length, 1, 'prepared with own + replica 3');
  }
});

test('cartClientHome: parses adapter client ids, rejects others', () => {
  assert.equal(cartClientHome('cart/0/abcd', 4), 0);
  assert.equal(cartClientHome('cart/3/x', 4), 3);
  assert.equal(cartClientHome('cart/4/x', 4), undefined);
  assert.equal(cartClientHome('cart/1', 4), undefined);
  assert.equal(cartClientHome('xcart/1/a', 4), undefined);
  assert.equal(cartClientHome('plain', 4), undefined);
});

/** A manual clock for the local client. */
function manualClock() {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  const clock: Clock = {
    setTimeout: (fn, ms) => {
      const id = next++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (h) => void timers.delete(h as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, t] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at <= now && timers.has(id)) {
        timers.delete(id);
        t.fn();
      }
    }
  };
  return { clock, advance, pending: () => timers.size };
}

test('LocalPbftClient: sends to peers then home, completes on the home reply, retransmits, bounds outstanding, closes', async () => {
  const { clock, advance, pending } = manualClock();
  const log: string[] = [];
  const c = new LocalPbftClient({
    clientId: 'home0/t',
    signer: SimAuthenticator.clientSigner(SEED, 'home0/t'),
    clientWindow: 2,
    maxOutstanding: 10,
    retransmitTimeoutMs: 100,
    clock,
    toHome: (b) => log.push(`home:${(decodeMessage(b) as RequestMsg).requestId}`),
    toPeers: (b) => log.push(`peers:${(decodeMessage(b) as RequestMsg).requestId}`),
  });
  const p1 = c.invoke(new Uint8Array([1]));
  const p2 = c.invoke(new Uint8Array([2]));
  const p3 = c.invoke(new Uint8Array([3])); // queued: window of 2
  assert.deepEqual(log, ['peers:1', 'home:1', 'peers:2', 'home:2']);
  assert.equal(c.stats().queued, 1);
  advance(100);
  assert.deepEqual(log.slice(4), ['peers:1', 'home:1', 'peers:2', 'home:2'], 'retransmitted on timeout');
  const reply = (requestId: bigint, clientId = 'home0/t') =>
    encodeMessage({ type: 'reply', view: 0n, replica: 0, clientId, requestId, result: new Uint8Array([9]), sig: new Uint8Array() });
  c.onReply(reply(1n, 'someone-else'));
  c.onReply(new Uint8Array([1, 2, 3]));
  assert.equal(c.stats().repliesIgnored, 2);
  c.onReply(reply(1n));
  assert.deepEqual(await p1, new Uint8Array([9]));
  assert.deepEqual(log.slice(8), ['peers:3', 'home:3'], 'queued request dispatched when a slot freed');
  c.close();
  await assert.rejects(p2, LocalPbftClientError);
  await assert.rejects(p3, LocalPbftClientError);
  await assert.rejects(c.invoke(new Uint8Array([4])), LocalPbftClientError);
  assert.equal(pending(), 0, 'no timers left');
});

test('batchMinIntervalMs: after a partial batch the primary holds requests until the interval or a full batch', () => {
  const auth = new CountingAuth(0);
  const app = new HashChainApp(() => {});
  const rep = new PbftReplica(0, simConfig(1, { batchMinIntervalMs: 10, batchMaxSize: 3 }), app, auth);
  rep.start();
  const ppBatches = (out: readonly ReplicaOutput[]) => sends(out, 'pre-prepare').map((o) => (decodeMessage((o as { bytes: Uint8Array }).bytes) as PrePrepareMsg).batch.length);
  const first = rep.handle({ kind: 'request', bytes: enc(request('plain', 1n, 'a')) });
  assert.deepEqual(ppBatches(first), [1], 'idle primary proposes at once');
  assert.ok(first.some((o) => o.kind === 'set-timer' && o.timer === 'batch' && o.afterMs === 10), 'cool-down armed');
  assert.deepEqual(ppBatches(rep.handle({ kind: 'request', bytes: enc(request('plain', 2n, 'b')) })), [], 'held while cooling');
  assert.deepEqual(ppBatches(rep.handle({ kind: 'timer', timer: 'batch' })), [1], 'proposed when the interval ends');
  rep.handle({ kind: 'request', bytes: enc(request('plain', 3n, 'c')) });
  rep.handle({ kind: 'request', bytes: enc(request('plain', 4n, 'd')) });
  assert.deepEqual(ppBatches(rep.handle({ kind: 'request', bytes: enc(request('plain', 5n, 'e')) })), [3], 'a full batch goes at once');
  // off (0): the old rule — with nothing in flight, every request is proposed at once
  const rep0 = new PbftReplica(0, simConfig(1, { batchMaxDelayMs: 0 }), new HashChainApp(() => {}), new CountingAuth(0));
  rep0.start();
  assert.deepEqual(ppBatches(rep0.handle({ kind: 'request', bytes: enc(request('plain', 1n, 'a')) })), [1]);
  assert.deepEqual(ppBatches(rep0.handle({ kind: 'request', bytes: enc(request('plain', 2n, 'b')) })), [1]);
});

test('home client: its in-process request is not relayed to the primary by its home backup (the client broadcasts it)', () => {
  const { rep } = replica(2);
  const local = rep.handle({ kind: 'request', bytes: enc(request('home2/x', 1n, 'a')), local: true });
  assert.equal(sends(local, 'request').length, 0);
  assert.equal(rep.metrics().pendingRequests, 1, 'pending: request timer armed against a silent primary');
  assert.ok(local.some((o) => o.kind === 'set-timer' && o.timer === 'request'));
  // an ordinary client's request is relayed as before
  const plain = rep.handle({ kind: 'request', bytes: enc(request('plain', 1n, 'b')) });
  assert.equal(sends(plain, 'request').length, 1);
});
