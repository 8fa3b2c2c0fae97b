import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, encodeCounterOperation, decodeCounterResult } from '../../src/apps/counter.ts';
import { PbftAdapter } from '../../src/consensus/pbft/adapter.ts';
import { generateLocalCluster } from '../../src/consensus/pbft/config.ts';
import { startTestCluster, waitFor } from './cluster.ts';

const add = (amount: bigint) => encodeCounterOperation({ type: 'add', amount });
const val = (b: Uint8Array) => (decodeCounterResult(b) as { value: bigint }).value;

test('CART over the built-in PBFT (real TCP): verified replies; crashing the primary\'s replica mid-run loses nothing', async (t) => {
  const gen = await generateLocalCluster({ f: 1, ports: 0, protocol: { requestTimeoutMs: 1000, statusIntervalMs: 200, checkpointInterval: 16, watermarkWindow: 64, batchMaxSize: 32 } });
  const config = gen.config;
  const adapters = [0, 1, 2, 3].map((i) => new PbftAdapter({ self: i, cluster: config, identity: gen.replicaKeys[i]!, retransmitTimeoutMs: 300 }));
  const ports = await Promise.all(adapters.map((a) => a.listen()));
  for (const a of adapters) ports.forEach((p, i) => a.setReplicaAddress(i, '127.0.0.1', p.peerPort, p.clientPort));
  const cluster = await startTestCluster({ app: () => new Counter(), adapter: (i) => adapters[i - 1]! });
  t.after(async () => {
    await cluster.close();
    await Promise.allSettled(adapters.map((a) => a.stop()));
  });
  const clients = await Promise.all([0, 1].map(() => cluster.client({ contact: 0, timeoutMs: 3000, maxAttempts: 12 })));
  const first = await Promise.all(clients.flatMap((c) => Array.from({ length: 10 }, () => c.invoke(add(1n)))));
  // crash CART replica 1 together with its PBFT replica 0, the primary of view 0
  const during = clients.flatMap((c) => Array.from({ length: 10 }, () => c.invoke(add(1n))));
  await cluster.kill(1);
  const after = await Promise.all([...during, ...clients.flatMap((c) => Array.from({ length: 5 }, () => c.invoke(add(1n))))]);
  const values = [...first, ...after].map(val).sort((a, b) => (a < b ? -1 : 1));
  assert.deepEqual(values, Array.from({ length: 50 }, (_, i) => BigInt(i + 1)), 'each increment executed exactly once, all verified');
  await waitFor(() => cluster.apps.slice(1).every((a) => (a as Counter).current === 50n), 20_000, 'survivors at 50');
  for (const c of clients) assert.equal(c.stats().rejected['bad-signature'] + c.stats().rejected['bad-proof'], 0);
});
