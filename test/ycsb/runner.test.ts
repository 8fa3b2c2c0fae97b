import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreWorkload, builtinWorkload, seededRandom, runLoadPhase, runClosedLoop } from '../../src/bench/ycsb/index.ts';
import { KvStore, encodeKvOperation, decodeKvResult, type KvOperation } from '../../src/apps/kv.ts';

function setup(letter: string, records = 100) {
  const workload = new CoreWorkload(builtinWorkload(letter, new Map([['recordcount', String(records)], ['operationcount', '300']])), seededRandom(1));
  const kv = new KvStore();
  let inFlight = 0;
  let maxInFlight = 0;
  const execute = async (op: KvOperation) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setImmediate(r));
    inFlight--;
    const r = decodeKvResult(kv.execute(encodeKvOperation(op)));
    if (r.type === 'error' || r.type === 'notFound') throw new Error(r.type);
    return r;
  };
  return { workload, kv, execute, maxInFlight: () => maxInFlight };
}

test('load phase inserts every record with bounded concurrency', async () => {
  const s = setup('a');
  const r = await runLoadPhase({ workload: s.workload, execute: s.execute, concurrency: 8 });
  assert.equal(r.records, 100);
  assert.equal(r.errors, 0);
  assert.equal(s.kv.size, 100);
  assert.equal(s.maxInFlight(), 8);
});

test('closed loop runs operationcount operations with N outstanding, stats per kind', async () => {
  const s = setup('a');
  await runLoadPhase({ workload: s.workload, execute: s.execute });
  const r = await runClosedLoop({ workload: s.workload, execute: s.execute, clients: 5 });
  assert.equal(r.operations, 300);
  assert.equal(r.errors, 0);
  assert.equal(r.clients, 5);
  assert.ok(s.maxInFlight() <= 16);
  assert.equal((r.byKind.read?.count ?? 0) + (r.byKind.update?.count ?? 0), 300);
  assert.equal(r.latency.count, 300);
  assert.ok(r.byKind.read!.count > 100 && r.byKind.update!.count > 100);
});

test('failures are counted, not recorded as latencies', async () => {
  const s = setup('a');
  await runLoadPhase({ workload: s.workload, execute: s.execute });
  const failing = (op: KvOperation) => (op.type === 'update' ? Promise.reject(new Error('nope')) : s.execute(op));
  const r = await runClosedLoop({ workload: s.workload, execute: failing, clients: 3, operations: 200 });
  assert.equal(r.operations + r.errors, 200);
  assert.equal(r.errors, r.byKind.update!.errors);
  assert.equal(r.byKind.update!.count, 0);
  assert.ok(r.errors > 50);
});

test('duration and warm-up follow the injected clock', async () => {
  const s = setup('c');
  await runLoadPhase({ workload: s.workload, execute: s.execute });
  let t = 0;
  const seen: number[] = [];
  const exec = async (op: KvOperation) => {
    await s.execute(op);
    t += 2; // every operation takes 2 ms of virtual time
  };
  const r = await runClosedLoop({
    workload: s.workload,
    execute: exec,
    clients: 1,
    durationMs: 100,
    warmupMs: 20,
    now: () => t,
    onComplete: (_k, ms) => seen.push(ms),
  });
  assert.equal(r.operations, 50); // 100 ms / 2 ms, warm-up excluded
  assert.equal(r.elapsedMs, 100);
  assert.equal(r.throughputOpsPerSec, 500);
  assert.equal(r.latency.p50Ms, 2);
  assert.ok(seen.every((x) => x === 2));
  const ac = new AbortController();
  ac.abort();
  const aborted = await runClosedLoop({ workload: s.workload, execute: exec, durationMs: 100, signal: ac.signal, now: () => t });
  assert.equal(aborted.operations, 0);
  const none = new CoreWorkload(builtinWorkload('c', new Map([['operationcount', '0'], ['recordcount', '1']])), seededRandom(1));
  assert.equal((await runClosedLoop({ workload: none, execute: exec, now: () => t })).operations, 0);
});

test('dataintegrity results are verified by the closed loop; a lying executor is caught', async () => {
  const workload = new CoreWorkload(builtinWorkload('a', new Map([['recordcount', '50'], ['operationcount', '200'], ['dataintegrity', 'true']])), seededRandom(2));
  const kv = new KvStore();
  const execute = async (op: KvOperation) => decodeKvResult(kv.execute(encodeKvOperation(op)));
  await runLoadPhase({ workload, execute });
  const honest = await runClosedLoop({ workload, execute, clients: 4 });
  assert.equal(honest.integrityErrors, 0);
  assert.equal(honest.operations, 200);
  let n = 0;
  const lying = async (op: KvOperation) => {
    const r = await execute(op);
    if (r.type === 'record' && n++ % 10 === 0) return { type: 'record' as const, record: { ...r.record, field0: new Uint8Array(100) } };
    return r;
  };
  const caught = await runClosedLoop({ workload, execute: lying, clients: 4 });
  assert.ok(caught.integrityErrors > 5, `integrity errors ${caught.integrityErrors}`);
  assert.match(caught.integrityFailures[0]!, /field0 holds an unexpected value/);
});
