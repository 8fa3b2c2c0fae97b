/**
 * The replay-after-eviction attack and the freshness protocol over an in-process cluster (memory
 * adapter, real TCP client endpoints): a victim's captured request is never executed again, the
 * contact answers stale/future freshness sequences with a hint, normal clients learn the hint
 * transparently, and a dropped cached result is refused, never re-executed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore, decodeKvResult, encodeKvOperation, kvRecordFromStrings, kvRecordToStrings } from '../../src/apps/kv.ts';
import { Counter, encodeCounterOperation, decodeCounterResult } from '../../src/apps/counter.ts';
import { RequestRejectedError } from '../../src/client/errors.ts';
import { ReplyVerifier } from '../../src/client/reply-verifier.ts';
import { ErrorCode, type CartReply, type ReplicaMessage } from '../../src/wire/codec.ts';
import { digest, ORDERED_KEY_SET, toHex } from '../../src/wire/digest.ts';
import { startTestCluster, waitFor, type TestCluster } from './cluster.ts';
import { RawConnection, createClientIdentity, signedFrame } from './raw.ts';

const insert = (v: string) => encodeKvOperation({ type: 'insert', table: 'accounts', key: 'victim', values: kvRecordFromStrings({ balance: v }) });
const update = (v: string) => encodeKvOperation({ type: 'update', table: 'accounts', key: 'victim', values: kvRecordFromStrings({ balance: v }) });
const read = encodeKvOperation({ type: 'read', table: 'accounts', key: 'victim' });
const balanceAt = (app: KvStore): string => {
  const r = decodeKvResult(app.executeReadOnly(read) ?? new Uint8Array(0));
  assert.equal(r.type, 'record');
  return kvRecordToStrings((r as { record: Record<string, Uint8Array> }).record).balance!;
};

function verifierOf(cluster: TestCluster): ReplyVerifier {
  return new ReplyVerifier(new Map(cluster.publicKeySets.map((k) => [k.name, k.groupPublicKey])), { verify: (pk, d, m, s) => cluster.crypto.verify(pk, d, m, s) });
}

/** Send `frame` on a fresh raw connection to replica `i` (0-based) and return the first answer. */
async function ask(cluster: TestCluster, i: number, frame: Uint8Array, t: { after(fn: () => void): void }): Promise<ReplicaMessage> {
  const c = new RawConnection(cluster.replicas[i]!.address);
  t.after(() => c.close());
  c.send(frame);
  const [m] = await c.next(1);
  return m!;
}

async function victimWrites(cluster: TestCluster, t: { after(fn: () => void): void }) {
  const victim = createClientIdentity();
  const verifier = verifierOf(cluster);
  const first = signedFrame(victim, 1n, insert('100'), undefined, 0n);
  const m1 = await ask(cluster, 0, first, t);
  assert.equal(m1.type, 'reply');
  const r1 = (m1 as { reply: CartReply }).reply;
  assert.deepEqual(await verifier.check(r1, { keySet: ORDERED_KEY_SET, clientId: victim.clientId, requestId: 1n, operationDigest: digest(insert('100')) }), { ok: true });
  const m2 = await ask(cluster, 0, signedFrame(victim, 2n, update('0'), undefined, r1.sequence), t);
  assert.equal(m2.type, 'reply');
  await waitFor(() => cluster.apps.every((a) => balanceAt(a as KvStore) === '0'), 10_000, 'balance 0 everywhere');
  return { victim, first };
}

test('the replay attack over a cluster: after throwaway clients evict the victim, its captured first request is refused and never executed', async (t) => {
  const cluster = await startTestCluster({ app: () => new KvStore(), tuning: () => ({ maxClients: 4, freshnessHorizon: 5n }) });
  t.after(() => cluster.close());
  const { victim, first } = await victimWrites(cluster, t);
  // throwaway identities, one read each; one of them keeps the sequence moving
  const busy = await cluster.client();
  for (let i = 0; i < 8; i++) await busy.invoke(read);
  const attackers = [];
  for (let i = 0; i < 5; i++) {
    const c = await cluster.client({ contact: i % cluster.n });
    attackers.push(c);
    await c.invoke(read);
    await busy.invoke(read);
    await busy.invoke(read);
  }
  const hex = toHex(victim.clientId);
  await waitFor(() => cluster.replicas.every((r) => !r!.proxy.knowsClient(hex)), 10_000, 'victim evicted everywhere');
  // every new client learned the freshness hint transparently
  for (const c of attackers) assert.ok(c.stats().freshnessRetries >= 1, 'hint used');
  assert.equal(attackers.reduce((n, c) => n + c.stats().failed, 0), 0);
  // the attacker re-sends request 1's captured frame: the contact refuses it with a hint ...
  const m = await ask(cluster, 1, first, t);
  assert.equal(m.type, 'error');
  const e = (m as { error: { code: number; sequence?: bigint } }).error;
  assert.equal(e.code, ErrorCode.STALE_FRESHNESS);
  assert.equal(e.sequence, cluster.replicas[1]!.proxy.lastSequence);
  // ... and a Byzantine replica that orders it anyway gets it refused at execution
  const target = cluster.sequencer.lastSequence + 1n;
  void cluster.sequencer.enqueue(first);
  await busy.invoke(read); // a later batch, so the replay's batch is executed everywhere
  await waitFor(() => cluster.replicas.every((r) => r!.proxy.lastSequence >= target), 10_000, 'replay batch executed');
  for (const a of cluster.apps) assert.equal(balanceAt(a as KvStore), '0', 'no roll-back to 100');
});

test('with the default horizon nobody is evictable: new clients get BUSY, and the replay is answered from the cache, not executed', async (t) => {
  const cluster = await startTestCluster({ app: () => new KvStore(), tuning: () => ({ maxClients: 4 }) });
  t.after(() => cluster.close());
  const { first } = await victimWrites(cluster, t);
  let refused = 0;
  for (let i = 0; i < 5; i++) {
    const c = await cluster.client();
    try {
      await c.invoke(read);
    } catch (err) {
      assert.ok(err instanceof RequestRejectedError && err.code === ErrorCode.BUSY, String(err));
      refused++;
    }
  }
  assert.equal(refused, 2, 'victim + 3 clients fill the table; later clients are refused');
  const m = await ask(cluster, 2, first, t);
  assert.equal(m.type, 'reply');
  assert.equal(decodeKvResult((m as { reply: CartReply }).reply.result).type, 'ok');
  for (const a of cluster.apps) assert.equal(balanceAt(a as KvStore), '0');
});

test('the contact answers a future freshness sequence with its own sequence as hint, without ordering it', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter(), tuning: () => ({ freshnessSlack: 10n }) });
  t.after(() => cluster.close());
  const client = await cluster.client();
  for (let i = 0; i < 3; i++) await client.invoke(encodeCounterOperation({ type: 'add', amount: 1n }));
  assert.ok(client.freshnessSequence >= 3n, 'the client tracks verified reply sequences');
  const before = cluster.sequencer.lastSequence;
  const last = cluster.replicas[0]!.proxy.lastSequence;
  const m = await ask(cluster, 0, signedFrame(createClientIdentity(), 1n, encodeCounterOperation({ type: 'add', amount: 5n }), undefined, last + 11n), t);
  assert.equal(m.type, 'error');
  assert.deepEqual([(m as { error: { code: number } }).error.code, (m as { error: { sequence?: bigint } }).error.sequence], [ErrorCode.STALE_FRESHNESS, last]);
  assert.equal(cluster.sequencer.lastSequence, before, 'not ordered');
  // within the slack it is ordered (and, as a future value at execution, refused there)
  const m2 = await ask(cluster, 0, signedFrame(createClientIdentity(), 1n, encodeCounterOperation({ type: 'add', amount: 5n }), undefined, last + 10n), t);
  assert.equal(m2.type, 'error');
  assert.equal((m2 as { error: { code: number } }).error.code, ErrorCode.STALE_FRESHNESS);
  assert.ok(cluster.sequencer.lastSequence > before, 'ordered, refused at execution');
  for (const a of cluster.apps) assert.equal((a as Counter).current, 3n);
});

test('a retransmission whose cached result was dropped (byte budget) gets RESULT_UNAVAILABLE and is not executed again', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter(), tuning: () => ({ maxCachedResultBytes: 0, maxBatches: 1 }) });
  t.after(() => cluster.close());
  const id = createClientIdentity();
  const add = (n: bigint) => encodeCounterOperation({ type: 'add', amount: n });
  const frame = signedFrame(id, 1n, add(7n));
  const m = await ask(cluster, 0, frame, t);
  assert.equal(m.type, 'reply');
  assert.equal((decodeCounterResult((m as { reply: CartReply }).reply.result) as { value: bigint }).value, 7n);
  const client = await cluster.client();
  await client.invoke(add(1n));
  await client.invoke(add(1n));
  await waitFor(() => cluster.apps.every((a) => (a as Counter).current === 9n), 10_000, 'all at 9');
  const again = await ask(cluster, 1, frame, t);
  assert.equal(again.type, 'error');
  assert.equal((again as { error: { code: number } }).error.code, ErrorCode.RESULT_UNAVAILABLE);
  // ordered anyway (a Byzantine replica): refused at execution as well
  void cluster.sequencer.enqueue(frame);
  await client.invoke(add(1n));
  await waitFor(() => cluster.apps.every((a) => (a as Counter).current === 10n), 10_000, 'all at 10');
  for (const r of cluster.replicas) assert.equal(r!.proxy.dedupStats.cachedResultBytes, 0);
});
