import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCryptoService, dealKeySets } from '../../src/crypto/index.ts';
import { Aggregator, type AggregationState } from '../../src/replica/aggregator.ts';

const msg = new TextEncoder().encode('batch root message');

async function setup(t: import('node:test').TestContext) {
  const crypto = await createCryptoService({ workers: 0 });
  t.after(() => crypto.close());
  // n = 7, t = 3: room for two bad signers
  const { publicKeySets, shares } = dealKeySets(7, [{ name: 'ordered', threshold: 3 }]);
  const keySet = publicKeySets[0]!;
  const good = async (i: number, m = msg) => (await crypto.signShare(shares[i - 1]![0]!, 'batch-root', m)).signature;
  const bad = (i: number) => good(i, Uint8Array.of(...msg, 0xff));
  const state = (entries: Array<[number, Uint8Array]>, own = 7): AggregationState => ({
    sequence: 1n,
    message: msg,
    shares: new Map(entries),
    verified: new Set(entries.some(([i]) => i === own) ? [own] : []),
    bad: new Set(),
    attempts: 0,
    signature: undefined,
  });
  return { crypto, keySet, good, bad, state };
}

for (const tentative of [true, false]) {
  test(`aggregator (tentative ${tentative}): any t valid shares, not the first t; bad signers excluded and suspected`, async (t) => {
    const { crypto, keySet, good, bad, state } = await setup(t);
    const excluded: number[] = [];
    const agg = new Aggregator({ keySet, domain: 'batch-root', crypto, index: 7, tentative, suspicionGoodShares: 2, observer: { badShare: (s) => excluded.push(s) } });
    // signers 1 and 2 (the smallest indices, tried first) send bad shares
    const st = state([[1, await bad(1)], [2, await bad(2)], [3, await good(3)], [5, await good(5)], [7, await good(7)]]);
    assert.equal(await agg.combine(st), 'signed');
    assert.equal(await crypto.verify(keySet.groupPublicKey, 'batch-root', msg, st.signature!), true);
    assert.deepEqual(excluded.sort(), [1, 2]);
    assert.deepEqual([...st.bad].sort(), [1, 2]);
    assert.deepEqual(agg.suspectedSigners, [1, 2]);
    // too few valid shares: not signed, and says so
    const st2 = state([[1, await bad(1)], [3, await good(3)], [7, await good(7)]]);
    assert.notEqual(await agg.combine(st2), 'signed');
    assert.equal(st2.signature, undefined);
    // a suspected signer that behaves again is trusted after `suspicionGoodShares` valid shares
    for (let k = 0; k < 2; k++) {
      const s = state([[1, await good(1)], [2, await good(2)], [7, await good(7)]]);
      assert.equal(await agg.combine(s), 'signed');
      assert.ok(s.verified.has(1) && s.verified.has(2), 'suspected shares were checked individually');
    }
    assert.deepEqual(agg.suspectedSigners, []);
  });
}

test('aggregator: the same signature whichever valid t-subset is used (uniqueness of BLS)', async (t) => {
  const { crypto, keySet, good, state } = await setup(t);
  const agg = new Aggregator({ keySet, domain: 'batch-root', crypto, index: 7 });
  const a = state([[1, await good(1)], [2, await good(2)], [3, await good(3)]], 0);
  const b = state([[4, await good(4)], [6, await good(6)], [7, await good(7)]]);
  assert.equal(await agg.combine(a), 'signed');
  assert.equal(await agg.combine(b), 'signed');
  assert.deepEqual([...a.signature!], [...b.signature!]);
});
