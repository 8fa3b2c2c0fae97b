import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runConformanceSuite, RecordingProxy, type ConformanceCluster } from './conformance.ts';
import { MemorySequencer, type MemoryAdapter, AdapterStoppedError, RequestTooLargeError } from '../../src/consensus/memory/index.ts';
import type { ApplicationProxy } from '../../src/consensus/adapter.ts';

function memoryFactory(options: { retainBatches?: number; batchSize?: number }) {
  return {
    replicas: 4,
    timeoutMs: 10_000,
    requestsWhileDown: 200,
    async start(proxies: readonly ApplicationProxy[]): Promise<ConformanceCluster> {
      const seq = new MemorySequencer({ replicas: proxies.length, ...options });
      const adapters: MemoryAdapter[] = proxies.map((_, i) => seq.adapter(i));
      await Promise.all(adapters.map((a, i) => a.start(proxies[i]!)));
      return {
        adapter: (i) => adapters[i]!,
        stopReplica: (i) => adapters[i]!.stop(),
        async restartReplica(i, proxy) {
          adapters[i] = seq.adapter(i);
          await adapters[i]!.start(proxy);
        },
        async close() {
          await Promise.all(adapters.map((a) => a.stop()));
        },
      };
    },
  };
}

// Full log kept: a restarted replica replays from the first batch.
runConformanceSuite('memory (replay)', memoryFactory({ batchSize: 7 }));
// Truncated log: a restarted replica catches up by snapshot + restore.
runConformanceSuite('memory (state transfer)', memoryFactory({ batchSize: 5, retainBatches: 4 }));

const enc = new TextEncoder();

test('memory adapter: truncated log forces state transfer, reported as an event', async () => {
  const seq = new MemorySequencer({ replicas: 2, batchSize: 2, retainBatches: 1 });
  const p0 = new RecordingProxy();
  const a0 = seq.adapter(0);
  await a0.start(p0);
  await Promise.all(Array.from({ length: 10 }, (_, k) => a0.submit(enc.encode(`r${k}`))));
  await new Promise<void>((resolve) => { const poll = () => (p0.executed.length === 10 ? resolve() : setImmediate(poll)); poll(); });
  assert.ok(seq.firstRetainedSequence > 1n, 'log was truncated');
  const p1 = new RecordingProxy();
  const a1 = seq.adapter(1);
  const events: string[] = [];
  a1.onEvent((e) => events.push(e.kind));
  await a1.start(p1);
  await a0.submit(enc.encode('last'));
  await new Promise<void>((resolve) => { const poll = () => (p1.executed.length === 11 ? resolve() : setImmediate(poll)); poll(); });
  assert.deepEqual(p1.executed, p0.executed);
  assert.deepEqual(events, ['state-transfer']);
  assert.equal(p1.restores.length, 1);
  await a0.stop();
  await a1.stop();
});

test('memory adapter: typed errors for stopped adapters, oversized requests, bad indices; deterministic batching', async () => {
  const seq = new MemorySequencer({ replicas: 1, maxRequestBytes: 4, batchSize: 3 });
  const a = seq.adapter(0);
  await assert.rejects(a.submit(enc.encode('x')), AdapterStoppedError);
  const p = new RecordingProxy();
  await a.start(p);
  await assert.rejects(a.submit(new Uint8Array(5)), RequestTooLargeError);
  await assert.rejects(a.start(p));
  assert.throws(() => seq.adapter(1));
  assert.throws(() => new MemorySequencer({ replicas: 0 }), RangeError);
  await Promise.all(['a', 'b', 'c', 'd', 'e'].map((s) => a.submit(enc.encode(s))));
  await new Promise<void>((resolve) => { const poll = () => (p.executed.length === 5 ? resolve() : setImmediate(poll)); poll(); });
  assert.deepEqual(p.deliveries, [{ sequence: 1n, requests: ['a', 'b', 'c'] }, { sequence: 2n, requests: ['d', 'e'] }]);
  await a.stop();
  await a.stop();
  await assert.rejects(a.submit(enc.encode('y')), AdapterStoppedError);
});
