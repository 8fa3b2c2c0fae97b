import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, encodeCounterOperation, decodeCounterResult } from '../../src/apps/counter.ts';
import { encodePeerFrame, PROTOCOL_VERSION } from '../../src/wire/codec.ts';
import { startTestCluster, waitFor } from './cluster.ts';

const add = (amount: bigint) => encodeCounterOperation({ type: 'add', amount });
const val = (b: Uint8Array) => (decodeCounterResult(b) as { value: bigint }).value;

test('replica-facing input: malformed, unknown-version, forged and flooding share frames are dropped and counted; service continues', async (t) => {
  // replicas 1..3 run CART; the test holds replica 4's authenticated mesh endpoint (an attacker)
  const cluster = await startTestCluster({ app: () => new Counter(), skip: [4] });
  t.after(() => cluster.close());
  const mallory = cluster.hub.endpoint(3);
  await mallory.start();
  t.after(() => mallory.close());
  const client = await cluster.client({ contact: 0 });
  assert.equal(val(await client.invoke(add(1n))), 1n);
  const victim = cluster.replicas[0]!;
  const root = new Uint8Array(32).fill(1);
  mallory.broadcast(Uint8Array.of(0x08, 0x02, 0xff, 0xff)); // malformed
  mallory.broadcast(encodePeerFrame({ type: 'share-request', keySet: 'ordered', sequence: 1n }, PROTOCOL_VERSION + 1)); // unknown version
  mallory.broadcast(encodePeerFrame({ type: 'share', share: { keySet: 'ordered', sequence: 1n, root, leafCount: 1, signer: 1, signature: new Uint8Array(48).fill(2) } })); // forged index
  mallory.broadcast(encodePeerFrame({ type: 'share', share: { keySet: 'nope', sequence: 1n, root, leafCount: 1, signer: 4, signature: new Uint8Array(48).fill(2) } }));
  // flood shares for far-future sequences: buffered up to the bound, never unbounded
  for (let s = 1000n; s < 1000n + 5000n; s++) {
    mallory.send(0, encodePeerFrame({ type: 'share', share: { keySet: 'ordered', sequence: s, root, leafCount: 1, signer: 4, signature: new Uint8Array(48).fill(3) } }));
  }
  await waitFor(async () => (await victim.metrics.value('cart_shares_received_total')) >= 5002, 10_000, 'flood received');
  assert.equal(await victim.metrics.value('cart_peer_frames_rejected_total', { reason: 'malformed' }), 1);
  assert.equal(await victim.metrics.value('cart_peer_frames_rejected_total', { reason: 'unsupported-version' }), 1);
  assert.equal(await victim.metrics.value('cart_shares_rejected_total', { reason: 'forged-index' }), 1);
  assert.equal(await victim.metrics.value('cart_shares_rejected_total', { reason: 'unknown-key-set' }), 1);
  assert.equal(await victim.metrics.value('cart_signer_misbehaviour_total', { signer: '4', kind: 'forged-index' }), 1);
  // the service still works, and mallory's junk shares for real sequences are never combined
  const results = (await Promise.all(Array.from({ length: 20 }, () => client.invoke(add(1n))))).map(val);
  assert.deepEqual(results.sort((a, b) => (a < b ? -1 : 1)), Array.from({ length: 20 }, (_, i) => BigInt(i + 2)));
});

test('metrics are served over HTTP /metrics in Prometheus text format', async (t) => {
  const { startCartReplica } = await import('../../src/replica/index.ts');
  const { MemorySequencer } = await import('../../src/consensus/memory/index.ts');
  const { MemoryHub } = await import('../../src/net/memory-peer-network.ts');
  const { createCryptoService, dealKeySets, defaultKeySetSpecs } = await import('../../src/crypto/index.ts');
  const keys = dealKeySets(1, defaultKeySetSpecs(0));
  const crypto = await createCryptoService({ workers: 0 });
  t.after(() => crypto.close());
  const r = await startCartReplica({
    index: 1,
    adapter: new MemorySequencer({ replicas: 1 }).adapter(0),
    application: new Counter(),
    keys: { publicKeySets: keys.publicKeySets, shares: keys.shares[0]! },
    network: new MemoryHub(1).endpoint(0),
    crypto,
    metrics: { port: 0 },
  });
  t.after(() => r.close());
  const { connect } = await import('../../src/client/index.ts');
  const client = await connect({ replicas: [r.address], publicKeySets: keys.publicKeySets, verifier: { verify: (a, b, c, d) => crypto.verify(a, b, c, d) } });
  t.after(() => client.close());
  assert.equal(val(await client.invoke(add(4n))), 4n, 'a single-replica group (n = 1, t = 1) works too');
  const res = await fetch(`http://127.0.0.1:${r.metricsAddress!.port}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /cart_replies_sent_total\{replica="1"\} 1/);
  assert.match(text, /cart_batches_executed_total\{replica="1"\} 1/);
  assert.equal((await fetch(`http://127.0.0.1:${r.metricsAddress!.port}/other`)).status, 404);
});
