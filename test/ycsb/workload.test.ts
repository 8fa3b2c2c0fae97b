import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreWorkload, builtinWorkload, seededRandom, parseWorkload, fnvhash64 } from '../../src/bench/ycsb/index.ts';
import { KvStore, encodeKvOperation, decodeKvResult } from '../../src/apps/kv.ts';

const big = (letter: string, extra: Array<[string, string]> = []) =>
  builtinWorkload(letter, new Map<string, string>([['recordcount', '500'], ['operationcount', '20000'], ...extra]));

test('load phase: insertcount records, hashed YCSB key names, 10 fields of 100 printable bytes', () => {
  const w = new CoreWorkload(big('a'), seededRandom(1));
  const ops = [...w.loadOperations()];
  assert.equal(ops.length, 500);
  assert.equal(w.nextLoadOperation(), undefined);
  const first = ops[0]!;
  assert.equal(first.type, 'insert');
  assert.equal(first.type === 'insert' && first.key, `user${fnvhash64(0)}`);
  assert.equal(new Set(ops.map((o) => (o.type === 'insert' ? o.key : ''))).size, 500);
  if (first.type !== 'insert') return;
  assert.deepEqual(Object.keys(first.values), Array.from({ length: 10 }, (_, i) => `field${i}`));
  for (const v of Object.values(first.values)) {
    assert.equal(v.length, 100);
    assert.ok(v.every((b) => b >= 0x20 && b < 0x7f));
  }
  const ordered = new CoreWorkload(big('a', [['insertorder', 'ordered'], ['zeropadding', '5']]), seededRandom(1));
  const o = ordered.nextLoadOperation();
  assert.equal(o?.type === 'insert' && o.key, 'user00000');
});

test('transaction mix matches the workload proportions (A, B, E, F)', () => {
  const cases: Array<[string, Record<string, number>]> = [
    ['a', { read: 0.5, update: 0.5 }],
    ['b', { read: 0.95, update: 0.05 }],
    ['e', { scan: 0.95, insert: 0.05 }],
    ['f', { read: 0.5, readModifyWrite: 0.5 }],
  ];
  for (const [letter, want] of cases) {
    const w = new CoreWorkload(big(letter), seededRandom(2));
    const counts: Record<string, number> = {};
    const n = 20000;
    for (const t of w.transactions(n)) {
      counts[t.kind] = (counts[t.kind] ?? 0) + 1;
      assert.equal(t.operation.type, t.kind);
    }
    assert.deepEqual(Object.keys(counts).sort(), Object.keys(want).sort(), `workload ${letter} kinds`);
    for (const [k, p] of Object.entries(want)) {
      assert.ok(Math.abs(counts[k]! / n - p) < 0.015, `workload ${letter}: ${k} ${counts[k]! / n} vs ${p}`);
    }
  }
});

test('transactions only touch loaded keys; workload A is zipfian-skewed over keys', () => {
  const cfg = big('a');
  const w = new CoreWorkload(cfg, seededRandom(3));
  const loaded = new Set([...w.loadOperations()].map((o) => (o.type === 'insert' ? o.key : '')));
  const freq = new Map<string, number>();
  for (const t of w.transactions(20000)) {
    const op = t.operation;
    const key = op.type === 'scan' ? op.startKey : op.key;
    assert.ok(loaded.has(key), `unloaded key ${key}`);
    freq.set(key, (freq.get(key) ?? 0) + 1);
    if (op.type === 'read') assert.equal(op.fields, undefined, 'readallfields=true reads all');
    if (op.type === 'update') assert.equal(Object.keys(op.values).length, 1, 'writeallfields=false writes one field');
  }
  const top = [...freq.values()].sort((a, b) => b - a).slice(0, 50).reduce((s, x) => s + x, 0) / 20000;
  assert.ok(top > 0.2, `top-10% keys share ${top}`); // uniform would be ~0.13 (see next)
  const u = new CoreWorkload(big('a', [['requestdistribution', 'uniform']]), seededRandom(3));
  [...u.loadOperations()];
  const uf = new Map<string, number>();
  for (const t of u.transactions(20000)) {
    const op = t.operation;
    if (op.type !== 'scan') uf.set(op.key, (uf.get(op.key) ?? 0) + 1);
  }
  const utop = [...uf.values()].sort((a, b) => b - a).slice(0, 50).reduce((s, x) => s + x, 0) / 20000;
  assert.ok(utop < 0.16, `uniform top-10% share ${utop}`);
});

test('workload D: inserts extend the key space and reads favour the latest keys', () => {
  const w = new CoreWorkload(big('d'), seededRandom(4));
  const loadKeys = [...w.loadOperations()].map((o) => (o.type === 'insert' ? o.key : ''));
  const inserted: string[] = [];
  let readsOfNew = 0;
  for (const t of w.transactions(20000)) {
    if (t.operation.type === 'insert') inserted.push(t.operation.key);
    else if (t.operation.type === 'read' && !loadKeys.includes(t.operation.key)) readsOfNew++;
  }
  assert.ok(inserted.length > 800 && inserted.length < 1200, `inserts ${inserted.length}`);
  assert.equal(new Set([...loadKeys, ...inserted]).size, loadKeys.length + inserted.length, 'insert keys are fresh');
  assert.ok(readsOfNew > 1000, `reads of newly inserted keys ${readsOfNew}`);
});

test('an unacknowledged insert is never read', () => {
  const w = new CoreWorkload(big('d'), seededRandom(5));
  [...w.loadOperations()];
  let pending: { key: string; complete(): void } | undefined;
  for (let i = 0; i < 5000; i++) {
    const t = w.nextTransaction();
    if (t.operation.type === 'insert' && pending === undefined) {
      pending = { key: t.operation.key, complete: t.complete };
      continue;
    }
    if (pending && t.operation.type === 'read') assert.notEqual(t.operation.key, pending.key);
    t.complete();
  }
  assert.ok(pending, 'an insert happened');
});

test('determinism: the same seed gives the same operations; another seed differs', () => {
  const run = (seed: number) => {
    const w = new CoreWorkload(big('e'), seededRandom(seed));
    const out = [...w.loadOperations()].slice(0, 5).map((op) => encodeKvOperation(op));
    for (const t of w.transactions(300)) out.push(encodeKvOperation(t.operation));
    return out;
  };
  assert.deepEqual(run(42), run(42));
  assert.notDeepEqual(run(42), run(43));
});

test('generated operations execute on the KV store (load + every workload A-F)', () => {
  for (const letter of ['a', 'b', 'c', 'd', 'e', 'f']) {
    const kv = new KvStore();
    const w = new CoreWorkload(builtinWorkload(letter, new Map([['recordcount', '200'], ['operationcount', '500']])), seededRandom(6));
    for (const op of w.loadOperations()) assert.deepEqual(decodeKvResult(kv.execute(encodeKvOperation(op))), { type: 'ok' });
    assert.equal(kv.size, 200);
    for (const t of w.transactions()) {
      const r = decodeKvResult(kv.execute(encodeKvOperation(t.operation)));
      assert.notEqual(r.type, 'error', `${letter} ${t.kind}`);
      assert.notEqual(r.type, 'notFound', `${letter} ${t.kind} on a missing key`);
      if (t.kind === 'scan' && r.type === 'records' && t.operation.type === 'scan') {
        assert.ok(r.records.length >= 1 && r.records.length <= t.operation.count);
      }
    }
  }
});

test('zero records: transactions fail with a clear error instead of looping', () => {
  assert.throws(() => new CoreWorkload(parseWorkload('recordcount=0\nreadproportion=1'), seededRandom(1)).nextTransaction(), RangeError);
  const latest = new CoreWorkload(parseWorkload('recordcount=0\nreadproportion=1\nrequestdistribution=latest'), seededRandom(1));
  assert.throws(() => latest.nextTransaction(), /recordcount is 0/);
});

test('dataintegrity: deterministic values (YCSB buildDeterministicValue) make every read checkable', () => {
  const cfg = big('f', [['dataintegrity', 'true'], ['fieldlength', '40']]);
  const w = new CoreWorkload(cfg, seededRandom(8));
  const kv = new KvStore();
  for (const op of w.loadOperations()) kv.execute(encodeKvOperation(op));
  let checked = 0;
  for (const t of w.transactions(500)) {
    const result = decodeKvResult(kv.execute(encodeKvOperation(t.operation)));
    assert.equal(w.verify(t.operation, result), undefined, `${t.kind}`);
    checked++;
  }
  assert.equal(checked, 500);
  // a wrong value, a missing field and a wrong result type are all caught
  const read = { type: 'read' as const, table: 'usertable', key: w.keyName(0) };
  const good = decodeKvResult(kv.execute(encodeKvOperation(read)));
  assert.equal(w.verify(read, good), undefined);
  assert.equal(good.type, 'record');
  if (good.type !== 'record') return;
  const tampered = { ...good.record, field3: Uint8Array.from(good.record.field3!).fill(0x41, 0, 1) };
  assert.match(w.verify(read, { type: 'record', record: tampered })!, /field3 holds an unexpected value/);
  const { field5: _dropped, ...missing } = good.record;
  assert.match(w.verify(read, { type: 'record', record: missing })!, /field5 missing/);
  assert.match(w.verify(read, { type: 'notFound' })!, /expected a record/);
  // the value format: "key:field:hash..." cut to fieldlength
  const v = new TextDecoder().decode(good.record.field0);
  assert.equal(v.length, 40);
  assert.ok(v.startsWith(`${w.keyName(0)}:field0:`), v);
  assert.throws(() => parseWorkload('dataintegrity=true\nfieldlengthdistribution=uniform'), /constant/);
});
