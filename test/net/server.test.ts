import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { FrameServer, FrameConnection, type FrameServerOptions, type ServerConnection } from '../../src/net/index.ts';
import { waitFor } from './helpers.ts';

/** An echo server on a free port. */
async function echoServer(opts: FrameServerOptions = {}): Promise<FrameServer> {
  const server = new FrameServer({ port: 0, ...opts });
  server.on('frame', (c: ServerConnection, p: Buffer) => c.send(p));
  await server.listen();
  return server;
}

test('FrameConnection round-trips frames through a FrameServer on a free port', async (t) => {
  const server = await echoServer();
  const conn = new FrameConnection({ host: '127.0.0.1', port: server.port });
  t.after(async () => {
    conn.close();
    await server.close();
  });
  const got: string[] = [];
  conn.on('frame', (p: Buffer) => got.push(p.toString()));
  // queued before the connection is up, flushed on connect
  for (let i = 0; i < 100; i++) assert.equal(conn.send(Buffer.from(`m${i}`)), true);
  await conn.waitOpen(5000);
  await waitFor(() => got.length === 100, '100 echoes');
  assert.deepEqual(got, [...Array(100).keys()].map((i) => `m${i}`));
  assert.notEqual(server.port, 0);
});

test('a hostile length prefix closes the connection, is counted, and the server keeps serving', async (t) => {
  const server = await echoServer({ maxFrameBytes: 1024 });
  const sockets: Socket[] = [];
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await server.close();
  });
  const raw = connect({ host: '127.0.0.1', port: server.port });
  sockets.push(raw);
  let closed = false;
  raw.on('close', () => (closed = true));
  raw.on('error', () => {});
  const hdr = Buffer.alloc(4);
  hdr.writeUInt32BE(2 ** 31);
  raw.write(hdr);
  await waitFor(() => closed, 'server closes the hostile connection');
  assert.equal(server.stats().closedOversizeFrame, 1);
  // still serving
  const ok = new FrameConnection({ host: '127.0.0.1', port: server.port });
  t.after(() => ok.close());
  let echoed = '';
  ok.on('frame', (p: Buffer) => (echoed = p.toString()));
  ok.send(Buffer.from('still here'));
  ok.start();
  await waitFor(() => echoed === 'still here', 'echo after attack');
});

test('connections beyond maxConnections are refused and counted when none is idle', async (t) => {
  // every connection has pending work, so none may be evicted
  const server = await echoServer({ maxConnections: 1, hasPendingWork: () => true });
  const a = new FrameConnection({ host: '127.0.0.1', port: server.port, reconnect: false });
  const b = new FrameConnection({ host: '127.0.0.1', port: server.port, reconnect: false });
  t.after(async () => {
    a.close();
    b.close();
    await server.close();
  });
  await a.waitOpen();
  await waitFor(() => server.stats().open === 1, 'first accepted');
  let bDown = false;
  b.on('disconnect', () => (bDown = true));
  b.start();
  await waitFor(() => bDown, 'second connection dropped');
  assert.equal(server.stats().rejectedTooMany, 1);
});

test('FrameConnection reconnects with back-off after the server restarts on the same port', async (t) => {
  let server = await echoServer();
  const port = server.port;
  const conn = new FrameConnection({ host: '127.0.0.1', port, backoff: { initialMs: 10, maxMs: 100 } });
  t.after(async () => {
    conn.close();
    await server.close();
  });
  const got: string[] = [];
  conn.on('frame', (p: Buffer) => got.push(p.toString()));
  await conn.waitOpen();
  conn.send(Buffer.from('before'));
  await waitFor(() => got.includes('before'), 'echo before restart');
  let downs = 0;
  conn.on('disconnect', () => downs++);
  await server.close();
  await waitFor(() => !conn.isOpen, 'client notices the restart');
  server = await echoServer({ port });
  await waitFor(() => conn.isOpen, 'reconnected', 30_000);
  conn.send(Buffer.from('after'));
  await waitFor(() => got.includes('after'), 'echo after restart');
  assert.ok(downs >= 1);
  assert.ok(conn.stats().connects >= 2);
});

test('sending past the bounded queue drops and counts instead of growing without bound', async () => {
  const conn = new FrameConnection({ host: '127.0.0.1', port: 9, maxQueuedBytes: 100, reconnect: false });
  try {
    let accepted = 0;
    for (let i = 0; i < 10; i++) if (conn.send(new Uint8Array(30))) accepted++;
    assert.equal(accepted, 3);
    assert.equal(conn.stats().droppedQueueFull, 7);
  } finally {
    conn.close();
  }
});
