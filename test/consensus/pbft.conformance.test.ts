import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runConformanceSuite, RecordingProxy, type ConformanceCluster } from './conformance.ts';
import type { ApplicationProxy, AdapterEvent } from '../../src/consensus/adapter.ts';
import { PbftAdapter, PbftAdapterError } from '../../src/consensus/pbft/adapter.ts';
import { generateLocalCluster, type PbftClusterConfig } from '../../src/consensus/pbft/config.ts';
import type { PbftConfig } from '../../src/consensus/pbft/api.ts';

/**
 * n in-process PBFT adapters over real TCP on 127.0.0.1. Every adapter listens on port 0 first;
 * the announced ports are then written into every adapter's view of the cluster. A restarted
 * replica reuses its ports.
 */
async function startPbftCluster(proxies: readonly ApplicationProxy[], protocol: Partial<PbftConfig>): Promise<ConformanceCluster & { adapters: PbftAdapter[]; config: PbftClusterConfig; keys: string[] }> {
  const f = (proxies.length - 1) / 3;
  const gen = await generateLocalCluster({ f, ports: 0, protocol });
  const config = gen.config;
  const adapters = proxies.map((_, i) => new PbftAdapter({ self: i, cluster: config, identity: gen.replicaKeys[i]!, retransmitTimeoutMs: 300 }));
  try {
    const ports = await Promise.all(adapters.map((a) => a.listen()));
    ports.forEach((p, i) => Object.assign(config.replicas[i]!, { peerPort: p.peerPort, clientPort: p.clientPort }));
    for (const a of adapters) ports.forEach((p, i) => a.setReplicaAddress(i, '127.0.0.1', p.peerPort, p.clientPort));
    await Promise.all(adapters.map((a, i) => a.start(proxies[i]!)));
  } catch (err) {
    await Promise.all(adapters.map((a) => a.stop()));
    throw err;
  }
  return {
    adapters,
    config,
    keys: gen.replicaKeys,
    adapter: (i) => adapters[i]!,
    stopReplica: (i) => adapters[i]!.stop(),
    async restartReplica(i, proxy) {
      adapters[i] = new PbftAdapter({ self: i, cluster: config, identity: gen.replicaKeys[i]!, retransmitTimeoutMs: 300 });
      await adapters[i]!.start(proxy);
    },
    async close() {
      await Promise.all(adapters.map((a) => a.stop()));
    },
  };
}

const fast: Partial<PbftConfig> = { requestTimeoutMs: 1000, statusIntervalMs: 200, checkpointInterval: 16, watermarkWindow: 64, batchMaxSize: 32 };

runConformanceSuite('pbft', {
  replicas: 4,
  timeoutMs: 30_000,
  requestsWhileDown: 200,
  start: (proxies) => startPbftCluster(proxies, fast),
});

test('pbft adapter: refuses submits before start, after stop, and over the size limit; reports view changes', async (t) => {
  const proxies = [0, 1, 2, 3].map(() => new RecordingProxy());
  const c = await startPbftCluster(proxies, { ...fast, maxRequestBytes: 100 });
  t.after(() => c.close());
  const events: AdapterEvent[] = [];
  c.adapters[1]!.onEvent((e) => events.push(e));
  await assert.rejects(c.adapters[1]!.submit(new Uint8Array(101)), PbftAdapterError);
  await c.adapters[1]!.submit(new TextEncoder().encode('ok'));
  // crash the primary of view 0; submits through the others still complete after a view change
  await c.stopReplica(0);
  await assert.rejects(c.adapters[0]!.submit(new TextEncoder().encode('x')), PbftAdapterError);
  await Promise.all([1, 2, 3].map((i) => c.adapters[i]!.submit(new TextEncoder().encode(`after-${i}`))));
  assert.ok(events.some((e) => e.kind === 'view-change' && e.view >= 1n), `no view-change event: ${JSON.stringify(events, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  assert.ok(events.some((e) => e.kind === 'leader' && e.leader !== 0));
  await waitFor(() => [1, 2, 3].every((i) => ['ok', 'after-1', 'after-2', 'after-3'].every((r) => proxies[i]!.executed.includes(r))), 'all live replicas executed everything');
  const st = c.adapters[1]!.stats();
  assert.ok(st.net.connectedPeers.includes(2) && !st.net.connectedPeers.includes(0), 'mesh status reflects the crash');
  assert.ok((st.client?.completed ?? 0) >= 2);
  assert.equal(st.node.coreErrors, 0);
  const unstarted = new PbftAdapter({ self: 0, cluster: c.config, identity: c.keys[0]!, retransmitTimeoutMs: 300 });
  await assert.rejects(unstarted.submit(new TextEncoder().encode('early')), PbftAdapterError);
  await unstarted.stop();
});

async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
