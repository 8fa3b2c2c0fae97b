import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryHub } from '../../src/net/index.ts';
import { PbftNode, type NodeEvent } from '../../src/consensus/pbft/node.ts';
import { PbftReplica } from '../../src/consensus/pbft/replica.ts';
import { PbftClientCore } from '../../src/consensus/pbft/client-core.ts';
import { SimAuthenticator } from '../../src/consensus/pbft/auth.ts';
import { defaultPbftConfig } from '../../src/consensus/pbft/api.ts';
import { PbftClientError, PbftTcpClient } from '../../src/consensus/pbft/tcp-client.ts';
import { CounterApp, counterRequest } from '../../src/consensus/pbft/main.ts';
import { waitFor } from '../net/helpers.ts';

test('PbftNode runs over the in-memory PeerNetwork; a partitioned-then-healed backup catches up', async (t) => {
  const config = defaultPbftConfig(1, { checkpointInterval: 8, watermarkWindow: 32, statusIntervalMs: 100, requestTimeoutMs: 1000 });
  const hub = new MemoryHub(4);
  const apps = [0, 1, 2, 3].map(() => new CounterApp());
  const events: NodeEvent[][] = [[], [], [], []];
  const nodes = apps.map(
    (app, i) =>
      new PbftNode({
        id: i,
        core: new PbftReplica(i, config, app, new SimAuthenticator('seed', i, 4)),
        peers: hub.endpoint(i),
        onEvent: (e) => events[i]!.push(e),
      }),
  );
  t.after(async () => {
    for (const n of nodes) await n.close();
  });
  const ports = await Promise.all(nodes.map((n) => n.start()));
  // replica 3 is cut off from everyone
  hub.setFilter((from, to) => from !== 3 && to !== 3);
  const core = new PbftClientCore('mem', { n: 4, f: 1, retransmitTimeoutMs: 300, clientWindow: config.clientWindow }, SimAuthenticator.clientSigner('seed', 'mem'), (r, b, s) =>
    new SimAuthenticator('seed', 0, 4).verify(r, b, s),
  );
  const client = new PbftTcpClient({ core, replicas: ports.map((p, id) => ({ id, host: '127.0.0.1', clientPort: p })), maxOutstanding: 16 });
  t.after(() => client.close());
  await assert.rejects(client.invoke(new Uint8Array((1 << 20) + 1)), (e: unknown) => e instanceof PbftClientError && e.code === 'too-large');
  const first = await Promise.all([...Array(60)].map(() => client.invoke(counterRequest(8))));
  assert.equal(first.length, 60);
  assert.equal(apps[3]!.count, 0n);
  hub.setFilter(undefined);
  await Promise.all([...Array(20)].map(() => client.invoke(counterRequest(8))));
  await waitFor(() => apps.every((a) => a.count === 80n), 'every replica executed all 80 requests', 20_000);
  assert.deepEqual(apps.map((a) => Buffer.from(a.snapshot()).toString('hex')), apps.map(() => Buffer.from(apps[0]!.snapshot()).toString('hex')));
  assert.ok(events[0]!.some((e) => e.kind === 'delivered'));
  assert.ok(events[3]!.some((e) => e.kind === 'state-transfer' || e.kind === 'delivered'));
  client.close();
  await assert.rejects(client.invoke(counterRequest(8)), (e: unknown) => e instanceof PbftClientError && e.code === 'closed');
  assert.deepEqual(nodes.map((n) => n.stats().coreErrors + n.stats().outputErrors), [0, 0, 0, 0]);
});
