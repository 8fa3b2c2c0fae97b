/**
 * Resource limits of FrameServer on real sockets (port 0): per-address cap, deadlines, eviction
 * at the global cap, partial-frame budget, and their counters. Deadlines run on an injected
 * clock and are applied by calling `sweep()`, so no test depends on wall-clock timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { FrameServer, encodeFrame, type FrameServerOptions, type LimitReason, type ServerConnection } from '../../src/net/index.ts';
import { waitFor } from './helpers.ts';

interface Raw {
  socket: Socket;
  closed: boolean;
  echoes: number;
}

/** A test fixture: an echo server with a manual clock, and raw client sockets cleaned up after the test. */
async function fixture(t: { after(fn: () => unknown): void }, opts: FrameServerOptions = {}) {
  let clock = 1_000_000;
  const server = new FrameServer({ port: 0, sweepIntervalMs: 0, now: () => clock, ...opts });
  server.on('frame', (c: ServerConnection, p: Buffer) => c.send(p));
  const limits: LimitReason[] = [];
  server.on('limit', (r: LimitReason) => limits.push(r));
  await server.listen();
  const raws: Raw[] = [];
  t.after(async () => {
    for (const r of raws) r.socket.destroy();
    await server.close();
  });
  /** Connect a raw socket and wait until the server registered it (or closed it). */
  const open = async (localAddress?: string): Promise<Raw> => {
    const before = server.stats();
    const handled = before.accepted + before.rejectedTooMany + before.rejectedPerAddress;
    const socket = connect({ host: '127.0.0.1', port: server.port, ...(localAddress ? { localAddress } : {}) });
    const r: Raw = { socket, closed: false, echoes: 0 };
    raws.push(r);
    socket.on('error', () => {});
    socket.on('close', () => (r.closed = true));
    socket.on('data', () => r.echoes++);
    await waitFor(() => {
      const s = server.stats();
      return s.accepted + s.rejectedTooMany + s.rejectedPerAddress > handled;
    }, 'server handled the connection');
    return r;
  };
  /** Send one complete frame and wait for its echo. */
  const frame = async (r: Raw, payload = Buffer.from('ping')): Promise<void> => {
    const n = r.echoes;
    r.socket.write(encodeFrame(payload));
    await waitFor(() => r.echoes > n, 'echo');
  };
  return {
    server,
    limits,
    open,
    frame,
    advance: (ms: number) => (clock += ms),
    conn: (r: Raw) => server.connections().find((c) => c.remote === `127.0.0.1:${r.socket.localPort}` || c.framed.socket.remotePort === r.socket.localPort),
  };
}

test('per-address cap refuses the connection beyond the cap from one address, not from another', async (t) => {
  const f = await fixture(t, { maxConnectionsPerAddress: 2, hasPendingWork: () => true });
  const a = await f.open();
  const b = await f.open();
  const c = await f.open();
  await waitFor(() => c.closed, 'third connection from 127.0.0.1 closed');
  assert.equal(f.server.stats().rejectedPerAddress, 1);
  assert.equal(f.server.stats().open, 2);
  assert.deepEqual(f.limits, ['per-address-cap']);
  // another loopback address has its own allowance
  const d = await f.open('127.0.0.2');
  await f.frame(d);
  assert.equal(f.server.stats().open, 3);
  assert.equal(a.closed || b.closed, false);
});

test('per-address cap evicts an idle connection of that address instead of refusing', async (t) => {
  const f = await fixture(t, { maxConnectionsPerAddress: 2 });
  const a = await f.open();
  await f.frame(a);
  const b = await f.open();
  f.advance(5_000); // both idle for longer than evictIdleAfterMs
  await f.frame(a); // a active again
  const c = await f.open();
  await waitFor(() => b.closed, 'idle connection b evicted');
  await f.frame(c);
  assert.equal(a.closed, false);
  const s = f.server.stats();
  assert.equal(s.evicted, 1);
  assert.equal(s.rejectedPerAddress, 0);
});

test('deadlines: no first frame, incomplete frame and idle connections are closed; pending work protects', async (t) => {
  const f = await fixture(t, { firstFrameTimeoutMs: 1_000, frameTimeoutMs: 2_000, idleTimeoutMs: 10_000 });
  const silent = await f.open();
  const active = await f.open();
  const waiting = await f.open();
  const slow = await f.open();
  await f.frame(active);
  await f.frame(waiting);
  await f.frame(slow);
  f.conn(waiting)!.pendingWork = 1; // e.g. a request still being ordered
  const hdr = Buffer.alloc(4);
  hdr.writeUInt32BE(100);
  slow.socket.write(Buffer.concat([hdr, Buffer.alloc(10)]));
  await waitFor(() => f.server.stats().partialBytes === 10, 'partial frame buffered');

  f.advance(999);
  assert.equal(f.server.sweep(), 0);
  f.advance(1);
  assert.equal(f.server.sweep(), 1);
  await waitFor(() => silent.closed, 'silent connection closed');
  assert.equal(f.server.stats().closedFirstFrameTimeout, 1);

  f.advance(1_000); // the partial frame started 2 000 ms ago
  assert.equal(f.server.sweep(), 1);
  await waitFor(() => slow.closed, 'slow frame closed');
  assert.equal(f.server.stats().closedFrameTimeout, 1);
  assert.equal(f.server.stats().partialBytes, 0);

  f.advance(8_000); // 10 000 ms since the last frame of active and waiting
  assert.equal(f.server.sweep(), 1);
  await waitFor(() => active.closed, 'idle connection closed');
  assert.equal(waiting.closed, false, 'a connection with pending work is not idle');
  f.conn(waiting)!.pendingWork = 0;
  assert.equal(f.server.sweep(), 1);
  await waitFor(() => waiting.closed, 'closed once nothing is pending');
  const s = f.server.stats();
  assert.equal(s.closedIdle, 2);
  assert.equal(s.open, 0);
  assert.deepEqual([...f.limits].sort(), ['first-frame-timeout', 'frame-timeout', 'idle-timeout', 'idle-timeout']);
});

test('a reply sent counts as activity (a client waiting for a slow reply is not idle after it)', async (t) => {
  const f = await fixture(t, { idleTimeoutMs: 10_000 });
  const a = await f.open();
  await f.frame(a);
  f.advance(9_000);
  const n = a.echoes;
  f.conn(a)!.send(Buffer.from('late reply'));
  await waitFor(() => a.echoes > n, 'reply received');
  f.advance(9_000);
  assert.equal(f.server.sweep(), 0);
  f.advance(1_000);
  assert.equal(f.server.sweep(), 1);
});

test('at the global cap the oldest idle connection is evicted (never-framed first); refused only if none is idle', async (t) => {
  const f = await fixture(t, { maxConnections: 3 });
  const old = await f.open();
  await f.frame(old); // framed, idle since t0
  const never = await f.open(); // never sent a frame, accepted later than `old`
  const busy = await f.open();
  await f.frame(busy);
  f.conn(busy)!.pendingWork = 1;
  f.advance(5_000);
  const n1 = await f.open();
  await waitFor(() => never.closed, 'never-framed connection evicted first');
  assert.equal(old.closed, false);
  f.advance(5_000);
  await f.frame(n1); // n1 recently active
  const n2 = await f.open();
  await waitFor(() => old.closed, 'then the least recently active idle connection');
  // now: busy (pending), n1 (active just now), n2 (just accepted): nothing idle enough
  const n3 = await f.open();
  await waitFor(() => n3.closed, 'refused');
  assert.equal(busy.closed || n1.closed || n2.closed, false);
  const s = f.server.stats();
  assert.equal(s.evicted, 2);
  assert.equal(s.rejectedTooMany, 1);
  assert.equal(s.open, 3);
});

test('the partial-frame budget closes the connection holding the largest partial frame', async (t) => {
  const f = await fixture(t, { maxFrameBytes: 1_000, maxPartialBytes: 1_500 });
  const a = await f.open();
  const b = await f.open();
  const hdr = Buffer.alloc(4);
  hdr.writeUInt32BE(1_000);
  a.socket.write(Buffer.concat([hdr, Buffer.alloc(600, 1)]));
  await waitFor(() => f.server.stats().partialBytes === 600, 'a buffered');
  b.socket.write(Buffer.concat([hdr, Buffer.alloc(950, 2)]));
  await waitFor(() => b.closed, 'largest partial closed');
  let s = f.server.stats();
  assert.equal(s.closedBudget, 1);
  assert.equal(s.partialBytes, 600);
  assert.equal(a.closed, false);
  a.socket.write(Buffer.alloc(400, 1)); // completes a's frame
  await waitFor(() => a.echoes > 0, 'a echoed');
  s = f.server.stats();
  assert.equal(s.partialBytes, 0);
  assert.equal(s.closedBudget, 1);
});

test('the budget is never below one maximal frame', () => {
  const s = new FrameServer({ maxFrameBytes: 10_000, maxPartialBytes: 10 });
  assert.equal(s.limits.maxPartialBytes, 10_004);
  assert.throws(() => new FrameServer({ idleTimeoutMs: -1 }), RangeError);
});

test('oversize prefix and garbage closures are counted by reason and reported as limit events', async (t) => {
  const f = await fixture(t, { maxFrameBytes: 100 });
  const a = await f.open();
  const hdr = Buffer.alloc(4);
  hdr.writeUInt32BE(101);
  a.socket.write(hdr);
  await waitFor(() => a.closed, 'oversize closed');
  const b = await f.open();
  await f.frame(b);
  f.conn(b)!.closeForGarbage();
  await waitFor(() => b.closed, 'garbage closed');
  const s = f.server.stats();
  assert.equal(s.closedOversizeFrame, 1);
  assert.equal(s.closedGarbage, 1);
  assert.deepEqual(f.limits, ['oversize-frame', 'garbage']);
});
