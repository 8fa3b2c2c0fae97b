import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KvStore, kvRecordFromStrings, type KvOperation, type KvResult } from '../../src/apps/kv.ts';
import { checkKvHistory } from '../../src/check/kv-model.ts';
import { checkLinearizable, type Model } from '../../src/check/linearizability.ts';
import { HistoryError, HistoryRecorder, eventsToOperations, type Operation } from '../../src/check/history.ts';

type Op = Operation<KvOperation, KvResult>;
const T = 'usertable';
let seq = 0;
function op(client: string, input: KvOperation, output: KvResult | undefined, call: number, ret: number | undefined): Op {
  return { client, id: String(seq++), input, output, call, ret: output === undefined ? undefined : ret };
}
const ins = (key: string, v: string): KvOperation => ({ type: 'insert', table: T, key, values: kvRecordFromStrings({ f: v }) });
const upd = (key: string, v: string): KvOperation => ({ type: 'update', table: T, key, values: kvRecordFromStrings({ f: v }) });
const rmw = (key: string, v: string): KvOperation => ({ type: 'readModifyWrite', table: T, key, values: kvRecordFromStrings({ f: v }) });
const rd = (key: string): KvOperation => ({ type: 'read', table: T, key });
const del = (key: string): KvOperation => ({ type: 'delete', table: T, key });
const scan = (startKey: string, count: number): KvOperation => ({ type: 'scan', table: T, startKey, count });
const rec = (v: string): KvResult => ({ type: 'record', record: kvRecordFromStrings({ f: v }) });
const OK: KvResult = { type: 'ok' };
const NF: KvResult = { type: 'notFound' };

test('sequential write then read is linearizable', () => {
  const h = [op('a', ins('x', '1'), OK, 0, 1), op('b', rd('x'), rec('1'), 2, 3), op('a', upd('x', '2'), OK, 4, 5), op('b', rd('x'), rec('2'), 6, 7)];
  assert.equal(checkKvHistory(h).ok, true);
});

test('stale read after a completed write is rejected with a counterexample', () => {
  const h = [op('a', ins('x', '1'), OK, 0, 1), op('a', ins('x', '2'), OK, 2, 3), op('b', rd('x'), rec('1'), 4, 5)];
  const r = checkKvHistory(h);
  assert.equal(r.ok, false);
  if (r.ok !== false) return;
  assert.match(r.counterexample.partition, /"x"/);
  assert.equal(r.counterexample.operations.length, 3);
  assert.ok(r.counterexample.longestPrefix.length >= 2);
  assert.match(r.counterexample.message, /read usertable\/x -> record \{f:"1"\}/);
});

test('reads concurrent with a write may see either value, but not go back in time', () => {
  const ok = [op('a', ins('x', '1'), OK, 0, 10), op('b', rd('x'), NF, 1, 2), op('c', rd('x'), rec('1'), 3, 4), op('b', rd('x'), rec('1'), 5, 6)];
  assert.equal(checkKvHistory(ok).ok, true);
  const overlapBoth = [op('a', ins('x', '1'), OK, 0, 10), op('b', rd('x'), rec('1'), 1, 2), op('c', rd('x'), NF, 1, 3)];
  assert.equal(checkKvHistory(overlapBoth).ok, true, 'overlapping reads may be ordered either way');
  const bad = [op('a', ins('x', '1'), OK, 0, 10), op('b', rd('x'), rec('1'), 1, 2), op('c', rd('x'), NF, 3, 4)];
  assert.equal(checkKvHistory(bad).ok, false);
});

test('lost update: two read-modify-writes reading the same value are rejected', () => {
  const lost = [
    op('a', ins('x', '0'), OK, 0, 1),
    op('b', rmw('x', 'b'), rec('0'), 2, 6),
    op('c', rmw('x', 'c'), rec('0'), 3, 7),
  ];
  assert.equal(checkKvHistory(lost).ok, false);
  const fine = [
    op('a', ins('x', '0'), OK, 0, 1),
    op('b', rmw('x', 'b'), rec('c'), 2, 6),
    op('c', rmw('x', 'c'), rec('0'), 3, 7),
    op('d', rd('x'), rec('b'), 8, 9),
  ];
  assert.equal(checkKvHistory(fine).ok, true);
});

test('an operation that never returned may take effect later or never', () => {
  const later = [op('a', ins('x', '1'), undefined, 0, undefined), op('b', rd('x'), NF, 5, 6), op('b', rd('x'), rec('1'), 7, 8)];
  assert.equal(checkKvHistory(later).ok, true);
  const never = [op('a', ins('x', '1'), undefined, 0, undefined), op('b', rd('x'), NF, 5, 6), op('b', rd('x'), NF, 7, 8)];
  assert.equal(checkKvHistory(never).ok, true);
  const flipFlop = [op('a', ins('x', '1'), undefined, 0, undefined), op('b', rd('x'), rec('1'), 5, 6), op('b', rd('x'), NF, 7, 8)];
  assert.equal(checkKvHistory(flipFlop).ok, false);
  const beforeCall = [op('b', rd('x'), rec('1'), 0, 1), op('a', ins('x', '1'), undefined, 2, undefined)];
  assert.equal(checkKvHistory(beforeCall).ok, false, 'cannot take effect before its invocation');
});

test('error results are legal anywhere and have no effect', () => {
  const h = [op('a', upd('x', '1'), { type: 'error', code: 'limit-exceeded', message: 'm' }, 0, 1), op('b', rd('x'), NF, 2, 3)];
  assert.equal(checkKvHistory(h).ok, true);
});

test('update, delete and notFound semantics', () => {
  assert.equal(checkKvHistory([op('a', upd('x', '1'), NF, 0, 1), op('a', rd('x'), NF, 2, 3)]).ok, true);
  assert.equal(checkKvHistory([op('a', upd('x', '1'), OK, 0, 1)]).ok, false, 'update of a missing key cannot succeed');
  assert.equal(checkKvHistory([op('a', ins('x', '1'), OK, 0, 1), op('a', del('x'), OK, 2, 3), op('a', del('x'), NF, 4, 5)]).ok, true);
  assert.equal(checkKvHistory([op('a', ins('x', '1'), OK, 0, 1), op('a', del('x'), OK, 2, 3), op('a', rd('x'), rec('1'), 4, 5)]).ok, false);
});

test('scans are checked per table, against all keys of the table', () => {
  const good = [op('a', ins('a', '1'), OK, 0, 1), op('a', ins('b', '2'), OK, 2, 3), op('c', scan('a', 5), { type: 'records', records: [{ key: 'a', record: kvRecordFromStrings({ f: '1' }) }, { key: 'b', record: kvRecordFromStrings({ f: '2' }) }] }, 4, 5)];
  const r = checkKvHistory(good);
  assert.equal(r.ok, true);
  assert.equal(r.partitions, 1);
  const missing = [op('a', ins('a', '1'), OK, 0, 1), op('a', ins('b', '2'), OK, 2, 3), op('c', scan('a', 5), { type: 'records', records: [{ key: 'a', record: kvRecordFromStrings({ f: '1' }) }] }, 4, 5)];
  assert.equal(checkKvHistory(missing).ok, false);
  const concurrent = [op('a', ins('a', '1'), OK, 0, 1), op('a', ins('b', '2'), OK, 2, 9), op('c', scan('a', 5), { type: 'records', records: [{ key: 'a', record: kvRecordFromStrings({ f: '1' }) }] }, 4, 5)];
  assert.equal(checkKvHistory(concurrent).ok, true);
  const limited = [op('a', ins('a', '1'), OK, 0, 1), op('a', ins('b', '2'), OK, 2, 3), op('c', scan('a', 5), { type: 'records', records: [{ key: 'a', record: kvRecordFromStrings({ f: '1' }) }] }, 4, 5)];
  assert.equal(checkKvHistory(limited, {}, { maxScanCount: 1 }).ok, true, 'scan count is capped by maxScanCount');
});

test('independent keys are separate partitions', () => {
  const h = [op('a', ins('x', '1'), OK, 0, 1), op('b', ins('y', '1'), OK, 0, 1), op('a', rd('y'), rec('1'), 2, 3)];
  const r = checkKvHistory(h);
  assert.equal(r.ok, true);
  assert.equal(r.partitions, 2);
});

test('the step budget yields unknown, never a verdict', () => {
  // Many fully concurrent writes and reads of distinct values: large search space.
  const h: Op[] = [];
  for (let i = 0; i < 8; i++) h.push(op(`w${i}`, ins('x', String(i)), OK, 0, 100));
  for (let i = 0; i < 8; i++) h.push(op(`r${i}`, rd("x"), rec(String(7 - i)), 1, 100));
  const r = checkKvHistory(h, { maxSteps: 50 });
  assert.equal(r.ok, 'unknown');
  let clock = 0;
  const byTime = checkKvHistory(h, { timeoutMs: 10, now: () => (clock += 1) });
  assert.equal(byTime.ok, 'unknown');
  assert.equal(checkKvHistory(h).ok, true, 'with the default budget the history is accepted');
});

test('generic model: a register with a wrong value is rejected', () => {
  const reg: Model<number, { w?: number }, number> = {
    init: () => 0,
    step: (s, i, o) => (i.w !== undefined ? { ok: true, state: i.w } : { ok: o === undefined || o === s, state: s }),
    stateKey: (s) => String(s),
  };
  const mk = (input: { w?: number }, output: number | undefined, call: number, ret: number): Operation<{ w?: number }, number> => ({ client: 'c', id: String(seq++), input, output, call, ret });
  assert.equal(checkLinearizable(reg, [mk({ w: 1 }, 0, 0, 1), mk({}, 1, 2, 3)]).ok, true);
  assert.equal(checkLinearizable(reg, [mk({ w: 1 }, 0, 0, 1), mk({}, 0, 2, 3)]).ok, false);
  assert.equal(checkLinearizable(reg, []).ok, true);
});

test('eventsToOperations pairs events and rejects malformed histories', () => {
  const rcd = new HistoryRecorder<KvOperation, KvResult>();
  rcd.invoke('a', '1', ins('x', '1'), 0);
  rcd.invoke('b', '1', rd('x'), 1);
  rcd.complete('a', '1', OK, 2);
  rcd.complete('b', '1', undefined, 3);
  const ops = rcd.operations();
  assert.equal(ops.length, 2);
  assert.deepEqual([ops[0]!.call, ops[0]!.ret, ops[1]!.ret, ops[1]!.output], [0, 2, undefined, undefined]);
  const bad = (events: Parameters<typeof eventsToOperations>[0], reason: string): void => {
    assert.throws(() => eventsToOperations(events), (e: unknown) => e instanceof HistoryError && e.reason === reason);
  };
  bad([{ type: 'return', client: 'a', id: '1', output: OK, time: 0 }], 'unknown-return');
  bad([{ type: 'invoke', client: 'a', id: '1', input: rd('x'), time: 0 }, { type: 'invoke', client: 'a', id: '1', input: rd('x'), time: 1 }], 'duplicate-invoke');
  bad([{ type: 'invoke', client: 'a', id: '1', input: rd('x'), time: 5 }, { type: 'return', client: 'a', id: '1', output: OK, time: 1 }], 'time-order');
  bad([{ type: 'invoke', client: 'a', id: '1', input: rd('x'), time: NaN }], 'bad-time');
  bad([{ type: 'invoke', client: 'a', id: '1', input: rd('x'), time: 0 }, { type: 'return', client: 'a', id: '1', output: OK, time: 1 }, { type: 'return', client: 'a', id: '1', output: OK, time: 2 }], 'duplicate-return');
});

// ---- property tests: sequential executions with widened intervals ----

const keyArb = fc.constantFrom('k0', 'k1', 'k2');
const opArb: fc.Arbitrary<(i: number) => KvOperation> = fc.oneof(
  keyArb.map((k) => (): KvOperation => rd(k)),
  keyArb.map((k) => (i: number): KvOperation => ins(k, `v${i}`)),
  keyArb.map((k) => (i: number): KvOperation => upd(k, `v${i}`)),
  keyArb.map((k) => (): KvOperation => del(k)),
  keyArb.map((k) => (i: number): KvOperation => rmw(k, `v${i}`)),
  fc.tuple(keyArb, fc.integer({ min: 0, max: 4 })).map(([k, c]) => (): KvOperation => scan(k, c)),
);
const historyArb = fc.array(fc.record({ mk: opArb, widenCall: fc.nat(40), widenRet: fc.nat(40), pending: fc.integer({ min: 0, max: 9 }), client: fc.nat(5) }), { minLength: 1, maxLength: 60, size: 'max' });

function sequentialHistory(spec: { mk: (i: number) => KvOperation; widenCall: number; widenRet: number; pending: number; client: number }[], withScans: boolean): Op[] {
  const store = new KvStore();
  const out: Op[] = [];
  spec.forEach((s, i) => {
    let input = s.mk(i);
    if (!withScans && input.type === 'scan') input = rd(input.startKey);
    const result = store.apply(input);
    const pending = s.pending === 0;
    out.push({ client: `c${s.client}`, id: String(i), input, output: pending ? undefined : result, call: 10 * i - s.widenCall, ret: pending ? undefined : 10 * i + 5 + s.widenRet });
  });
  return out;
}

test('property: widened sequential executions are linearizable', () => {
  fc.assert(
    fc.property(historyArb, fc.boolean(), (spec, withScans) => {
      const r = checkKvHistory(sequentialHistory(spec, withScans));
      assert.equal(r.ok, true, r.ok === false ? r.counterexample.message : 'budget');
    }),
    { numRuns: 200 },
  );
});

test('property: a read of a value never written is rejected', () => {
  fc.assert(
    fc.property(historyArb, fc.boolean(), fc.nat(), (spec, withScans, pick) => {
      const h = sequentialHistory(spec, withScans);
      const reads = h.map((o, i) => ({ o, i })).filter(({ o }) => o.output?.type === 'record' || (o.output?.type === 'records' && o.output.records.length > 0));
      fc.pre(reads.length > 0);
      const { o, i } = reads[pick % reads.length]!;
      const bogus = kvRecordFromStrings({ f: 'never-written' });
      const prev = o.output!;
      const output: KvResult = prev.type === 'records' ? { type: 'records', records: prev.records.map((x, j) => (j === 0 ? { key: x.key, record: bogus } : x)) } : { type: 'record', record: bogus };
      const mutated = h.slice();
      mutated[i] = { ...o, output };
      const r = checkKvHistory(mutated);
      assert.equal(r.ok, false);
    }),
    { numRuns: 200 },
  );
});
