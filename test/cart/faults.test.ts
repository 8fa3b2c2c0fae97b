import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, encodeCounterOperation, decodeCounterResult } from '../../src/apps/counter.ts';
import { startTestCluster, waitFor } from './cluster.ts';
import type { ByzantineOptions } from '../../src/replica/index.ts';
import { NoQuorumError, ClosedError } from '../../src/client/index.ts';
import { createServer, type AddressInfo, type Socket } from 'node:net';

const add = (amount: bigint) => encodeCounterOperation({ type: 'add', amount });
const valueOf = (bytes: Uint8Array): bigint => {
  const r = decodeCounterResult(bytes);
  assert.equal(r.type, 'value');
  return (r as { value: bigint }).value;
};
const sorted = (xs: bigint[]) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const range = (n: number) => Array.from({ length: n }, (_, i) => BigInt(i + 1));

async function honestSum(cluster: Awaited<ReturnType<typeof startTestCluster>>, name: string, labels: Record<string, string> = {}): Promise<number> {
  let sum = 0;
  for (const r of cluster.replicas.slice(1)) sum += await r!.metrics.value(name, labels);
  return sum;
}

for (const [mode, byz] of [
  ['wrong results', { wrongResults: true }],
  ['bad signature shares', { badShares: true }],
  ['forged share index', { forgeShareIndex: true }],
] as Array<[string, ByzantineOptions]>) {
  test(`Byzantine contact replica (${mode}): clients complete with correct, verified results only`, async (t) => {
    // replica 1 is Byzantine; its signer index is the smallest, so honest aggregators try its
    // share first. It is the first contact, except for bad shares: they only matter to an
    // honest aggregator (the liar combines its own valid share), so there replica 2 is contacted.
    const cluster = await startTestCluster({ app: () => new Counter(), tuning: (i) => (i === 1 ? { byzantine: byz } : undefined) });
    t.after(() => cluster.close());
    const client = await cluster.client({ contact: byz.badShares ? 1 : 0 });
    const results: bigint[] = [];
    for (let i = 0; i < 5; i++) results.push(valueOf(await client.invoke(add(1n))));
    results.push(...(await Promise.all(Array.from({ length: 25 }, () => client.invoke(add(1n))))).map(valueOf));
    assert.deepEqual(sorted(results), range(30));
    const s = client.stats();
    assert.equal(s.verified, 30);
    if (byz.wrongResults) {
      assert.ok(s.rejected['bad-proof'] > 0, 'corrupted results were rejected by the client');
      assert.ok((await honestSum(cluster, 'cart_shares_rejected_total', { reason: 'root-mismatch' })) > 0);
    }
    if (byz.badShares) {
      assert.ok((await honestSum(cluster, 'cart_signer_misbehaviour_total', { signer: '1', kind: 'bad-share' })) > 0);
      assert.deepEqual(cluster.replicas[1]!.exchange.suspectedSigners, [1]);
    }
    if (byz.forgeShareIndex) {
      assert.ok((await honestSum(cluster, 'cart_shares_rejected_total', { reason: 'forged-index' })) > 0);
      assert.equal(await honestSum(cluster, 'cart_signer_misbehaviour_total', { kind: 'bad-share' }), 0);
    }
  });
}

test('bad shares are also excluded with tentative aggregation off (verify each share first)', async (t) => {
  const cluster = await startTestCluster({
    app: () => new Counter(),
    tuning: (i) => (i === 1 ? { byzantine: { badShares: true }, tentative: false } : { tentative: false }),
  });
  t.after(() => cluster.close());
  const client = await cluster.client({ contact: 1 });
  const results = (await Promise.all(Array.from({ length: 10 }, () => client.invoke(add(2n))))).map(valueOf);
  assert.deepEqual(sorted(results), range(10).map((x) => 2n * x));
  assert.ok((await honestSum(cluster, 'cart_shares_rejected_total', { reason: 'invalid' })) > 0);
});

test('a killed contact replica: the client fails over and completes', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter() });
  t.after(() => cluster.close());
  const client = await cluster.client({ contact: 0, timeoutMs: 2000 }); // the kill closes the connection: failover needs no timeout
  assert.equal(valueOf(await client.invoke(add(1n))), 1n);
  // crash the contact with invocations in flight
  const inflight = Array.from({ length: 20 }, () => client.invoke(add(1n)));
  await cluster.kill(1);
  const more = Array.from({ length: 10 }, () => client.invoke(add(1n)));
  const results = (await Promise.all([...inflight, ...more])).map(valueOf);
  assert.deepEqual(sorted([1n, ...results]), range(31));
  assert.ok(client.stats().failovers > 0);
  await waitFor(() => cluster.apps.slice(1).every((a) => (a as Counter).current === 31n), 10_000, 'survivors at 31');
});

test('a silent contact replica (accepts connections, never answers): the client times out and fails over', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter() });
  t.after(() => cluster.close());
  const sockets = new Set<Socket>();
  const silent = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  const port = (silent.address() as AddressInfo).port;
  const endpoints = cluster.replicas.map((r) => r!.address);
  endpoints[0] = { host: '127.0.0.1', port };
  // the silent contact costs one timeout; it must exceed any honest replica's reply time on a
  // slow machine, since the last invocation below must not time out
  const client = await cluster.client({ replicas: endpoints, contact: 0, timeoutMs: 1500 });
  const results = (await Promise.all(Array.from({ length: 5 }, () => client.invoke(add(1n))))).map(valueOf);
  assert.deepEqual(sorted(results), range(5));
  assert.ok(client.stats().timeouts >= 1);
  // the contact moved on: later invocations do not wait for the silent replica again
  const before = client.stats().timeouts;
  assert.equal(valueOf(await client.invoke(add(1n))), 6n);
  assert.equal(client.stats().timeouts, before);
});

test('with every replica unreachable the client rejects with NoQuorumError', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter() });
  t.after(() => cluster.close());
  const client = await cluster.client({ timeoutMs: 300, maxAttempts: 4 });
  for (let i = 1; i <= cluster.n; i++) await cluster.kill(i);
  await assert.rejects(client.invoke(add(1n)), NoQuorumError);
  await client.close();
  await assert.rejects(client.invoke(add(1n)), ClosedError);
});

test('a lossy replica mesh (every other share frame dropped): shares are re-requested and clients complete', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter() });
  t.after(() => cluster.close());
  const count = new Map<string, number>();
  cluster.hub.setFilter((from, to) => {
    const k = `${from}>${to}`;
    const c = (count.get(k) ?? 0) + 1;
    count.set(k, c);
    return c % 2 === 0; // deterministic 50% loss on every link
  });
  const client = await cluster.client({ contact: 2 });
  const results = (await Promise.all(Array.from({ length: 20 }, () => client.invoke(add(1n))))).map(valueOf);
  assert.deepEqual(sorted(results), range(20));
  assert.ok([...count.values()].reduce((a, b) => a + b, 0) > 0);
});

test('a lying replica flooding forged replies costs the client at most one check per request', async (t) => {
  const { FrameServer } = await import('../../src/net/server.ts');
  const { decodeClientFrame, encodeReplicaFrame } = await import('../../src/wire/codec.ts');
  const { clientIdOf, digest, replyDigest } = await import('../../src/wire/digest.ts');
  const { MerkleTree } = await import('../../src/crypto/index.ts');
  const cluster = await startTestCluster({ app: () => new Counter() });
  t.after(() => cluster.close());
  // a fake replica: answers each request with 20 well-formed replies whose Merkle proof is
  // right (it knows the leaf) but whose "group signature" is garbage
  const liar = new FrameServer({ port: 0 });
  liar.on('frame', (conn: { send(b: Uint8Array): boolean }, payload: Uint8Array) => {
    const req = decodeClientFrame(payload);
    const clientId = clientIdOf(req.clientPublicKey);
    const result = encodeCounterOperation({ type: 'add', amount: 999n });
    const leaf = replyDigest({ keySet: 'ordered', clientId, requestId: req.requestId, operationDigest: digest(req.operation), result });
    const frame = encodeReplicaFrame({
      type: 'reply',
      reply: { requestId: req.requestId, clientId, result, keySet: 'ordered', sequence: 1n, root: new MerkleTree([leaf]).root, leafIndex: 0, leafCount: 1, proof: [], groupSignature: new Uint8Array(48).fill(0xaa), replica: 1 },
    });
    for (let i = 0; i < 20; i++) conn.send(frame);
  });
  const port = await liar.listen();
  t.after(() => liar.close());
  const endpoints = cluster.replicas.map((r) => r!.address);
  endpoints[0] = { host: '127.0.0.1', port };
  const client = await cluster.client({ replicas: endpoints, contact: 0, batchVerification: false });
  assert.equal(valueOf(await client.invoke(add(1n))), 1n);
  const s = client.stats();
  assert.equal(s.rejected['bad-signature'], 1);
  assert.ok(s.rejected.unsolicited >= 1, 'further forged replies were dropped unchecked');
  assert.ok(s.pairingChecks <= 2, `pairing checks ${s.pairingChecks}`);
});

test('a replica restarted by state transfer answers a retransmission of a request it never executed itself (re-ordered, not re-executed)', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter(), retainBatches: 2, batchSize: 1 });
  t.after(() => cluster.close());
  const { RawConnection, createClientIdentity, signedFrame } = await import('./raw.ts');
  const id = createClientIdentity();
  const frame = signedFrame(id, 1n, add(7n));
  const first = new RawConnection(cluster.replicas[0]!.address);
  t.after(() => first.close());
  first.send(frame);
  await first.next(1);
  await cluster.kill(4);
  // move the log on so replica 4 must catch up from a snapshot
  const client = await cluster.client({ contact: 0 });
  for (let i = 0; i < 6; i++) await client.invoke(add(1n));
  const r4 = await cluster.restart(4);
  await waitFor(() => (cluster.apps[3] as Counter).current === 13n, 10_000, 'replica 4 caught up');
  assert.ok((await r4.metrics.value('cart_state_transfers_total')) >= 1, 'caught up by state transfer');
  const late = new RawConnection(r4.address);
  t.after(() => late.close());
  late.send(frame); // the client retransmits its old request to the restarted replica
  const [m] = await late.next(1);
  assert.equal(m!.type, 'reply');
  assert.equal(valueOf((m as { reply: { result: Uint8Array } }).reply.result), 7n, 'the cached result of the first execution');
  assert.equal(await r4.metrics.value('cart_requests_total', { outcome: 'reordered' }), 1);
  await waitFor(() => cluster.apps.every((a) => (a as Counter).current === 13n), 10_000, 'all at 13');
  for (const a of cluster.apps) assert.equal((a as Counter).current, 13n, 'not executed twice');
});

test('bad shares for a fraction of batches: exactly those batches trigger exclusion', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter(), batchSize: 1, tuning: (i) => (i === 1 ? { byzantine: { badShares: true, badShareFraction: 0.3 } } : { suspicionGoodShares: 1 }) });
  t.after(() => cluster.close());
  const { RawConnection, createClientIdentity, signedFrame } = await import('./raw.ts');
  const id = createClientIdentity();
  const frames = Array.from({ length: 20 }, (_, i) => signedFrame(id, BigInt(i + 1), add(1n)));
  // execute 20 one-request batches through replica 1, one after the other
  const c1 = new RawConnection(cluster.replicas[0]!.address);
  t.after(() => c1.close());
  for (const [i, f] of frames.entries()) {
    c1.send(f);
    await c1.next(i + 1);
  }
  // once replica 2 holds every peer's share, retransmit all 20 there: it aggregates each batch
  // with all shares present, so it always tries replica 1's (lowest index) share
  const r2 = cluster.replicas[1]!;
  await waitFor(async () => (await r2.metrics.value('cart_shares_received_total')) >= 60, 10_000, 'all shares at replica 2');
  const c2 = new RawConnection(r2.address);
  t.after(() => c2.close());
  for (const [i, f] of frames.entries()) {
    c2.send(f);
    await c2.next(i + 1);
  }
  assert.ok(c2.messages.every((m) => m.type === 'reply'));
  const sequences = c2.messages.map((m) => (m as { reply: { sequence: bigint } }).reply.sequence);
  const expected = sequences.filter((s) => Number((s * 7919n) % 1000n) < 300).length;
  assert.ok(expected > 0 && expected < 20);
  assert.equal(await r2.metrics.value('cart_signer_misbehaviour_total', { signer: '1', kind: 'bad-share' }), expected);
});
