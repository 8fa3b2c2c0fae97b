import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore, encodeKvOperation, decodeKvResult, kvRecordFromStrings, kvRecordToStrings } from '../../src/apps/kv.ts';
import { Counter, encodeCounterOperation, decodeCounterResult } from '../../src/apps/counter.ts';
import type { ApplicationProxy, ConsensusAdapter, OrderedBatch } from '../../src/consensus/adapter.ts';
import { MemorySequencer } from '../../src/consensus/memory/index.ts';
import { batchRootMessage } from '../../src/wire/digest.ts';
import { InsufficientSharesError } from '../../src/crypto/index.ts';
import { dealtShares, startTestCluster } from './cluster.ts';

const put = (key: string, v: string) => encodeKvOperation({ type: 'insert', table: 't', key, values: kvRecordFromStrings({ f: v }) });
const get = (key: string) => encodeKvOperation({ type: 'read', table: 't', key });
const fieldOf = (b: Uint8Array): string => {
  const r = decodeKvResult(b);
  assert.equal(r.type, 'record');
  return kvRecordToStrings((r as { record: Record<string, Uint8Array> }).record).f!;
};

/** Wraps an adapter; while `frozen`, ordered batches are not executed here (a stale replica). */
class StaleableAdapter implements ConsensusAdapter {
  frozen = false;
  readonly protocol = 'memory';
  constructor(private readonly inner: ConsensusAdapter) {}
  start(proxy: ApplicationProxy): Promise<void> {
    return this.inner.start({
      executeBatch: (b: OrderedBatch) => (this.frozen ? b.requests.map(() => new Uint8Array(0)) : proxy.executeBatch(b)),
      snapshot: () => proxy.snapshot(),
      restore: (s, q) => proxy.restore(s, q),
    });
  }
  submit(r: Uint8Array): Promise<void> {
    return this.inner.submit(r);
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
}

test('read-only requests are answered without ordering, signed by the readonly key set (t = 2f+1)', async (t) => {
  const cluster = await startTestCluster({ app: () => new KvStore() });
  t.after(() => cluster.close());
  const client = await cluster.client();
  await client.invoke(put('a', 'one'));
  const batches = await cluster.replicas[0]!.metrics.value('cart_batches_executed_total');
  assert.equal(fieldOf(await client.invokeReadOnly(get('a'))), 'one');
  const s = client.stats();
  assert.equal(s.readOnlyVerified, 1);
  assert.equal(s.readOnlyFallbacks, 0);
  assert.equal(await cluster.replicas[0]!.metrics.value('cart_batches_executed_total'), batches, 'nothing was ordered');
});

test('invokeReadOnly of an operation that is not read-only falls back to ordered and executes once', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter() });
  t.after(() => cluster.close());
  const client = await cluster.client();
  const r = decodeCounterResult(await client.invokeReadOnly(encodeCounterOperation({ type: 'add', amount: 3n })));
  assert.deepEqual(r, { type: 'value', value: 3n });
  assert.equal(client.stats().readOnlyFallbacks, 1);
  for (const a of cluster.apps) assert.equal((a as Counter).current, 3n);
});

test('a stale replica (f = 1) cannot make a read-only reply; the fresh majority answers, and without 2f+1 fresh replicas the client falls back to ordered', async (t) => {
  const seq = new MemorySequencer({ replicas: 4 });
  const stale = new StaleableAdapter(seq.adapter(3));
  const cluster = await startTestCluster({ app: () => new KvStore(), adapter: (i) => (i === 4 ? stale : seq.adapter(i - 1)) });
  t.after(() => cluster.close());
  // the stale replica is the contact: the first write waits for one client timeout there (short,
  // but long enough for the fresh replicas' read-only answer below on a slow machine)
  const client = await cluster.client({ contact: 3, timeoutMs: 2000 });
  await client.invoke(put('k', 'old'));
  stale.frozen = true;
  await client.invoke(put('k', 'new'));
  assert.equal(fieldOf(cluster.apps[3]!.executeReadOnly(get('k'))!), 'old', 'replica 4 is stale');
  assert.equal(fieldOf(await client.invokeReadOnly(get('k'))), 'new');
  assert.equal(client.stats().readOnlyVerified, 1);
  // now only 2 fresh replicas + 1 stale one are up: no 2f+1 = 3 matching results
  await cluster.kill(3);
  assert.equal(fieldOf(await client.invokeReadOnly(get('k'))), 'new');
  assert.equal(client.stats().readOnlyFallbacks, 1);
  assert.equal(client.stats().rejected['bad-signature'] + client.stats().rejected['bad-proof'], 0);
});

test('Byzantine replica on the read-only path (wrong results / bad shares): correct verified results only', async (t) => {
  for (const byzantine of [{ wrongResults: true }, { badShares: true }, { forgeShareIndex: true }]) {
    const cluster = await startTestCluster({ app: () => new KvStore(), tuning: (i) => (i === 1 ? { byzantine } : undefined) });
    t.after(() => cluster.close());
    const client = await cluster.client({ contact: 1 });
    await client.invoke(put('x', 'v1'));
    const results = await Promise.all(Array.from({ length: 5 }, () => client.invokeReadOnly(get('x'))));
    assert.deepEqual(results.map(fieldOf), ['v1', 'v1', 'v1', 'v1', 'v1'], JSON.stringify(byzantine));
    // with 3 honest replicas all needed for t = 3, answers come either way (read-only or fallback)
    const s = client.stats();
    assert.equal(s.readOnlyVerified + s.readOnlyFallbacks, 5);
  }
});

test('f+1 read-only shares never make a readonly group signature; an ordered signature is no readonly signature', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter(), n: 4 });
  t.after(() => cluster.close());
  const ro = cluster.publicKeySets.find((k) => k.name === 'readonly')!;
  const ord = cluster.publicKeySets.find((k) => k.name === 'ordered')!;
  assert.equal(ro.threshold, 2 * cluster.f + 1);
  const msg = batchRootMessage('readonly', 0n, new Uint8Array(32), 1);
  const roShares = await Promise.all([1, 2].map((i) => cluster.crypto.signShare(dealtShares(i, 'readonly'), 'readonly-reply', msg)));
  await assert.rejects(cluster.crypto.combine(ro, roShares), InsufficientSharesError);
  const ordShares = await Promise.all([1, 2].map((i) => cluster.crypto.signShare(dealtShares(i, 'ordered'), 'readonly-reply', msg)));
  const ordSig = await cluster.crypto.combine(ord, ordShares);
  assert.equal(await cluster.crypto.verify(ord.groupPublicKey, 'readonly-reply', msg, ordSig), true);
  assert.equal(await cluster.crypto.verify(ro.groupPublicKey, 'readonly-reply', msg, ordSig), false);
});

test('concurrent reads are batched: one read-only signature covers several reads, and every reply verifies', async (t) => {
  const cluster = await startTestCluster({ app: () => new KvStore(), tuning: () => ({ readOnlyMaxInFlight: 1 }) });
  t.after(() => cluster.close());
  const writer = await cluster.client();
  for (let i = 0; i < 8; i++) await writer.invoke(put(`k${i}`, `v${i}`));
  const clients = await Promise.all(Array.from({ length: 4 }, () => cluster.client({ contact: 0 })));
  const reads = clients.flatMap((c) => Array.from({ length: 8 }, (_, i) => c.invokeReadOnly(get(`k${i}`)).then((r) => [i, fieldOf(r)] as const)));
  for (const [i, v] of await Promise.all(reads)) assert.equal(v, `v${i}`);
  for (const c of clients) assert.deepEqual([c.stats().readOnlyVerified, c.stats().readOnlyFallbacks], [8, 0]);
  const m = cluster.replicas[0]!.metrics;
  const batches = await m.value('cart_read_only_batches_total');
  assert.equal(await m.value('cart_read_only_batched_requests_total'), 32);
  assert.ok(batches < 32, `32 reads in ${batches} batches: reads were batched`);
  // one share per replica per batch, not per read
  assert.equal(await m.value('cart_group_signatures_total') >= batches, true);
});

test('results differing inside one read-only batch: reads that 2f+1 replicas agree on are retried and answered, the rest fall back to ordered', async (t) => {
  const seq = new MemorySequencer({ replicas: 4 });
  const stale = new StaleableAdapter(seq.adapter(3));
  const cluster = await startTestCluster({
    app: () => new KvStore(),
    adapter: (i) => (i === 4 ? stale : seq.adapter(i - 1)),
    // the replica-side read-only timeout splits the {b, c} batch (replica 3's share never comes);
    // it must also be long enough for 'a''s three matching shares on a slow machine
    tuning: () => ({ readOnlyMaxInFlight: 1, readOnlyTimeoutMs: 1500 }),
  });
  t.after(() => cluster.close());
  const client = await cluster.client({ contact: 0 });
  for (const k of ['a', 'b', 'c']) await client.invoke(put(k, 'old'));
  stale.frozen = true;
  await client.invoke(put('b', 'new')); // replica 4 misses it
  await cluster.kill(3); // 2 fresh + 1 stale: t = 3 needs all of them
  const [ra, rb, rc] = await Promise.all([client.invokeReadOnly(get('a')), client.invokeReadOnly(get('b')), client.invokeReadOnly(get('c'))]);
  assert.deepEqual([fieldOf(ra), fieldOf(rb), fieldOf(rc)], ['old', 'new', 'old']);
  const s = client.stats();
  // 'a' went alone; 'b' and 'c' waited and left together; their root differs at replica 4, so
  // 'c' (agreed by all three) was retried and answered read-only, 'b' was ordered
  assert.deepEqual([s.readOnlyVerified, s.readOnlyFallbacks], [2, 1]);
  assert.equal(await cluster.replicas[0]!.metrics.value('cart_read_only_batched_requests_total'), 4);
  assert.equal(s.rejected['bad-signature'] + s.rejected['bad-proof'], 0);
});
