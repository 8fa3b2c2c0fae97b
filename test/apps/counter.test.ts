import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Counter, decodeCounterResult, encodeCounterOperation, decodeCounterOperation } from '../../src/apps/counter.ts';
import { EncodeError } from '../../src/apps/codec.ts';

const add = (n: bigint) => encodeCounterOperation({ type: 'add', amount: n });
const get = encodeCounterOperation({ type: 'get' });

test('counter: add and get', () => {
  const c = new Counter();
  assert.deepEqual(decodeCounterResult(c.execute(get)), { type: 'value', value: 0n });
  assert.deepEqual(decodeCounterResult(c.execute(add(5n))), { type: 'value', value: 5n });
  assert.deepEqual(decodeCounterResult(c.execute(add(-7n))), { type: 'value', value: -2n });
  assert.deepEqual(decodeCounterResult(c.executeReadOnly(get)!), { type: 'value', value: -2n });
  assert.equal(c.executeReadOnly(add(1n)), undefined);
  assert.equal(c.current, -2n);
});

test('counter: overflow is refused with an error result, value unchanged', () => {
  const c = new Counter();
  c.execute(add((1n << 63n) - 1n));
  const r = decodeCounterResult(c.execute(add(1n)));
  assert.equal(r.type === 'error' && r.code, 'overflow');
  assert.equal(c.current, (1n << 63n) - 1n);
  assert.throws(() => encodeCounterOperation({ type: 'add', amount: 1n << 63n }), EncodeError);
});

test('counter: malformed operations give error results', () => {
  const c = new Counter();
  const codes = [new Uint8Array(), Uint8Array.from([2, 2]), Uint8Array.from([1, 9]), Uint8Array.from([1, 1, 0]), Uint8Array.from([1, 2, 0])].map((b) => {
    const r = decodeCounterResult(c.execute(b));
    return r.type === 'error' ? r.code : 'value';
  });
  assert.deepEqual(codes, ['malformed', 'unsupported-version', 'unknown-operation', 'malformed', 'malformed']);
  assert.equal(c.current, 0n);
});

test('counter: snapshot/restore round-trips and rejects bad bytes', () => {
  fc.assert(
    fc.property(fc.array(fc.bigInt({ min: -(1n << 40n), max: 1n << 40n }), { maxLength: 20 }), (xs) => {
      const a = new Counter();
      for (const x of xs) a.execute(add(x));
      const b = new Counter();
      b.restore(a.snapshot());
      assert.equal(b.current, xs.reduce((s, x) => s + x, 0n));
      assert.deepEqual(b.execute(add(1n)), a.execute(add(1n)));
    }),
    { seed: 1, numRuns: 50 },
  );
  const c = new Counter();
  c.execute(add(3n));
  assert.throws(() => c.restore(new Uint8Array([1, 0, 0])));
  assert.throws(() => c.restore(new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0, 0])));
  assert.equal(c.current, 3n);
  assert.deepEqual(decodeCounterOperation(add(-1n)), { type: 'add', amount: -1n });
});
