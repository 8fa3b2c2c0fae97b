/**
 * CryptoService: the same results in-thread (workers: 0) and on piscina worker threads (the
 * worker really runs on another thread), typed errors rebuilt across the thread boundary,
 * the optimistic combineAndVerify path, batching, clean shutdown, and the native blst backend
 * (the default) loading in worker threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import {
  createCryptoService,
  dealKeySets,
  DuplicateSignerError,
  InfinityPointError,
  InsufficientSharesError,
  loadThresholdBls,
} from '../../src/crypto/index.ts';
import { enc, hex, infinity } from './helpers.ts';

const { publicKeySets, shares } = dealKeySets(4, [{ name: 'ordered', threshold: 2 }]);
const ks = publicKeySets[0]!;
const msg = enc('ordered result');

for (const workers of [0, 2]) {
  test(`crypto service with ${workers} worker thread(s)`, async (t) => {
    const svc = await createCryptoService({ workers, backend: 'mcl' });
    t.after(() => svc.close());
    const ping = await svc.ping();
    assert.equal(ping.backend, 'mcl');
    if (workers === 0) assert.equal(ping.threadId, threadId);
    else assert.notEqual(ping.threadId, threadId, 'runs on a worker thread');

    const sigShares = await Promise.all([1, 2, 3, 4].map((i) => svc.signShare(shares[i - 1]![0]!, 'ordered-reply', msg)));
    assert.deepEqual(sigShares.map((s) => s.index), [1, 2, 3, 4]);
    assert.deepEqual(await Promise.all(sigShares.map((s) => svc.verifyShare(ks, 'ordered-reply', msg, s))), [true, true, true, true]);
    const sig = await svc.combine(ks, sigShares.slice(0, 2));
    const local = await loadThresholdBls('mcl');
    assert.equal(hex(sig), hex(local.combine(ks, sigShares.slice(2))), 'same bytes as in-thread, other subset');
    assert.equal(await svc.verify(ks.groupPublicKey, 'ordered-reply', msg, sig), true);
    assert.equal(await svc.verify(ks.groupPublicKey, 'ordered-reply', enc('x'), sig), false);
    assert.equal(await svc.batchVerify([{ publicKey: ks.groupPublicKey, domain: 'ordered-reply', message: msg, signature: sig }]), true);

    // typed errors survive the thread boundary
    await assert.rejects(svc.combine(ks, [sigShares[0]!, sigShares[0]!]), DuplicateSignerError);
    await assert.rejects(svc.combine(ks, [sigShares[0]!]), InsufficientSharesError);
    await assert.rejects(svc.combine(ks, [{ index: 1, signature: infinity(48) }, sigShares[1]!]), InfinityPointError);

    // optimistic path: a bad share is detected, excluded, and the signature still produced
    const forged = { index: 1, signature: sigShares[3]!.signature };
    const r = await svc.combineAndVerify(ks, 'ordered-reply', msg, [forged, sigShares[1]!, sigShares[2]!]);
    assert.ok('signature' in r, JSON.stringify(r));
    assert.deepEqual(r.badShares, [1]);
    assert.equal(hex(r.signature), hex(sig));
    const fast = await svc.combineAndVerify(ks, 'ordered-reply', msg, sigShares.slice(0, 2));
    assert.ok('signature' in fast && fast.badShares.length === 0);
    const tooFew = await svc.combineAndVerify(ks, 'ordered-reply', msg, [forged, sigShares[1]!]);
    assert.ok('error' in tooFew && tooFew.error === 'insufficient-valid-shares');
    assert.deepEqual(tooFew.badShares, [1]);
    assert.deepEqual(await svc.findBadShares(ks, 'ordered-reply', msg, [forged, sigShares[1]!]), [1]);

    // several operations in one round trip
    const many = await svc.many([
      { op: 'verify', groupPublicKey: ks.groupPublicKey, domain: 'ordered-reply', message: msg, signature: sig },
      { op: 'combine', keySet: ks, shares: [sigShares[0]!] },
    ]);
    assert.equal(many[0], true);
    assert.ok(many[1] instanceof InsufficientSharesError);

    await svc.close();
    await svc.close(); // idempotent
    await assert.rejects(svc.verify(ks.groupPublicKey, 'ordered-reply', msg, sig), /closed/);
  });
}

test('worker service with the noble backend and an unknown backend', async (t) => {
  const svc = await createCryptoService({ workers: 1, backend: 'noble' });
  t.after(() => svc.close());
  assert.equal((await svc.ping()).backend, 'noble');
  const s = await svc.signShare(shares[0]![0]!, 'ordered-reply', msg);
  assert.equal(await svc.verifyShare(ks, 'ordered-reply', msg, s), true);
  await svc.close();
  await assert.rejects(createCryptoService({ workers: 1, backend: 'nope' }), (e: Error) => e.name === 'BackendError');
});

test('default backend (native blst) on 2 worker threads: loads in every thread, same bytes as mcl in-thread', async (t) => {
  const svc = await createCryptoService({ workers: 2 });
  t.after(() => svc.close());
  assert.equal(svc.backend, 'blst', 'no fallback to mcl on this platform');
  // both threads serve (and report blst): run enough pings concurrently that both get work
  const pings = await Promise.all(Array.from({ length: 8 }, () => svc.ping()));
  assert.ok(pings.every((p) => p.backend === 'blst' && p.threadId !== threadId));
  const sigShares = await Promise.all([1, 2, 3, 4].map((i) => svc.signShare(shares[i - 1]![0]!, 'ordered-reply', msg)));
  const mcl = await loadThresholdBls('mcl');
  assert.deepEqual(sigShares.map((s) => hex(s.signature)), [1, 2, 3, 4].map((i) => hex(mcl.signShare(shares[i - 1]![0]!, 'ordered-reply', msg).signature)));
  const sig = await svc.combine(ks, [sigShares[3]!, sigShares[0]!]);
  assert.equal(hex(sig), hex(mcl.combine(ks, sigShares.slice(1, 3))));
  assert.equal(await svc.verify(ks.groupPublicKey, 'ordered-reply', msg, sig), true);
  assert.equal(mcl.verify(ks.groupPublicKey, 'ordered-reply', msg, sig), true);
  const forged = { index: 2, signature: sigShares[3]!.signature };
  const r = await svc.combineAndVerify(ks, 'ordered-reply', msg, [sigShares[0]!, forged, sigShares[2]!]);
  assert.ok('signature' in r && hex(r.signature) === hex(sig));
  assert.deepEqual(r.badShares, [2]);
  await assert.rejects(svc.combine(ks, [{ index: 1, signature: infinity(48) }, sigShares[1]!]), InfinityPointError);
});
