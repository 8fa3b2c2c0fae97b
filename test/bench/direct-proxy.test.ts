/**
 * DirectApplicationProxy (the BFT-SMaRt baseline's proxy): ordered requests executed directly on
 * the KV application, byte-identical to the application's own results; duplicate batches not
 * executed twice; snapshot/restore round trip; malformed requests give error results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore } from '../../src/apps/kv.ts';
import { decodeKvResult, encodeKvOperation, type KvOperation } from '../../src/apps/kv-codec.ts';
import { DirectApplicationProxy } from '../../src/bench/cart/direct-proxy.ts';

const enc = (op: KvOperation): Uint8Array => encodeKvOperation(op);
const ins = (key: string, v: string): KvOperation => ({ type: 'insert', table: 'usertable', key, values: { field0: new TextEncoder().encode(v) } });
const read = (key: string): KvOperation => ({ type: 'read', table: 'usertable', key });

test('DirectApplicationProxy: results equal the application executing the same requests in order', () => {
  const proxy = new DirectApplicationProxy(new KvStore());
  const reference = new KvStore();
  const batches = [
    [enc(ins('a', '1')), enc(ins('b', '2'))],
    [enc(read('a')), enc(ins('a', '3')), enc(read('a')), new Uint8Array([0xff, 0x00, 0x13])],
  ];
  batches.forEach((requests, i) => {
    const got = proxy.executeBatch({ sequence: BigInt(i + 1), requests });
    assert.deepEqual(got, requests.map((r) => reference.execute(r)), `batch ${i + 1}`);
  });
  const readBack = decodeKvResult(proxy.executeBatch({ sequence: 5n, requests: [enc(read('b'))] })[0]!);
  assert.deepEqual(readBack, { type: 'record', record: { field0: new TextEncoder().encode('2') } });
  // a malformed request is an error result, not an exception
  assert.equal(decodeKvResult(proxy.executeBatch({ sequence: 6n, requests: [new Uint8Array([1, 2, 3])] })[0]!).type, 'error');
  assert.deepEqual(proxy.stats, { batches: 4, requests: 8, lastSequence: 6n, duplicateBatches: 0 });
});

test('DirectApplicationProxy: a batch at or below the last sequence is not executed again', () => {
  const proxy = new DirectApplicationProxy(new KvStore());
  proxy.executeBatch({ sequence: 3n, requests: [enc(ins('k', 'x'))] });
  const before = proxy.snapshot();
  const again = proxy.executeBatch({ sequence: 3n, requests: [enc(ins('k', 'y'))] });
  assert.deepEqual(again, [new Uint8Array(0)]);
  assert.deepEqual(proxy.snapshot(), before, 'state unchanged');
  assert.equal(proxy.stats.duplicateBatches, 1);
});

test('DirectApplicationProxy: restore installs another replica\'s snapshot and its sequence; malformed bytes leave the state', () => {
  const a = new DirectApplicationProxy(new KvStore());
  a.executeBatch({ sequence: 7n, requests: [enc(ins('k', 'v'))] });
  const b = new DirectApplicationProxy(new KvStore());
  b.restore(a.snapshot(), 7n);
  assert.deepEqual(b.snapshot(), a.snapshot());
  assert.equal(b.stats.lastSequence, 7n);
  assert.deepEqual(b.executeBatch({ sequence: 8n, requests: [enc(read('k'))] }), a.executeBatch({ sequence: 8n, requests: [enc(read('k'))] }));
  const snap = b.snapshot();
  assert.throws(() => b.restore(new Uint8Array([9, 9, 9]), 20n));
  assert.deepEqual(b.snapshot(), snap);
  assert.equal(b.stats.lastSequence, 8n);
});
