import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from '../../src/apps/codec.ts';
import {
  KvStore,
  decodeKvOperation,
  decodeKvResult,
  encodeKvOperation,
  encodeKvResult,
  kvRecordFromStrings,
  type KvOperation,
  type KvResult,
} from '../../src/apps/kv.ts';
import { Counter, decodeCounterOperation, decodeCounterResult, encodeCounterOperation, encodeCounterResult } from '../../src/apps/counter.ts';
import { RUNS, decodeOrTypedError, fuzzBytes, norm } from './helpers.ts';

const rec = kvRecordFromStrings({ a: 'x', b: 'yy' });
const kvOps: KvOperation[] = [
  { type: 'read', table: 't', key: 'k1', fields: ['a'] },
  { type: 'read', table: 't', key: 'k1' },
  { type: 'update', table: 't', key: 'k1', values: rec },
  { type: 'insert', table: 't', key: 'k2', values: rec },
  { type: 'delete', table: 't', key: 'k2' },
  { type: 'scan', table: 't', startKey: 'k', count: 10, fields: ['a', 'b'] },
  { type: 'readModifyWrite', table: 't', key: 'k1', fields: ['b'], values: rec },
];
const kvResults: KvResult[] = [
  { type: 'ok' },
  { type: 'notFound' },
  { type: 'record', record: rec },
  { type: 'records', records: [{ key: 'k1', record: rec }, { key: 'k2', record: rec }] },
  { type: 'error', code: 'malformed', message: 'bad' },
];
const isDecodeError = (e: unknown): boolean => e instanceof DecodeError;

function populatedStore(): KvStore {
  const s = new KvStore();
  for (const op of kvOps) s.apply(op);
  s.apply({ type: 'insert', table: 'u', key: 'z', values: rec });
  return s;
}

test('fuzz: KV operations decode to a valid operation or a DecodeError; the store never throws', () => {
  const corpus = kvOps.map((o) => encodeKvOperation(o));
  const store = populatedStore();
  fc.assert(
    fc.property(fuzzBytes(corpus), (input) => {
      const op = decodeOrTypedError((x) => decodeKvOperation(x), input, isDecodeError);
      if (op !== undefined) assert.deepEqual(norm(decodeKvOperation(encodeKvOperation(op))), norm(op));
      // execute() must turn anything into a result, never an exception.
      const res = decodeKvResult(store.execute(input));
      if (op === undefined) assert.equal(res.type, 'error');
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: KV results decode to a valid result or a DecodeError', () => {
  const corpus = kvResults.map((r) => encodeKvResult(r));
  fc.assert(
    fc.property(fuzzBytes(corpus), (input) => {
      const r = decodeOrTypedError((x) => decodeKvResult(x), input, isDecodeError);
      if (r !== undefined) assert.deepEqual(norm(decodeKvResult(encodeKvResult(r))), norm(r));
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: KV snapshots restore exactly or throw DecodeError leaving the state unchanged', () => {
  const original = populatedStore();
  const snap = original.snapshot();
  fc.assert(
    fc.property(fuzzBytes([snap]), (input) => {
      const s = populatedStore();
      const restored = decodeOrTypedError((x) => (s.restore(x), true), input, isDecodeError);
      if (restored === undefined) {
        assert.deepEqual(Buffer.from(s.snapshot()), Buffer.from(snap), 'a failed restore must leave the state unchanged');
      } else {
        // Snapshots are canonical: an accepted one is reproduced byte for byte.
        assert.deepEqual(Buffer.from(s.snapshot()).toString('hex'), Buffer.from(input).toString('hex'));
      }
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: counter operations, results and snapshots', () => {
  const ops = [encodeCounterOperation({ type: 'add', amount: 5n }), encodeCounterOperation({ type: 'add', amount: -(1n << 63n) }), encodeCounterOperation({ type: 'get' })];
  const results = [encodeCounterResult({ type: 'value', value: 42n }), encodeCounterResult({ type: 'error', code: 'overflow', message: 'o' })];
  const c = new Counter();
  c.execute(ops[0]!);
  const snap = c.snapshot();
  fc.assert(
    fc.property(fuzzBytes([...ops, ...results, snap]), (input) => {
      const op = decodeOrTypedError(decodeCounterOperation, input, isDecodeError);
      if (op !== undefined) assert.deepEqual(decodeCounterOperation(encodeCounterOperation(op)), op);
      const r = decodeOrTypedError(decodeCounterResult, input, isDecodeError);
      if (r !== undefined) assert.deepEqual(decodeCounterResult(encodeCounterResult(r)), r);
      const fresh = new Counter();
      fresh.execute(ops[0]!);
      const ok = decodeOrTypedError((x) => (fresh.restore(x), true), input, isDecodeError);
      if (ok === undefined) assert.deepEqual(Buffer.from(fresh.snapshot()), Buffer.from(snap));
      decodeCounterResult(c.execute(input)); // never throws
    }),
    { numRuns: RUNS },
  );
});
