/** FrameServer counters exported through ReplicaMetrics (prom-client) at scrape time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { FrameServer, type FrameServerStats } from '../../src/net/index.ts';
import { ReplicaMetrics } from '../../src/replica/metrics.ts';
import { waitFor } from './helpers.ts';

test('registerFrameServerStats exports refusals and closures by reason, without double counting across scrapes', async (t) => {
  const server = new FrameServer({ port: 0, maxFrameBytes: 100, maxConnectionsPerAddress: 1, hasPendingWork: () => true, sweepIntervalMs: 0 });
  await server.listen();
  const sockets: Socket[] = [];
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await server.close();
  });
  const metrics = new ReplicaMetrics({ replica: '0' });
  metrics.registerFrameServerStats(() => server.stats());
  assert.equal(await metrics.value('cart_client_connections_accepted_total'), 0);

  const open = (): { s: Socket; closed: () => boolean } => {
    const s = connect({ host: '127.0.0.1', port: server.port });
    sockets.push(s);
    let closed = false;
    s.on('error', () => {});
    s.on('close', () => (closed = true));
    return { s, closed: () => closed };
  };
  const a = open();
  await waitFor(() => server.stats().open === 1, 'a accepted');
  const b = open();
  await waitFor(b.closed, 'b refused by the per-address cap');
  const hdr = Buffer.alloc(4);
  hdr.writeUInt32BE(1_000);
  a.s.write(hdr);
  await waitFor(a.closed, 'a closed for its length prefix');
  await waitFor(() => server.stats().open === 0, 'server noticed');

  for (let scrape = 0; scrape < 2; scrape++) {
    assert.equal(await metrics.value('cart_client_connections_accepted_total'), 1);
    assert.equal(await metrics.value('cart_client_connections_refused_total', { reason: 'per_address_cap' }), 1);
    assert.equal(await metrics.value('cart_client_connections_refused_total', { reason: 'global_cap' }), 0);
    assert.equal(await metrics.value('cart_client_connections_closed_total', { reason: 'bad_length_prefix' }), 1);
    assert.equal(await metrics.value('cart_client_connections_closed_total'), 1);
    assert.equal(await metrics.value('cart_client_connections_open'), 0);
  }
  const text = await metrics.registry.metrics();
  assert.match(text, /cart_client_connections_refused_total\{reason="per_address_cap",replica="0"\} 1/);
});

test('several registered sources are summed', async () => {
  const metrics = new ReplicaMetrics();
  const base: FrameServerStats = {
    accepted: 0, rejectedTooMany: 0, rejectedPerAddress: 0, evicted: 0, closedOversizeFrame: 0, closedGarbage: 0, closedFirstFrameTimeout: 0,
    closedFrameTimeout: 0, closedIdle: 0, closedBudget: 0, droppedQueueFull: 0, handlerErrors: 0, open: 0, partialBytes: 0,
  };
  metrics.registerFrameServerStats(() => ({ ...base, closedIdle: 2, open: 3, partialBytes: 10 }));
  metrics.registerFrameServerStats(() => ({ ...base, closedIdle: 5, evicted: 1, partialBytes: 7 }));
  assert.equal(await metrics.value('cart_client_connections_closed_total', { reason: 'idle_timeout' }), 7);
  assert.equal(await metrics.value('cart_client_connections_closed_total', { reason: 'evicted_idle' }), 1);
  assert.equal(await metrics.value('cart_client_connections_open'), 3);
  assert.equal(await metrics.value('cart_client_partial_frame_bytes'), 17);
});
