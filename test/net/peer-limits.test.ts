/** The replica mesh listener counts (and rate-limits the warnings of) refused and limit-closed connections. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { TcpPeerNetwork, RateLimitedWarn, generateIdentityKeyPair, type NetLogger, type PeerAddress } from '../../src/net/index.ts';
import { waitFor } from './helpers.ts';

/** A logger that records warn lines. */
function recorder(): NetLogger & { warns: { obj: Record<string, unknown>; msg: string | undefined }[] } {
  const warns: { obj: Record<string, unknown>; msg: string | undefined }[] = [];
  return { warns, debug() {}, info() {}, warn: (obj, msg) => void warns.push({ obj: obj as Record<string, unknown>, msg }) };
}

test('connections refused by the mesh listener are counted and warned about once per interval; the session is protected', async (t) => {
  const keys = [generateIdentityKeyPair(), generateIdentityKeyPair()];
  const base: PeerAddress[] = keys.map((k, id) => ({ id, host: '127.0.0.1', port: 0, publicKey: k.publicKey }));
  const log = recorder();
  // one connection per address: the authenticated session from replica 0 fills it and must not be evicted
  const nets = keys.map((k, self) => new TcpPeerNetwork({
    self, identity: k.privateKey, peers: base.map((p) => ({ ...p })), backoff: { initialMs: 10, maxMs: 200 },
    maxConnectionsPerAddress: 1, listenerLimits: { evictIdleAfterMs: 0 }, warnIntervalMs: 1e9, logger: self === 1 ? log : undefined,
  }));
  const sockets: Socket[] = [];
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(nets.map((x) => x.close()));
  });
  const ports = await Promise.all(nets.map((x) => x.listen()));
  for (const net of nets) ports.forEach((port, id) => net.setPeerAddress(id, '127.0.0.1', port));
  await Promise.all(nets.map((x) => x.start()));
  await waitFor(() => nets.every((x) => x.stats().connectedPeers.length === 1), 'session up');

  const closed: boolean[] = [];
  for (let i = 0; i < 3; i++) {
    const s = connect({ host: '127.0.0.1', port: ports[1]! });
    sockets.push(s);
    closed.push(false);
    s.on('error', () => {});
    s.on('close', () => (closed[i] = true));
  }
  await waitFor(() => closed.every(Boolean), 'all three refused');
  await waitFor(() => nets[1]!.stats().dropped['connection-refused'] === 3, 'refusals counted');
  assert.deepEqual(nets[1]!.stats().connectedPeers, [0], 'the authenticated session survived');
  const refusedWarns = log.warns.filter((w) => w.obj['reason'] === 'connection-refused');
  assert.equal(refusedWarns.length, 1, 'one warning per interval');
  assert.equal(refusedWarns[0]!.obj['limit'], 'per-address-cap');
  // the mesh still works
  let got = '';
  nets[1]!.on('message', (_f: number, b: Uint8Array) => (got = Buffer.from(b).toString()));
  nets[0]!.send(1, Buffer.from('after the flood'));
  await waitFor(() => got === 'after the flood', 'delivery after the flood');
});

test('RateLimitedWarn logs once per key and interval and reports how many lines it suppressed', () => {
  let now = 0;
  const log = recorder();
  const w = new RateLimitedWarn(log, () => now, 1000);
  assert.equal(w.warn('a', { x: 1 }, 'm'), true);
  assert.equal(w.warn('a', { x: 2 }, 'm'), false);
  assert.equal(w.warn('b', { x: 3 }, 'm'), true);
  now = 999;
  assert.equal(w.warn('a', { x: 4 }, 'm'), false);
  now = 1000;
  assert.equal(w.warn('a', { x: 5 }, 'm'), true);
  assert.deepEqual(log.warns.map((l) => l.obj), [{ x: 1 }, { x: 3 }, { x: 5, suppressed: 2 }]);
});
