/**
 * Regression: a VIEW-CHANGE above the old 16 MiB per-message limit of the replica mesh. With no
 * stable checkpoint, every backup's VIEW-CHANGE carries all prepared batches with their request
 * bodies (here 270 × 65 000 B ≈ 17.6 MB, NEW-VIEW ≈ 4×); before fragmentation in
 * TcpPeerNetwork these could not be sent and the cluster never left view 0 after the primary died.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startClusterWithClient } from './helpers.ts';
import { counterRequest } from '../../src/consensus/pbft/main.ts';

test('4 replica processes: a VIEW-CHANGE of ~18 MB (270 × 65 kB requests, no stable checkpoint) gets through; kill -9 the primary, the cluster recovers', async (t) => {
  const { cluster, client } = await startClusterWithClient(t, {
    clientId: 'big',
    // checkpoints far apart: nothing becomes stable, so the view change carries every request.
    // Status interval at its default (1 s): VIEW-CHANGE and NEW-VIEW are retransmitted every
    // interval, and at 20-80 MB each a much shorter one keeps the receivers busy decoding copies
    // (docs/pbft-runtime.md). Request timeout 8 s (default 2 s): the NEW-VIEW of ~70 MB must be
    // decoded and checked before the view-change timer fires, also on a slow, loaded CI machine.
    protocol: { checkpointInterval: 512, watermarkWindow: 1024, requestTimeoutMs: 8000 },
    retransmitTimeoutMs: 1000,
    maxOutstanding: 50,
  });

  const total = 270; // 270 × 65 000 B ≈ 17.6 MB of request bodies in every VIEW-CHANGE (> one 16 MiB frame)
  const first = await Promise.all([...Array(total)].map(async () => Buffer.from(await client.invoke(counterRequest(8, 65_000))).readBigUInt64BE(0)));
  assert.deepEqual([...first].sort((a, b) => Number(a - b)), [...Array(total).keys()].map((i) => BigInt(i + 1)));
  /** Views, non-zero drop counters and log tails of the replicas (for a failure message). */
  const diagnose = (): string =>
    cluster.replicas
      .map((r) => {
        const nz = (o: unknown): string => JSON.stringify(Object.entries((o ?? {}) as Record<string, number>).filter(([, v]) => v));
        return `replica ${r.id}: view ${r.status?.view} executed ${r.status?.lastExecuted} pbft drops ${nz(r.status?.pbftDropped)} net drops ${nz(r.status?.netDropped)}\n  ${r.stderrTail.slice(-6).join('\n  ')}`;
      })
      .join('\n');
  const primary = Number((client.currentView ?? 0n) % 4n);
  await cluster.kill(primary);
  const t0 = Date.now();
  const more = await Promise.race([
    Promise.all([...Array(20)].map(async () => Buffer.from(await client.invoke(counterRequest(8, 65_000))).readBigUInt64BE(0))),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no progress 120 s after killing primary ${primary}\n${diagnose()}`)), 120_000).unref(),
    ),
  ]);
  t.diagnostic(`recovered ${Date.now() - t0} ms after killing primary ${primary}`);
  assert.deepEqual([...more].sort((a, b) => Number(a - b)), [...Array(20).keys()].map((i) => BigInt(total + i + 1)));
  assert.ok((client.currentView ?? 0n) > 0n, 'a new view was installed');
  for (const r of cluster.replicas) {
    if (r.id === primary) continue;
    assert.ok(BigInt(r.status?.view ?? '0') > 0n, `replica ${r.id} left view 0`);
  }
});
