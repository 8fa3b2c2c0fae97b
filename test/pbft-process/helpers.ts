/**
 * Process-level PBFT test harness: 4 replica processes (f = 1) from the launcher and one native
 * TCP client connected to all of them; both closed when the test ends.
 */
import type { TestContext } from 'node:test';
import { launchLocalCluster, type LocalCluster } from '../../src/consensus/pbft/launcher.ts';
import { createPbftTcpClient, type PbftTcpClient } from '../../src/consensus/pbft/tcp-client.ts';
import type { PbftConfig } from '../../src/consensus/pbft/api.ts';

/** Launch the cluster with one configured client `clientId` and connect that client (bounded wait). */
export async function startClusterWithClient(
  t: TestContext,
  o: { clientId: string; protocol: Partial<PbftConfig>; retransmitTimeoutMs: number; maxOutstanding: number },
): Promise<{ cluster: LocalCluster; client: PbftTcpClient }> {
  const cluster = await launchLocalCluster({ f: 1, clients: [o.clientId], statusMs: 100, protocol: o.protocol });
  t.after(() => cluster.close());
  const client = createPbftTcpClient({
    cluster: cluster.config,
    clientId: o.clientId,
    privateKey: cluster.clientKeys[o.clientId]!,
    endpoints: cluster.endpoints(),
    retransmitTimeoutMs: o.retransmitTimeoutMs,
    maxOutstanding: o.maxOutstanding,
  });
  t.after(() => client.close());
  await client.waitConnected(4, 15_000);
  return { cluster, client };
}
