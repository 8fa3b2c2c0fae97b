import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore, encodeKvOperation, decodeKvResult, kvRecordFromStrings, kvRecordToStrings } from '../../src/apps/kv.ts';
import { startTestCluster } from './cluster.ts';

const put = (key: string, v: string) => encodeKvOperation({ type: 'insert', table: 'usertable', key, values: kvRecordFromStrings({ field0: v }) });
const get = (key: string) => encodeKvOperation({ type: 'read', table: 'usertable', key });

test('ordered KV operations return verified results', async (t) => {
  const cluster = await startTestCluster({ app: () => new KvStore() });
  t.after(() => cluster.close());
  const client = await cluster.client();
  const ok = decodeKvResult(await client.invoke(put('user1', 'hello')));
  assert.equal(ok.type, 'ok');
  const r = decodeKvResult(await client.invoke(get('user1')));
  assert.equal(r.type, 'record');
  assert.deepEqual(kvRecordToStrings((r as { record: Record<string, Uint8Array> }).record), { field0: 'hello' });
  const s = client.stats();
  assert.equal(s.verified, 2);
  assert.equal(s.failed, 0);
});

import { Counter, encodeCounterOperation, decodeCounterResult } from '../../src/apps/counter.ts';
import { RawConnection, createClientIdentity, signedFrame } from './raw.ts';
import { waitFor } from './cluster.ts';
import { ReplyVerifier } from '../../src/client/reply-verifier.ts';
import { digest, ORDERED_KEY_SET, READONLY_KEY_SET } from '../../src/wire/digest.ts';
import { ErrorCode, type CartReply } from '../../src/wire/codec.ts';

const add = (amount: bigint) => encodeCounterOperation({ type: 'add', amount });
const valueOf = (bytes: Uint8Array): bigint => {
  const r = decodeCounterResult(bytes);
  assert.equal(r.type, 'value');
  return (r as { value: bigint }).value;
};

test('pipelined invocations all complete, each executed once, ≤ 1 pairing check per reply', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter() });
  t.after(() => cluster.close());
  const client = await cluster.client({ maxOutstanding: 64 });
  const results = await Promise.all(Array.from({ length: 200 }, () => client.invoke(add(1n))));
  const values = results.map(valueOf).sort((a, b) => (a < b ? -1 : 1));
  assert.deepEqual(values, Array.from({ length: 200 }, (_, i) => BigInt(i + 1)));
  await waitFor(() => cluster.apps.every((a) => (a as Counter).current === 200n), 10_000, 'all replicas at 200');
  const s = client.stats();
  assert.equal(s.verified, 200);
  assert.ok(s.pairingChecks <= 200, `pairing checks ${s.pairingChecks}`);
  assert.ok(s.pairingChecks >= 1);
});

test('a retransmitted request (to several replicas, twice) is executed once', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter() });
  t.after(() => cluster.close());
  const id = createClientIdentity();
  const frame = signedFrame(id, 1n, add(5n));
  const conns = [0, 1, 2].map((i) => new RawConnection(cluster.replicas[i]!.address));
  t.after(() => conns.forEach((c) => c.close()));
  conns[0]!.send(frame);
  conns[1]!.send(frame);
  conns[2]!.send(frame);
  conns[2]!.send(frame);
  const verifier = new ReplyVerifier(new Map(cluster.publicKeySets.map((k) => [k.name, k.groupPublicKey])), {
    verify: (pk, d, m, s) => cluster.crypto.verify(pk, d, m, s),
  });
  for (const c of conns) {
    const [m] = await c.next(1);
    assert.equal(m!.type, 'reply');
    const reply = (m as { reply: CartReply }).reply;
    const v = await verifier.check(reply, { keySet: ORDERED_KEY_SET, clientId: id.clientId, requestId: 1n, operationDigest: digest(add(5n)) });
    assert.deepEqual(v, { ok: true });
    assert.equal(valueOf(reply.result), 5n);
  }
  // a late retransmission after execution is answered from the reply cache, not re-executed
  const late = new RawConnection(cluster.replicas[3]!.address);
  t.after(() => late.close());
  late.send(frame);
  const [m] = await late.next(1);
  assert.equal(valueOf((m as { reply: CartReply }).reply.result), 5n);
  for (const a of cluster.apps) assert.equal((a as Counter).current, 5n);
});

test('a reply for another request, client, operation or key set never verifies', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter() });
  t.after(() => cluster.close());
  const id = createClientIdentity();
  const other = createClientIdentity();
  const conn = new RawConnection(cluster.replicas[0]!.address);
  t.after(() => conn.close());
  conn.send(signedFrame(id, 7n, add(3n)));
  const [m] = await conn.next(1);
  const reply = (m as { reply: CartReply }).reply;
  const verifier = new ReplyVerifier(new Map(cluster.publicKeySets.map((k) => [k.name, k.groupPublicKey])), {
    verify: (pk, d, mm, s) => cluster.crypto.verify(pk, d, mm, s),
  });
  const expected = { keySet: ORDERED_KEY_SET, clientId: id.clientId, requestId: 7n, operationDigest: digest(add(3n)) };
  assert.deepEqual(await verifier.check(reply, expected), { ok: true });
  const cases: Array<[string, CartReply, typeof expected, string]> = [
    ['other request id', { ...reply, requestId: 8n }, { ...expected, requestId: 8n }, 'bad-proof'],
    ['other client', { ...reply, clientId: other.clientId }, { ...expected, clientId: other.clientId }, 'bad-proof'],
    ['other operation', reply, { ...expected, operationDigest: digest(add(4n)) }, 'bad-proof'],
    ['other key set', { ...reply, keySet: READONLY_KEY_SET }, { ...expected, keySet: READONLY_KEY_SET }, 'bad-proof'],
    ['tampered result', { ...reply, result: add(9n) }, expected, 'bad-proof'],
    ['other sequence', { ...reply, sequence: reply.sequence + 1n }, expected, 'bad-signature'],
    ['forged root', { ...reply, root: digest(reply.root), proof: [] , leafCount: 1, leafIndex: 0 }, expected, 'bad-proof'],
    ['mismatched request id', { ...reply, requestId: 8n }, expected, 'unknown-request'],
  ];
  for (const [name, r, e, reason] of cases) {
    const v = await verifier.check(r, e);
    assert.deepEqual(v, { ok: false, reason }, name);
  }
});

test('malformed, oversized, unknown-version and badly signed frames get typed errors; the replica keeps serving', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter() });
  t.after(() => cluster.close());
  const id = createClientIdentity();
  const conn = new RawConnection(cluster.replicas[0]!.address);
  t.after(() => conn.close());
  conn.send(Uint8Array.of(0xff, 0xff, 0xff, 0x01, 0x02));
  conn.send(signedFrame(id, 1n, add(1n), 1)); // version 1: before acknowledgements were signed
  conn.send(signedFrame(id, 2n, new Uint8Array(100 * 1024)));
  const bad = signedFrame(id, 3n, add(1n));
  bad[bad.length - 1]! ^= 1; // flip a signature bit
  conn.send(bad);
  const msgs = await conn.next(4);
  const codes = msgs.map((m) => (m.type === 'error' ? m.error.code : -1));
  assert.deepEqual(codes, [ErrorCode.MALFORMED, ErrorCode.UNSUPPORTED_VERSION, ErrorCode.TOO_LARGE, ErrorCode.BAD_SIGNATURE]);
  assert.equal((msgs[1] as { error: { supportedVersion: number } }).error.supportedVersion, 2);
  const m = cluster.replicas[0]!.metrics;
  assert.equal(await m.value('cart_client_frames_rejected_total'), 3);
  // a frame above the transport limit closes that connection only
  const huge = new RawConnection(cluster.replicas[0]!.address);
  t.after(() => huge.close());
  huge.send(new Uint8Array(3 * 1024 * 1024));
  await waitFor(() => huge.closedReason !== undefined, 10_000, 'oversize connection closed');
  // still serving, on the old and on new connections
  conn.send(signedFrame(id, 4n, add(2n)));
  const [, , , , ok] = await conn.next(5);
  assert.equal(ok!.type, 'reply');
  const client = await cluster.client();
  assert.equal(valueOf(await client.invoke(add(1n))), 3n);
});

test('batch signatures off: one threshold signature per reply (single-leaf roots), results still verified', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter(), tuning: (i) => ({ batchSignatures: false, ...(i === 1 ? { byzantine: { badShares: true } } : {}) }) });
  t.after(() => cluster.close());
  const id = createClientIdentity();
  const conn = new RawConnection(cluster.replicas[1]!.address);
  t.after(() => conn.close());
  for (let i = 1n; i <= 6n; i++) conn.send(signedFrame(id, i, add(1n)));
  const msgs = await conn.next(6);
  const replies = msgs.map((m) => (m as { reply: CartReply }).reply);
  assert.ok(replies.every((r) => r.leafCount === 1 && r.proof.length === 0));
  assert.deepEqual(replies.map((r) => valueOf(r.result)).sort((a, b) => (a < b ? -1 : 1)), [1n, 2n, 3n, 4n, 5n, 6n]);
  const roots = new Set(replies.map((r) => Buffer.from(r.root).toString('hex')));
  assert.equal(roots.size, 6, 'every reply has its own signed root');
  const verifier = new ReplyVerifier(new Map(cluster.publicKeySets.map((k) => [k.name, k.groupPublicKey])), { verify: (pk, d, m, s) => cluster.crypto.verify(pk, d, m, s) });
  for (const r of replies) {
    const v = await verifier.check(r, { keySet: ORDERED_KEY_SET, clientId: id.clientId, requestId: r.requestId, operationDigest: digest(add(1n)) });
    assert.deepEqual(v, { ok: true });
  }
  assert.equal(verifier.pairingChecks, 6);
  // replies arriving together: their distinct roots are checked in one batch verification
  const batching = new ReplyVerifier(new Map(cluster.publicKeySets.map((k) => [k.name, k.groupPublicKey])), {
    verify: (pk, d, m, s) => cluster.crypto.verify(pk, d, m, s),
    batchVerify: (items) => cluster.crypto.batchVerify(items),
  });
  const expect = (r: CartReply) => ({ keySet: ORDERED_KEY_SET, clientId: id.clientId, requestId: r.requestId, operationDigest: digest(add(1n)) });
  const verdicts = await Promise.all(replies.map((r) => batching.check(r, expect(r))));
  assert.ok(verdicts.every((v) => v.ok));
  assert.equal(batching.pairingChecks, 1);
  assert.equal(batching.batchedRoots, 6);
  // one forged signature in the batch: the batch check fails, items are checked one by one
  const fresh = new ReplyVerifier(new Map(cluster.publicKeySets.map((k) => [k.name, k.groupPublicKey])), {
    verify: (pk, d, m, s) => cluster.crypto.verify(pk, d, m, s),
    batchVerify: (items) => cluster.crypto.batchVerify(items),
  });
  const forged = replies.map((r, i) => (i === 2 ? { ...r, groupSignature: replies[3]!.groupSignature } : r));
  const mixed = await Promise.all(forged.map((r) => fresh.check(r, expect(r))));
  assert.deepEqual(mixed.map((v) => v.ok), [true, true, false, true, true, true]);
  assert.equal(fresh.pairingChecks, 1 + 6);
  const client = await cluster.client({ contact: 2 });
  assert.equal(valueOf(await client.invoke(add(1n))), 7n);
});

test('crypto on worker threads: the same flows work off the event loop', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter(), workers: 1, tuning: (i) => (i === 1 ? { byzantine: { badShares: true } } : undefined) });
  t.after(() => cluster.close());
  const client = await cluster.client({ contact: 1 });
  const values = (await Promise.all(Array.from({ length: 20 }, () => client.invoke(add(1n))))).map(valueOf);
  assert.deepEqual(values.sort((a, b) => (a < b ? -1 : 1)), Array.from({ length: 20 }, (_, i) => BigInt(i + 1)));
});

test('client acknowledgements keep the deduplication table small: only ids still outstanding (or the last one) stay cached', async (t) => {
  const cluster = await startTestCluster({ app: () => new KvStore() });
  t.after(() => cluster.close());
  const client = await cluster.client({ contact: 0 });
  const clientHex = Buffer.from(client.clientId).toString('hex');
  for (let i = 0; i < 12; i++) await client.invoke(put(`k${i}`, 'v'));
  // pipelined: ten at once, all verified (acks never pass an outstanding id)
  await Promise.all(Array.from({ length: 10 }, (_, i) => client.invoke(put(`p${i}`, 'v'))));
  await client.invoke(get('k0'));
  const proxies = cluster.replicas.map((r) => r!.proxy);
  // a verified reply needs f+1 replicas; wait until every replica executed the last request
  await waitFor(() => proxies.every((p) => typeof p.lookup(clientHex, 23n) === 'object'), 20_000, 'all replicas executed request 23');
  for (const proxy of proxies) {
    assert.equal(proxy.lookup(clientHex, 1n), 'stale', 'sequential ids below the ack are forgotten');
    assert.equal(proxy.lookup(clientHex, 11n), 'stale');
    assert.equal((proxy.lookup(clientHex, 23n) as { sequence: bigint }).sequence > 0n, true, 'the last request stays cached');
  }
  assert.equal(client.stats().verified, 23);
});
