import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runConformanceSuite, RecordingProxy, type ConformanceCluster } from './conformance.ts';
import { MemorySequencer, type MemoryAdapter, AdapterStoppedError, RequestTooLargeError } from '../../src/consensus/memory/index.ts';
import type { ApplicationProxy } from '../../src/consensus/adapter.ts';

function memoryFactory(options: { retainBatches?: number; batchSize?: number }) {
  return {
    replicas: 4,
    expectStateTransfer: options.retainBatches !== undefined,
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

/** Bounded wait (20 s, generous for a loaded CI machine) on a condition, yielding to the event loop between checks. */
async function waitUntil(cond: () => boolean, label: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${label}`);
    await new Promise((r) => setImmediate(r));
  }
}

test('memory adapter: truncated log forces state transfer, reported as an event', async () => {
  const seq = new MemorySequencer({ replicas: 2, batchSize: 2, retainBatches: 1 });
  const p0 = new RecordingProxy();
  const a0 = seq.adapter(0);
  await a0.start(p0);
  await Promise.all(Array.from({ length: 10 }, (_, k) => a0.submit(enc.encode(`r${k}`))));
  await waitUntil(() => p0.executed.length === 10, 'p0.executed.length === 10');
  assert.ok(seq.firstRetainedSequence > 1n, 'log was truncated');
  const p1 = new RecordingProxy();
  const a1 = seq.adapter(1);
  const events: string[] = [];
  a1.onEvent((e) => events.push(e.kind));
  await a1.start(p1);
  await a0.submit(enc.encode('last'));
  await waitUntil(() => p1.executed.length === 11, 'p1.executed.length === 11');
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
  await waitUntil(() => p.executed.length === 5, 'p.executed.length === 5');
  assert.deepEqual(p.deliveries, [{ sequence: 1n, requests: ['a', 'b', 'c'] }, { sequence: 2n, requests: ['d', 'e'] }]);
  await a.stop();
  await a.stop();
  await assert.rejects(a.submit(enc.encode('y')), AdapterStoppedError);
});

test('memory adapter: a replica behind a truncated log with no snapshot source waits, reports once, then catches up', async () => {
  const seq = new MemorySequencer({ replicas: 3, batchSize: 1, retainBatches: 1 });
  const p0 = new RecordingProxy();
  const a0 = seq.adapter(0);
  await a0.start(p0);
  await Promise.all(['a', 'b', 'c', 'd'].map((s) => a0.submit(enc.encode(s))));
  await waitUntil(() => p0.executed.length === 4, 'p0.executed.length === 4');
  await a0.stop();
  // replica 1 starts empty; the only replica with the state is down
  const p1 = new RecordingProxy();
  const a1 = seq.adapter(1);
  const errors: string[] = [];
  a1.onEvent((e) => { if (e.kind === 'error') errors.push(e.error.name); });
  await a1.start(p1);
  for (const s of ['e', 'f']) await a1.submit(enc.encode(s));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(p1.executed, []);
  assert.deepEqual(errors, ['StateTransferUnavailableError']);
  // replica 0 comes back with its persisted state: it resumes, and serves replica 1 a snapshot
  const a0b = seq.adapter(0, { resumeFrom: 4n });
  await a0b.start(p0);
  await waitUntil(() => p1.executed.length === 6 && p0.executed.length === 6, 'p1.executed.length === 6 && p0.executed.length === 6');
  assert.deepEqual(p1.executed, p0.executed);
  assert.deepEqual(errors, ['StateTransferUnavailableError']);
  await a0b.stop();
  await a1.stop();
});
