import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startClusterWithClient } from './helpers.ts';
import { counterRequest } from '../../src/consensus/pbft/main.ts';
import { waitFor } from '../net/helpers.ts';

test('4 replica processes: kill -9 the primary mid-load, the native client completes every request exactly once; the restarted replica catches up', async (t) => {
  const { cluster, client } = await startClusterWithClient(t, {
    clientId: 'load',
    protocol: { requestTimeoutMs: 500, statusIntervalMs: 200, checkpointInterval: 32, watermarkWindow: 128 },
    retransmitTimeoutMs: 300,
    maxOutstanding: 20,
  });

  const total = 400;
  const results: bigint[] = [];
  let done = 0;
  const all = Promise.all(
    [...Array(total)].map(async () => {
      const r = Buffer.from(await client.invoke(counterRequest(8)));
      assert.equal(r.length, 8);
      results.push(r.readBigUInt64BE(0));
      done++;
    }),
  );
  all.catch(() => {});
  await waitFor(() => done >= 100, '100 completions before the crash', 30_000);
  const primary = Number((client.currentView ?? 0n) % 4n);
  await cluster.kill(primary);
  const atKill = done;
  await Promise.race([
    all,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${done}/${total} completed after killing primary ${primary}`)), 60_000).unref()),
  ]);
  assert.ok(atKill < total, 'the crash happened mid-load');
  // exactly once: the counter results are a permutation of 1..total
  const sorted = [...results].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.deepEqual(sorted, [...Array(total).keys()].map((i) => BigInt(i + 1)));
  assert.notEqual(Number((client.currentView ?? 0n) % 4n), primary, 'the client learned the new view');

  // restart the killed replica with empty state on its old ports: it catches up (state
  // transfer past many checkpoints) and takes part again
  await cluster.restart(primary);
  const more = await Promise.all([...Array(50)].map(async () => Buffer.from(await client.invoke(counterRequest(8))).readBigUInt64BE(0)));
  assert.deepEqual([...more].sort((a, b) => Number(a - b)), [...Array(50).keys()].map((i) => BigInt(total + i + 1)));
  const others = cluster.replicas.filter((r) => r.id !== primary);
  await waitFor(
    () => {
      const target = others.map((r) => BigInt(r.status?.lastExecuted ?? '0')).reduce((a, b) => (a > b ? a : b), 0n);
      return target > 0n && BigInt(cluster.replicas[primary]!.status?.lastExecuted ?? '0') >= target;
    },
    'the restarted replica reaches the others\' last executed sequence number',
    30_000,
  );
});
