import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, encodeCounterOperation, decodeCounterResult } from '../../src/apps/counter.ts';
import { CartApplicationProxy, SnapshotFormatError, type ExecutedBatch, type OrderedRejectReason } from '../../src/replica/index.ts';
import { createClientIdentity, signedFrame } from './raw.ts';
import { toHex } from '../../src/wire/digest.ts';

const add = (amount: bigint) => encodeCounterOperation({ type: 'add', amount });
const val = (b: Uint8Array) => (decodeCounterResult(b) as { value: bigint }).value;

function harness(window = 4, maxClients = 100) {
  const executed: ExecutedBatch[] = [];
  const rejected: OrderedRejectReason[] = [];
  const app = new Counter();
  const proxy = new CartApplicationProxy(app, { window, maxClients, onExecuted: (b) => executed.push(b), onRejected: (r) => rejected.push(r) });
  return { app, proxy, executed, rejected };
}

test('deduplication: out-of-order ids within the window execute once; duplicates answer from the cache; ids below the window are stale', () => {
  const h = harness(4);
  const id = createClientIdentity();
  const f = (n: bigint, amount = 1n) => signedFrame(id, n, add(amount));
  h.proxy.executeBatch({ sequence: 1n, requests: [f(3n), f(1n), f(2n)] });
  assert.equal(h.app.current, 3n);
  // duplicates of 1 and 3, in a later batch: not executed again, same results, leaves present
  const r = h.proxy.executeBatch({ sequence: 2n, requests: [f(1n), f(3n)] });
  assert.equal(h.app.current, 3n);
  assert.deepEqual(r.map(val), [2n, 1n]);
  assert.deepEqual(h.executed[1]!.replies.map((x) => x.duplicate), [true, true]);
  h.proxy.executeBatch({ sequence: 3n, requests: [f(9n)] }); // window moves to (5, 9]
  assert.equal(h.app.current, 4n);
  const stale = h.proxy.executeBatch({ sequence: 4n, requests: [f(2n), f(5n), f(6n)] });
  assert.equal(h.app.current, 5n, 'only id 6 executed');
  assert.deepEqual(h.rejected, ['stale', 'stale']);
  assert.equal(stale[0]!.length, 0);
  assert.equal(h.executed[3]!.replies.length, 1);
  assert.equal(h.proxy.lookup(toHex(id.clientId), 2n), 'stale');
  assert.equal((h.proxy.lookup(toHex(id.clientId), 6n) as { sequence: bigint }).sequence, 4n);
});

test('badly signed, malformed and re-signed-by-another-client requests produce no reply and are not executed', () => {
  const h = harness();
  const id = createClientIdentity();
  const forged = signedFrame(id, 1n, add(1n));
  forged[forged.length - 5]! ^= 0x10;
  const mallory = createClientIdentity();
  // mallory signs a request with her own key: it counts against her id, never against id's
  const hers = signedFrame(mallory, 1n, add(100n));
  h.proxy.executeBatch({ sequence: 1n, requests: [forged, Uint8Array.of(1, 2, 3), hers] });
  assert.deepEqual(h.rejected, ['bad-signature', 'malformed']);
  assert.equal(h.app.current, 100n);
  assert.equal(h.proxy.lookup(toHex(id.clientId), 1n), undefined);
  h.proxy.executeBatch({ sequence: 2n, requests: [signedFrame(id, 1n, add(1n))] });
  assert.equal(h.app.current, 101n);
});

test('snapshot/restore carries application state and the deduplication table, byte-identically', () => {
  const a = harness(8);
  const ids = [createClientIdentity(), createClientIdentity()];
  a.proxy.executeBatch({ sequence: 5n, requests: [signedFrame(ids[0]!, 1n, add(2n)), signedFrame(ids[1]!, 1n, add(3n))] });
  a.proxy.executeBatch({ sequence: 9n, requests: [signedFrame(ids[0]!, 2n, add(4n))] });
  const snap = a.proxy.snapshot();
  const b = harness(8);
  b.proxy.restore(snap, 9n);
  assert.deepEqual([...b.proxy.snapshot()], [...snap]);
  assert.equal(b.app.current, 9n);
  assert.equal(b.proxy.lastSequence, 9n);
  // the same next batch (with a retransmission) gives the same results and leaves at both
  const next = { sequence: 12n, requests: [signedFrame(ids[1]!, 1n, add(3n)), signedFrame(ids[1]!, 2n, add(1n))] };
  assert.deepEqual(a.proxy.executeBatch(next).map(val), b.proxy.executeBatch(next).map(val));
  assert.deepEqual(a.executed.at(-1)!.replies.map((r) => toHex(r.digest)), b.executed.at(-1)!.replies.map((r) => toHex(r.digest)));
  assert.equal(b.app.current, 10n, 'retransmitted request not executed again after restore');
  // malformed snapshots are refused and leave the state unchanged
  assert.throws(() => b.proxy.restore(snap.slice(0, snap.length - 3), 20n), SnapshotFormatError);
  assert.throws(() => b.proxy.restore(new Uint8Array(40), 20n), SnapshotFormatError);
  assert.equal(b.app.current, 10n);
  assert.equal(b.proxy.lastSequence, 12n);
});

test('acknowledgements: entries below a client\'s ack are forgotten and their ids become stale; lower (older) acks change nothing; snapshots keep it', () => {
  const h = harness(64);
  const id = createClientIdentity();
  const clientHex = toHex(id.clientId);
  const f = (n: bigint, ack = 0n) => signedFrame(id, n, add(1n), undefined, 0n, ack);
  h.proxy.executeBatch({ sequence: 1n, requests: [f(1n), f(2n), f(3n), f(4n)] });
  const before = h.proxy.snapshot().length;
  // request 6 says: replies held for every id below 3 (3 and 5 still outstanding)
  h.proxy.executeBatch({ sequence: 2n, requests: [f(6n, 3n)] });
  assert.equal(h.proxy.lookup(clientHex, 1n), 'stale');
  assert.equal(h.proxy.lookup(clientHex, 2n), 'stale');
  assert.equal((h.proxy.lookup(clientHex, 3n) as { sequence: bigint }).sequence, 1n, 'id 3 kept: not acknowledged');
  assert.ok(h.proxy.snapshot().length < before + 60, 'two forgotten entries outweigh the new one');
  // a replay of id 2 is refused, never executed; 5 (outstanding, above the ack) still executes
  h.proxy.executeBatch({ sequence: 3n, requests: [f(2n), f(5n, 3n)] });
  assert.deepEqual(h.rejected, ['stale']);
  assert.equal(h.app.current, 6n);
  // an older frame with a lower ack does not undo anything; an ack above the request's own id is clamped to it
  h.proxy.executeBatch({ sequence: 4n, requests: [f(7n, 1n), f(8n, 100n)] });
  assert.equal((h.proxy.lookup(clientHex, 8n) as { sequence: bigint }).sequence, 4n, 'its own entry stays');
  assert.equal(h.proxy.lookup(clientHex, 7n), 'stale', 'acknowledged by request 8 (clamped to 8)');
  assert.equal(h.app.current, 8n);
  // restored from a snapshot, the acknowledgement still holds
  const b = harness(64);
  b.proxy.restore(h.proxy.snapshot(), 4n);
  assert.equal(b.proxy.lookup(clientHex, 7n), 'stale');
  assert.deepEqual([...b.proxy.snapshot()], [...h.proxy.snapshot()]);
});

test('the client table is bounded: a full table refuses new clients (busy) until its least recently active client is idle beyond the horizon', () => {
  const executed: ExecutedBatch[] = [];
  const mk = () => new CartApplicationProxy(new Counter(), { window: 4, maxClients: 2, freshnessHorizon: 10n, onExecuted: (b) => executed.push(b) });
  const h = { proxy: mk() };
  const ids = [createClientIdentity(), createClientIdentity(), createClientIdentity()];
  h.proxy.executeBatch({ sequence: 1n, requests: ids.map((id) => signedFrame(id, 1n, add(1n))) });
  assert.notEqual(h.proxy.lookup(toHex(ids[0]!.clientId), 1n), undefined);
  assert.equal(h.proxy.lookup(toHex(ids[2]!.clientId), 1n), undefined, 'third client refused, not executed');
  // sequence 11: ids[0] was last active at 1, 1 + 10 < 11 → evictable
  h.proxy.executeBatch({ sequence: 12n, requests: [signedFrame(ids[2]!, 1n, add(1n), undefined, 5n)] });
  assert.equal(h.proxy.knowsClient(toHex(ids[0]!.clientId)), false);
  assert.notEqual(h.proxy.lookup(toHex(ids[2]!.clientId), 1n), undefined);
  const other = { proxy: mk() };
  other.proxy.executeBatch({ sequence: 1n, requests: ids.map((id) => signedFrame(id, 1n, add(1n))) });
  other.proxy.executeBatch({ sequence: 12n, requests: [signedFrame(ids[2]!, 1n, add(1n), undefined, 5n)] });
  assert.deepEqual([...other.proxy.snapshot()], [...h.proxy.snapshot()]);
});

test('node:crypto and pure-JS client identities derive the same key and signatures from one seed', async () => {
  const { createNodeClientIdentity } = await import('../../src/client/node-identity.ts');
  const seed = new Uint8Array(32).map((_, i) => i * 7);
  const a = createClientIdentity(seed);
  const b = createNodeClientIdentity(seed);
  assert.deepEqual([...a.publicKey], [...b.publicKey]);
  assert.deepEqual([...a.clientId], [...b.clientId]);
  const msg = Uint8Array.of(1, 2, 3);
  assert.deepEqual([...a.sign(msg)], [...b.sign(msg)]);
  // and the replica accepts requests from both
  const h = harness();
  h.proxy.executeBatch({ sequence: 1n, requests: [signedFrame(a, 1n, add(1n)), signedFrame(b, 2n, add(1n))] });
  assert.equal(h.app.current, 2n);
});

test('an ordered request marked read-only runs only as a read: a write flagged read-only is refused (no double execution of a fallback), a read is answered in order and leaves no deduplication state', async () => {
  const { signRequest } = await import('../../src/client/identity.ts');
  const { encodeClientFrame } = await import('../../src/wire/codec.ts');
  const rejections: { reason: OrderedRejectReason; requestId: bigint | undefined }[] = [];
  const app = new Counter();
  const executed: ExecutedBatch[] = [];
  const proxy = new CartApplicationProxy(app, { window: 4, maxClients: 100, onExecuted: (b) => executed.push(b), onRejected: (reason, r) => rejections.push({ reason, requestId: r?.requestId }) });
  const id = createClientIdentity();
  const reader = createClientIdentity();
  const readOnlyFrame = (who: typeof id, requestId: bigint, op: Uint8Array) =>
    encodeClientFrame({ clientPublicKey: who.publicKey, requestId, operation: op, readOnly: true, signature: signRequest(who, requestId, true, op) });
  const op = add(1n);
  const get = encodeCounterOperation({ type: 'get' });
  const results = proxy.executeBatch({ sequence: 1n, requests: [readOnlyFrame(id, 1n, op), signedFrame(id, 2n, op), readOnlyFrame(reader, 1n, get)] });
  // the refusal names the request, so the contact can tell its client (READ_ONLY_FAILED) at once
  assert.deepEqual(rejections, [{ reason: 'read-only', requestId: 1n }]);
  assert.equal(app.current, 1n, 'only the ordered re-issue executed');
  assert.equal(val(results[2]!), 1n, 'the read sees the write ordered before it');
  assert.deepEqual(executed[0]!.replies.map((r) => r.requestId), [2n, 1n], 'the read has a leaf (a signed ordered reply)');
  // a read takes no deduplication slot: the reader is unknown to the table, and a replay simply reads again
  assert.equal(proxy.knowsClient(toHex(reader.clientId)), false);
  proxy.executeBatch({ sequence: 2n, requests: [signedFrame(id, 3n, op)] });
  assert.equal(val(proxy.executeBatch({ sequence: 3n, requests: [readOnlyFrame(reader, 1n, get)] })[0]!), 2n);
});
