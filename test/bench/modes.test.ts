import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byzantineFlags } from '../../src/bench/cart/targets.ts';
import { BENCH_MODES, BenchModeError, modeSpec, parseClientCounts, parseConsensusList, parseModes, runPlan } from '../../src/bench/cart/modes.ts';

test('parseModes keeps order, drops duplicates, rejects unknown names', () => {
  assert.deepEqual(parseModes('native, cart-all,native'), ['native', 'cart-all']);
  assert.throws(() => parseModes('native,cart-fast'), BenchModeError);
  assert.throws(() => parseModes(' , '), BenchModeError);
});

test('mode specs: cart-none has everything off, each cart-X exactly one switch, cart-all everything on', () => {
  const none = modeSpec('cart-none');
  assert.deepEqual(none.tuning, { batchSignatures: false, tentative: false, readOnly: false, cryptoWorkers: 0, contactHints: false, readOnlyBusyThreshold: 1 });
  assert.equal(none.readOnlyInvocations, false);
  assert.equal(none.clientBatchVerification, false);
  const on = (m: (typeof BENCH_MODES)[number]): string[] => {
    const s = modeSpec(m);
    return [
      ...(s.tuning.batchSignatures ? ['batch'] : []),
      ...(s.tuning.tentative ? ['tentative'] : []),
      ...(s.tuning.readOnly ? ['readonly'] : []),
      ...(s.tuning.cryptoWorkers !== 0 ? ['workers'] : []),
      ...(s.tuning.contactHints ? ['leader'] : []),
    ];
  };
  assert.deepEqual(on('cart-batch'), ['batch']);
  assert.deepEqual(on('cart-tentative'), ['tentative']);
  assert.deepEqual(on('cart-readonly'), ['readonly']);
  assert.deepEqual(on('cart-workers'), ['workers']);
  assert.deepEqual(on('cart-leader'), ['leader']);
  assert.deepEqual(on('cart-all'), ['batch', 'tentative', 'readonly', 'workers', 'leader']);
  assert.deepEqual(on('cart-all-ordered-reads'), ['batch', 'tentative', 'workers', 'leader']);
  // reads go through invokeReadOnly exactly when the replicas serve the read-only path
  for (const m of BENCH_MODES) assert.equal(modeSpec(m).readOnlyInvocations, modeSpec(m).tuning.readOnly, m);
  assert.equal(modeSpec('native').kind, 'native');
  assert.equal(modeSpec('cart-all-byzantine').byzantineBadShares, true);
  assert.equal(modeSpec('cart-all').byzantineBadShares, false);
});

test('parseClientCounts sorts and dedups; rejects zero, fractions and junk', () => {
  assert.deepEqual(parseClientCounts('50,1,10,10'), [1, 10, 50]);
  assert.deepEqual(parseClientCounts('8'), [8]);
  for (const bad of ['0', '1.5', 'x', '', '2000']) assert.throws(() => parseClientCounts(bad), BenchModeError, bad);
});

test('parseConsensusList and runPlan: native only under pbft and bftsmart (etcd has no BFT client)', () => {
  assert.deepEqual(parseConsensusList('pbft,etcd'), ['pbft', 'etcd']);
  assert.deepEqual(parseConsensusList('bftsmart, pbft,bftsmart'), ['bftsmart', 'pbft']);
  assert.throws(() => parseConsensusList('raft'), BenchModeError);
  assert.deepEqual(runPlan(['pbft', 'etcd'], ['native', 'cart-all']), [
    { consensus: 'pbft', mode: 'native' },
    { consensus: 'pbft', mode: 'cart-all' },
    { consensus: 'etcd', mode: 'cart-all' },
  ]);
  assert.deepEqual(runPlan(['etcd'], ['native']), []);
  assert.deepEqual(runPlan(['pbft', 'etcd', 'bftsmart'], ['native', 'cart-none']), [
    { consensus: 'pbft', mode: 'native' },
    { consensus: 'pbft', mode: 'cart-none' },
    { consensus: 'etcd', mode: 'cart-none' },
    { consensus: 'bftsmart', mode: 'native' },
    { consensus: 'bftsmart', mode: 'cart-none' },
  ]);
});

test('byzantineFlags: only the Byzantine mode, replica n, bad shares for the given fraction of batches', () => {
  assert.deepEqual([...byzantineFlags(modeSpec('cart-all'), 4, 0.1)], []);
  assert.deepEqual([...byzantineFlags(modeSpec('cart-all-byzantine'), 4)], [[4, ['bad-shares']]]);
  assert.deepEqual([...byzantineFlags(modeSpec('cart-all-byzantine'), 7, 0.1)], [[7, ['bad-shares', 'bad-share-fraction=0.1']]]);
  for (const bad of [0, 1.01, Number.NaN]) assert.throws(() => byzantineFlags(modeSpec('cart-all-byzantine'), 4, bad), RangeError);
});
