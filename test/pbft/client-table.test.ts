/** Exactly-once table: window semantics, bounded clients with deterministic eviction, encoding. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ClientTable, decodeCoreState, encodeCoreState } from '../../src/consensus/pbft/client-table.ts';
import { DecodeError } from '../../src/consensus/pbft/codec.ts';

const r = (b: number): Uint8Array => Uint8Array.of(b);

test('client table: window of W ids; executed ids answer with their result', () => {
  const t = new ClientTable(3);
  assert.equal(t.lookup('a', 0n).status, 'too-old', 'request id 0 is never valid');
  assert.equal(t.lookup('a', 5n).status, 'new');
  t.record('a', 5n, r(5), 1n);
  t.record('a', 3n, r(3), 2n);
  assert.deepEqual(t.lookup('a', 3n), { status: 'executed', result: r(3) });
  assert.equal(t.lookup('a', 4n).status, 'new', 'a gap inside the window is still executable');
  assert.equal(t.lookup('a', 2n).status, 'too-old', '2 ≤ 5 − 3');
  t.record('a', 7n, r(7), 3n);
  assert.equal(t.lookup('a', 3n).status, 'too-old', 'pruned once the window moved past it');
  assert.deepEqual(t.lookup('a', 5n), { status: 'executed', result: r(5) });
});

test('client table: at most maxClients, evicting the least recently served deterministically', () => {
  const t = new ClientTable(4, 2);
  t.record('b', 1n, r(1), 1n);
  t.record('a', 1n, r(1), 1n);
  t.record('b', 2n, r(2), 2n);
  t.record('c', 1n, r(1), 3n); // evicts 'a' (last served at seq 1; 'b' at 2)
  assert.equal(t.size, 2);
  assert.equal(t.lookup('a', 1n).status, 'new');
  assert.equal(t.lookup('b', 2n).status, 'executed');
  assert.equal(t.lookup('c', 1n).status, 'executed');
});

test('client table: core state encoding round-trips and is order-independent', () => {
  const ops = fc.array(fc.record({ c: fc.constantFrom('x', 'y', 'zz', 'é'), id: fc.bigInt({ min: 1n, max: 20n }), res: fc.uint8Array({ maxLength: 4 }) }), { maxLength: 30 });
  fc.assert(
    fc.property(ops, fc.uint8Array({ maxLength: 20 }), (list, app) => {
      const t = new ClientTable(8, 3);
      let seq = 0n;
      for (const o of list) if (t.lookup(o.c, o.id).status === 'new') t.record(o.c, o.id, o.res, ++seq);
      const bytes = encodeCoreState(t, app);
      const back = decodeCoreState(bytes, 8, 3);
      assert.deepEqual(back.app, app);
      assert.deepEqual(encodeCoreState(back.table, back.app), bytes);
    }),
    { numRuns: 300 },
  );
});

test('client table: malformed core state is a DecodeError', () => {
  const t = new ClientTable(8);
  t.record('x', 1n, r(1), 1n);
  const good = encodeCoreState(t, r(9));
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(), (i, xor, cut) => {
      const b = good.slice();
      b[i % b.length] ^= xor;
      for (const candidate of [b, good.slice(0, cut % good.length)]) {
        try {
          decodeCoreState(candidate, 8);
        } catch (e) {
          assert.ok(e instanceof DecodeError, String(e));
        }
      }
    }),
    { numRuns: 500 },
  );
  assert.throws(() => decodeCoreState(good, 8, 0), DecodeError, 'more clients than allowed');
});
