import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySequencer, type MemoryAdapter } from '../../src/consensus/memory/index.ts';
import type { ApplicationProxy, OrderedBatch } from '../../src/consensus/adapter.ts';
import { createApplication, type Application } from '../../src/apps/index.ts';
import { encodeKvOperation } from '../../src/apps/kv.ts';
import { CoreWorkload, builtinWorkload, seededRandom } from '../../src/bench/ycsb/index.ts';

/** Minimal proxy: the application state only (CART's real proxy adds dedup and signing). */
class AppProxy implements ApplicationProxy {
  executed = 0;
  constructor(readonly app: Application) {}
  executeBatch(batch: OrderedBatch): Uint8Array[] {
    this.executed += batch.requests.length;
    return batch.requests.map((r) => this.app.execute(r));
  }
  snapshot(): Uint8Array {
    return this.app.snapshot();
  }
  restore(snapshot: Uint8Array): void {
    this.app.restore(snapshot);
  }
}

async function until(cond: () => boolean, label: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${label}`);
    await new Promise((r) => setImmediate(r));
  }
}

test('YCSB workloads A, E and F on 4 KV replicas over the memory adapter: identical snapshots, also after state transfer', async () => {
  for (const letter of ['a', 'e', 'f']) {
    const seq = new MemorySequencer({ replicas: 4, batchSize: 8, retainBatches: 10 });
    const proxies = [0, 1, 2, 3].map(() => new AppProxy(createApplication('kv')));
    const adapters: MemoryAdapter[] = proxies.map((_, i) => seq.adapter(i));
    try {
      await Promise.all(adapters.map((a, i) => a.start(proxies[i]!)));
      const w = new CoreWorkload(builtinWorkload(letter, new Map([['recordcount', '100'], ['operationcount', '300']])), seededRandom(9));
      const load = [...w.loadOperations()].map((op) => encodeKvOperation(op));
      await Promise.all(load.map((b, k) => adapters[k % 4]!.submit(b)));
      await adapters[3]!.stop();
      const txs = [...w.transactions(300)].map((t) => encodeKvOperation(t.operation));
      await Promise.all(txs.map((b, k) => adapters[k % 3]!.submit(b)));
      await until(() => proxies.slice(0, 3).every((p) => p.executed === 400), 'replicas 0-2');
      const total = 400;
      proxies[3] = new AppProxy(createApplication('kv'));
      adapters[3] = seq.adapter(3);
      await adapters[3].start(proxies[3]);
      const extra = encodeKvOperation({ type: 'delete', table: 'usertable', key: 'user-none' });
      await adapters[3].submit(extra);
      await until(() => adapters.every((a) => a.applied === seq.lastSequence), 'every replica at the last batch');
      assert.ok(proxies.slice(0, 3).every((p) => p.executed === total + 1));
      const snaps = proxies.map((p) => p.snapshot());
      for (let i = 1; i < 4; i++) assert.deepEqual(snaps[i], snaps[0], `workload ${letter}: replica ${i} state differs`);
      assert.ok(proxies[3]!.executed < total, 'replica 3 caught up by state transfer, not replay');
    } finally {
      await Promise.all(adapters.map((a) => a.stop()));
    }
  }
});
