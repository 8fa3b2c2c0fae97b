import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  KvStore,
  encodeKvOperation,
  decodeKvOperation,
  decodeKvResult,
  encodeKvResult,
  kvRecordFromStrings,
  kvRecordToStrings,
  type KvOperation,
  type KvResult,
} from '../../src/apps/kv.ts';
import { EncodeError, compareUtf8 } from '../../src/apps/codec.ts';

const T = 'usertable';
const rec = kvRecordFromStrings;

function run(store: KvStore, op: KvOperation): KvResult {
  return decodeKvResult(store.execute(encodeKvOperation(op)));
}

function asStrings(r: KvResult): unknown {
  if (r.type === 'record') return kvRecordToStrings(r.record);
  if (r.type === 'records') return r.records.map((x) => [x.key, kvRecordToStrings(x.record)]);
  return r;
}

test('kv: insert, read all / some fields, update, delete', () => {
  const s = new KvStore();
  assert.deepEqual(run(s, { type: 'read', table: T, key: 'k1' }), { type: 'notFound' });
  assert.deepEqual(run(s, { type: 'insert', table: T, key: 'k1', values: rec({ f0: 'a', f1: 'b', f2: 'c' }) }), { type: 'ok' });
  assert.deepEqual(asStrings(run(s, { type: 'read', table: T, key: 'k1' })), { f0: 'a', f1: 'b', f2: 'c' });
  assert.deepEqual(asStrings(run(s, { type: 'read', table: T, key: 'k1', fields: ['f2', 'f0', 'nope'] })), { f0: 'a', f2: 'c' });
  assert.deepEqual(run(s, { type: 'update', table: T, key: 'k1', values: rec({ f1: 'B', f9: 'z' }) }), { type: 'ok' });
  assert.deepEqual(asStrings(run(s, { type: 'read', table: T, key: 'k1' })), { f0: 'a', f1: 'B', f2: 'c', f9: 'z' });
  assert.deepEqual(run(s, { type: 'update', table: T, key: 'missing', values: rec({ f1: 'x' }) }), { type: 'notFound' });
  assert.deepEqual(run(s, { type: 'read', table: 'other', key: 'k1' }), { type: 'notFound' });
  assert.deepEqual(run(s, { type: 'delete', table: T, key: 'k1' }), { type: 'ok' });
  assert.deepEqual(run(s, { type: 'delete', table: T, key: 'k1' }), { type: 'notFound' });
  assert.equal(s.size, 0);
});

test('kv: insert replaces the whole record', () => {
  const s = new KvStore();
  run(s, { type: 'insert', table: T, key: 'k', values: rec({ a: '1', b: '2' }) });
  run(s, { type: 'insert', table: T, key: 'k', values: rec({ c: '3' }) });
  assert.deepEqual(asStrings(run(s, { type: 'read', table: T, key: 'k' })), { c: '3' });
  assert.equal(s.size, 1);
});

test('kv: scan returns keys in sorted order from the start key, bounded by count', () => {
  const s = new KvStore();
  const keys = ['user9', 'user10', 'user1', 'user5', 'a', 'zz', '\u{1F600}', '\uFFFD'];
  for (const k of keys) run(s, { type: 'insert', table: T, key: k, values: rec({ f: k }) });
  const sorted = [...keys].sort(compareUtf8);
  const r = run(s, { type: 'scan', table: T, startKey: '', count: 100 });
  assert.equal(r.type, 'records');
  assert.deepEqual(r.type === 'records' && r.records.map((x) => x.key), sorted);
  // code-point order: U+FFFD < U+1F600 (UTF-16 code-unit order would say the opposite)
  assert.ok(sorted.indexOf('\uFFFD') < sorted.indexOf('\u{1F600}'));
  const r2 = run(s, { type: 'scan', table: T, startKey: 'user10', count: 2, fields: ['f'] });
  assert.deepEqual(asStrings(r2), [['user10', { f: 'user10' }], ['user5', { f: 'user5' }]]);
  const r3 = run(s, { type: 'scan', table: T, startKey: 'user2', count: 1 });
  assert.deepEqual(asStrings(r3), [['user5', { f: 'user5' }]]);
  assert.deepEqual(run(s, { type: 'scan', table: 'none', startKey: '', count: 5 }), { type: 'records', records: [] });
});

test('kv: read-modify-write returns the value read and applies the update', () => {
  const s = new KvStore();
  run(s, { type: 'insert', table: T, key: 'k', values: rec({ a: '1', b: '2' }) });
  const r = run(s, { type: 'readModifyWrite', table: T, key: 'k', fields: ['a'], values: rec({ a: '10', c: '3' }) });
  assert.deepEqual(asStrings(r), { a: '1' });
  assert.deepEqual(asStrings(run(s, { type: 'read', table: T, key: 'k' })), { a: '10', b: '2', c: '3' });
  assert.deepEqual(run(s, { type: 'readModifyWrite', table: T, key: 'nope', values: rec({ a: 'x' }) }), { type: 'notFound' });
});

test('kv: executeReadOnly answers read/scan and refuses writes without changing state', () => {
  const s = new KvStore();
  run(s, { type: 'insert', table: T, key: 'k', values: rec({ a: '1' }) });
  const before = s.snapshot();
  const ro = s.executeReadOnly(encodeKvOperation({ type: 'read', table: T, key: 'k' }));
  assert.ok(ro);
  assert.deepEqual(asStrings(decodeKvResult(ro)), { a: '1' });
  assert.ok(s.executeReadOnly(encodeKvOperation({ type: 'scan', table: T, startKey: '', count: 1 })));
  for (const op of [
    { type: 'update', table: T, key: 'k', values: rec({ a: '2' }) },
    { type: 'insert', table: T, key: 'j', values: rec({}) },
    { type: 'delete', table: T, key: 'k' },
    { type: 'readModifyWrite', table: T, key: 'k', values: rec({ a: '3' }) },
  ] as KvOperation[]) {
    assert.equal(s.executeReadOnly(encodeKvOperation(op)), undefined, op.type);
  }
  assert.deepEqual(s.snapshot(), before);
});

test('kv: malformed / unknown-version / over-limit operations yield error results, never throw', () => {
  const s = new KvStore();
  const good = encodeKvOperation({ type: 'read', table: T, key: 'k' });
  const cases: Array<[Uint8Array, string]> = [
    [new Uint8Array([]), 'malformed'],
    [Uint8Array.from([2, ...good.subarray(1)]), 'unsupported-version'],
    [Uint8Array.from([1, 99]), 'unknown-operation'],
    [good.subarray(0, good.length - 1), 'malformed'],
    [Uint8Array.from([...good, 0]), 'malformed'],
  ];
  for (const [bytes, code] of cases) {
    const r = decodeKvResult(s.execute(bytes));
    assert.equal(r.type, 'error');
    assert.equal(r.type === 'error' && r.code, code);
  }
  const small = new KvStore({ limits: { maxValueBytes: 4, maxScanCount: 3 } });
  const big = encodeKvOperation({ type: 'insert', table: T, key: 'k', values: { f: new Uint8Array(5) } });
  const r = decodeKvResult(small.execute(big));
  assert.equal(r.type, 'error');
  assert.equal(small.size, 0);
  const scan = decodeKvResult(small.execute(encodeKvOperation({ type: 'scan', table: T, startKey: '', count: 10 })));
  assert.deepEqual(scan.type === 'error' && scan.code, 'limit-exceeded');
});

test('kv: encoders enforce limits with EncodeError; field lists are canonical', () => {
  assert.throws(() => encodeKvOperation({ type: 'read', table: T, key: 'x'.repeat(1025) }), EncodeError);
  assert.throws(() => encodeKvOperation({ type: 'scan', table: T, startKey: '', count: 1001 }), EncodeError);
  assert.throws(() => encodeKvOperation({ type: 'scan', table: T, startKey: '', count: -1 }), EncodeError);
  assert.throws(() => encodeKvOperation({ type: 'insert', table: T, key: 'k', values: { f: 'str' as unknown as Uint8Array } }), EncodeError);
  const a = encodeKvOperation({ type: 'read', table: T, key: 'k', fields: ['b', 'a', 'b'] });
  const b = encodeKvOperation({ type: 'read', table: T, key: 'k', fields: ['a', 'b'] });
  assert.deepEqual(a, b);
  // hand-made non-canonical field order is rejected by the decoder
  const swapped = Uint8Array.from(b);
  const ia = swapped.lastIndexOf(0x61);
  const ib = swapped.lastIndexOf(0x62);
  swapped[ia] = 0x62;
  swapped[ib] = 0x61;
  assert.throws(() => decodeKvOperation(swapped));
});

const arbKey = fc.string({ maxLength: 12 });
const arbValues = fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.uint8Array({ maxLength: 8 }), { maxKeys: 4 });
const arbFields = fc.option(fc.uniqueArray(fc.string({ maxLength: 6 }), { maxLength: 4 }), { nil: undefined });
const arbOp: fc.Arbitrary<KvOperation> = fc.oneof(
  fc.record({ type: fc.constant('read' as const), table: fc.constantFrom(T, 't2'), key: arbKey, fields: arbFields }, { requiredKeys: ['type', 'table', 'key'] }),
  fc.record({ type: fc.constant('update' as const), table: fc.constantFrom(T, 't2'), key: arbKey, values: arbValues }),
  fc.record({ type: fc.constant('insert' as const), table: fc.constantFrom(T, 't2'), key: arbKey, values: arbValues }),
  fc.record({ type: fc.constant('delete' as const), table: fc.constantFrom(T, 't2'), key: arbKey }),
  fc.record({ type: fc.constant('scan' as const), table: fc.constantFrom(T, 't2'), startKey: arbKey, count: fc.nat(20), fields: arbFields }, { requiredKeys: ['type', 'table', 'startKey', 'count'] }),
  fc.record({ type: fc.constant('readModifyWrite' as const), table: fc.constantFrom(T, 't2'), key: arbKey, fields: arbFields, values: arbValues }, { requiredKeys: ['type', 'table', 'key', 'values'] }),
);

function canonical(op: KvOperation): KvOperation {
  // What decode(encode(op)) must give: sorted, de-duplicated field lists.
  const o = { ...op } as Record<string, unknown>;
  if (Array.isArray(o.fields)) o.fields = [...new Set(o.fields as string[])].sort(compareUtf8);
  if (o.fields === undefined) delete o.fields;
  // fast-check dictionaries have a null prototype; decoded records are plain objects
  if (o.values !== undefined) o.values = Object.fromEntries(Object.entries(o.values as object));
  return o as unknown as KvOperation;
}

test('kv: operation encoding round-trips (property)', () => {
  fc.assert(
    fc.property(arbOp, (op) => {
      assert.deepEqual(decodeKvOperation(encodeKvOperation(op)), canonical(op));
    }),
    { seed: 42, numRuns: 300 },
  );
});

test('kv: result encoding round-trips', () => {
  const results: KvResult[] = [
    { type: 'ok' },
    { type: 'notFound' },
    { type: 'record', record: rec({ a: 'x', b: '' }) },
    { type: 'records', records: [{ key: 'a', record: rec({ f: '1' }) }, { key: 'b', record: {} }] },
    { type: 'error', code: 'limit-exceeded', message: 'too big' },
  ];
  for (const r of results) assert.deepEqual(decodeKvResult(encodeKvResult(r)), r);
});

test('kv: replicas executing the same operations have byte-identical results and snapshots; restore round-trips', () => {
  fc.assert(
    fc.property(fc.array(arbOp, { maxLength: 60 }), (ops) => {
      const a = new KvStore();
      const b = new KvStore();
      // b sees the same ops; its Maps get populated in the same order, so also check a restored copy
      for (const op of ops) {
        const bytes = encodeKvOperation(op);
        assert.deepEqual(a.execute(bytes), b.execute(bytes));
      }
      const snap = a.snapshot();
      assert.deepEqual(b.snapshot(), snap);
      const c = new KvStore();
      c.restore(snap);
      assert.deepEqual(c.snapshot(), snap);
      // the restored replica continues identically
      const next = encodeKvOperation({ type: 'scan', table: T, startKey: '', count: 50 });
      assert.deepEqual(c.execute(next), a.execute(next));
    }),
    { seed: 7, numRuns: 100 },
  );
});

test('kv: snapshot is independent of insertion order', () => {
  const a = new KvStore();
  const b = new KvStore();
  run(a, { type: 'insert', table: T, key: 'x', values: rec({ p: '1', q: '2' }) });
  run(a, { type: 'insert', table: T, key: 'y', values: rec({ r: '3' }) });
  run(b, { type: 'insert', table: T, key: 'y', values: rec({ r: '3' }) });
  run(b, { type: 'insert', table: T, key: 'x', values: rec({ q: '2', p: '1' }) });
  assert.deepEqual(a.snapshot(), b.snapshot());
});

test('kv: restore rejects malformed snapshots and leaves state unchanged', () => {
  const s = new KvStore();
  run(s, { type: 'insert', table: T, key: 'k', values: rec({ a: '1' }) });
  const snap = s.snapshot();
  const before = s.snapshot();
  const target = new KvStore();
  run(target, { type: 'insert', table: T, key: 'other', values: rec({}) });
  const targetBefore = target.snapshot();
  for (const bad of [new Uint8Array(), snap.subarray(0, snap.length - 1), Uint8Array.from([...snap, 1]), Uint8Array.from([9, ...snap.subarray(1)])]) {
    assert.throws(() => target.restore(bad));
    assert.deepEqual(target.snapshot(), targetBefore);
  }
  assert.deepEqual(s.snapshot(), before);
});

test('kv: random bytes never make execute throw (fuzz)', () => {
  const s = new KvStore();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const r = decodeKvResult(s.execute(bytes));
      assert.ok(['ok', 'record', 'records', 'notFound', 'error'].includes(r.type));
      s.executeReadOnly(bytes);
    }),
    { seed: 3, numRuns: 500 },
  );
  // mutated valid operations as well
  const valid = encodeKvOperation({ type: 'readModifyWrite', table: T, key: 'k', fields: ['a'], values: rec({ a: 'v' }) });
  fc.assert(
    fc.property(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }), (i, v) => {
      const m = Uint8Array.from(valid);
      m[i] = v;
      decodeKvResult(s.execute(m));
    }),
    { seed: 4, numRuns: 500 },
  );
});

test('kv: results over maxResultBytes are refused with limit-exceeded (and rmw does not write)', () => {
  const s = new KvStore({ limits: { maxResultBytes: 1000 } });
  for (let i = 0; i < 10; i++) run(s, { type: 'insert', table: T, key: `k${i}`, values: { f: new Uint8Array(200) } });
  const small = run(s, { type: 'scan', table: T, startKey: '', count: 3 });
  assert.equal(small.type === 'records' && small.records.length, 3);
  const big = run(s, { type: 'scan', table: T, startKey: '', count: 10 });
  assert.deepEqual(big.type === 'error' && big.code, 'limit-exceeded');
  // projected fields count, not whole records
  const narrow = run(s, { type: 'scan', table: T, startKey: '', count: 10, fields: ['nope'] });
  assert.equal(narrow.type === 'records' && narrow.records.length, 10);
  run(s, { type: 'insert', table: T, key: 'huge', values: { f: new Uint8Array(2000) } });
  const r = run(s, { type: 'read', table: T, key: 'huge' });
  assert.deepEqual(r.type === 'error' && r.code, 'limit-exceeded');
  const rmw = run(s, { type: 'readModifyWrite', table: T, key: 'huge', values: { g: new Uint8Array(1) } });
  assert.deepEqual(rmw.type === 'error' && rmw.code, 'limit-exceeded');
  const after = run(s, { type: 'read', table: T, key: 'huge', fields: ['g'] });
  assert.deepEqual(after, { type: 'record', record: {} });
});

test('kv: maxRecords bounds the state; replacing or deleting still works at the limit; restore recounts', () => {
  const s = new KvStore({ limits: { maxRecords: 2 } });
  assert.deepEqual(run(s, { type: 'insert', table: T, key: 'a', values: {} }), { type: 'ok' });
  assert.deepEqual(run(s, { type: 'insert', table: 't2', key: 'b', values: {} }), { type: 'ok' });
  const r = run(s, { type: 'insert', table: T, key: 'c', values: {} });
  assert.deepEqual(r.type === 'error' && r.code, 'limit-exceeded');
  assert.deepEqual(run(s, { type: 'insert', table: T, key: 'a', values: rec({ x: '1' }) }), { type: 'ok' });
  assert.equal(s.size, 2);
  const snap = s.snapshot();
  assert.deepEqual(run(s, { type: 'delete', table: T, key: 'a' }), { type: 'ok' });
  assert.deepEqual(run(s, { type: 'insert', table: T, key: 'c', values: {} }), { type: 'ok' });
  s.restore(snap);
  assert.equal(s.size, 2);
  assert.equal(run(s, { type: 'insert', table: T, key: 'd', values: {} }).type, 'error');
  assert.throws(() => new KvStore({ limits: { maxRecords: 1 } }).restore(snap), /more than 1 records|exceeds 1/);
});
