import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import {
  TcpPeerNetwork, MemoryHub, generateIdentityKeyPair, FrameDecoder, encodeFrame,
  type EncodedKeyPair, type PeerAddress, type TcpPeerNetworkOptions,
} from '../../src/net/index.ts';
import { waitFor } from './helpers.ts';
import { decodeMulti, encodeMulti } from '../../src/net/handshake.ts';

interface Cluster {
  nets: TcpPeerNetwork[];
  keys: EncodedKeyPair[];
  inbox: { from: number; to: number; text: string }[];
  close(): Promise<void>;
}

/** n authenticated nodes on free ports; `tweak` may change the config a node sees. */
async function cluster(
  n: number,
  tweak: (self: number, peers: PeerAddress[]) => PeerAddress[] = (_s, p) => p,
  keys: EncodedKeyPair[] = [...Array(n)].map(() => generateIdentityKeyPair()),
  start = true,
  extra: Partial<TcpPeerNetworkOptions> = {},
): Promise<Cluster> {
  const base: PeerAddress[] = keys.map((k, id) => ({ id, host: '127.0.0.1', port: 0, publicKey: k.publicKey }));
  const inbox: Cluster['inbox'] = [];
  const nets = keys.map((k, self) => {
    const net = new TcpPeerNetwork({ self, identity: k.privateKey, peers: tweak(self, base.map((p) => ({ ...p }))), backoff: { initialMs: 10, maxMs: 200 }, ...extra });
    net.on('message', (from: number, b: Uint8Array) => inbox.push({ from, to: self, text: Buffer.from(b).toString() }));
    return net;
  });
  const ports = await Promise.all(nets.map((x) => x.listen()));
  for (const net of nets) ports.forEach((port, id) => net.setPeerAddress(id, '127.0.0.1', port));
  if (start) await Promise.all(nets.map((x) => x.start()));
  return { nets, keys, inbox, close: async () => void (await Promise.all(nets.map((x) => x.close()))) };
}

function fullyConnected(nets: TcpPeerNetwork[]): boolean {
  return nets.every((x) => x.stats().connectedPeers.length === nets.length - 1);
}

test('4 replicas form an authenticated mesh; send, broadcast and self-send deliver with the true sender', async (t) => {
  const c = await cluster(4);
  t.after(() => c.close());
  await waitFor(() => fullyConnected(c.nets), 'full mesh');
  for (const net of c.nets) net.broadcast(Buffer.from(`hello from ${net.self}`));
  c.nets[2]!.send(2, Buffer.from('note to self'));
  c.nets[3]!.send(0, Buffer.from('direct'));
  await waitFor(() => c.inbox.length === 4 * 3 + 2, 'all messages');
  for (const m of c.inbox) {
    if (m.text.startsWith('hello from ')) {
      assert.equal(m.text, `hello from ${m.from}`);
      assert.notEqual(m.from, m.to);
    }
  }
  assert.deepEqual(c.inbox.find((m) => m.text === 'note to self'), { from: 2, to: 2, text: 'note to self' });
  assert.deepEqual(c.inbox.find((m) => m.text === 'direct'), { from: 3, to: 0, text: 'direct' });
  // per-sender FIFO
  for (let i = 0; i < 200; i++) c.nets[1]!.send(3, Buffer.from(`seq${i}`));
  await waitFor(() => c.inbox.filter((m) => m.text.startsWith('seq')).length === 200, 'ordered burst');
  assert.deepEqual(c.inbox.filter((m) => m.text.startsWith('seq')).map((m) => m.text), [...Array(200).keys()].map((i) => `seq${i}`));
  for (const net of c.nets) assert.equal(Object.values(net.stats().dropped).reduce((a, b) => a + b, 0), 0);
});

test('a replica with the wrong key is rejected at handshake; the others still talk', async (t) => {
  const keys = [...Array(4)].map(() => generateIdentityKeyPair());
  const impostor = generateIdentityKeyPair();
  // replica 1 signs with a key nobody configured for id 1
  const base: PeerAddress[] = keys.map((k, id) => ({ id, host: '127.0.0.1', port: 0, publicKey: k.publicKey }));
  const inbox: string[] = [];
  const nets = keys.map((k, self) => {
    const ownKey = self === 1 ? { ...base[1]!, publicKey: impostor.publicKey } : base[1]!;
    const peers = base.map((p) => (p.id === 1 && self === 1 ? ownKey : { ...p }));
    const net = new TcpPeerNetwork({ self, identity: self === 1 ? impostor.privateKey : k.privateKey, peers, backoff: { initialMs: 10, maxMs: 100 } });
    net.on('message', (from: number, b: Uint8Array) => inbox.push(`${from}->${self}:${Buffer.from(b).toString()}`));
    return net;
  });
  t.after(async () => void (await Promise.all(nets.map((x) => x.close()))));
  const ports = await Promise.all(nets.map((x) => x.listen()));
  for (const net of nets) ports.forEach((port, id) => net.setPeerAddress(id, '127.0.0.1', port));
  await Promise.all(nets.map((x) => x.start()));
  const honest = [0, 2, 3];
  await waitFor(() => honest.every((i) => nets[i]!.stats().connectedPeers.filter((p) => p !== 1).length === 2), 'honest mesh');
  // replica 1 dials 2 and 3 (they reject its FINISH); replica 0 dials 1 (0 rejects its REPLY)
  await waitFor(() => nets[0]!.stats().dropped['bad-signature'] >= 1 && nets[2]!.stats().dropped['bad-signature'] >= 1 && nets[3]!.stats().dropped['bad-signature'] >= 1, 'rejections counted');
  for (const i of honest) assert.ok(!nets[i]!.stats().connectedPeers.includes(1));
  nets[1]!.broadcast(Buffer.from('forged'));
  nets[0]!.broadcast(Buffer.from('real'));
  await waitFor(() => inbox.filter((m) => m.endsWith('real')).length === 2, 'honest delivery');
  assert.ok(!inbox.some((m) => m.endsWith('forged')));
  assert.ok(!inbox.some((m) => m.startsWith('1->') || m.endsWith('->1:real')));
});

/** A TCP man-in-the-middle that forwards frames and can tamper with, replay or reorder them. */
class FrameProxy {
  server: Server;
  port = 0;
  mode: 'forward' | 'tamper' | 'replay' | 'swap' | 'blackhole' = 'forward';
  private sockets: Socket[] = [];
  private held: Buffer | undefined;
  /** First byte (frame type) of every frame from the dialler. */
  readonly seen: number[] = [];
  constructor(targetPort: number) {
    this.server = createServer((down) => {
      const up = connect({ host: '127.0.0.1', port: targetPort });
      this.sockets.push(down, up);
      down.on('error', () => up.destroy());
      up.on('error', () => down.destroy());
      down.on('close', () => up.destroy());
      up.on('close', () => down.destroy());
      up.pipe(down);
      const dec = new FrameDecoder();
      down.on('data', (chunk: Buffer) => {
        for (const f of dec.push(chunk)) {
          if (this.mode === 'blackhole') continue;
          this.seen.push(f[0]!);
          if (f[0] !== 4 && f[0] !== 6) {
            up.write(encodeFrame(f));
            continue;
          }
          if (this.mode === 'tamper') {
            const g = Buffer.from(f);
            g[g.length - 1]! ^= 1;
            up.write(encodeFrame(g));
            this.mode = 'forward';
          } else if (this.mode === 'replay') {
            up.write(encodeFrame(f));
            up.write(encodeFrame(f));
            this.mode = 'forward';
          } else if (this.mode === 'swap') {
            if (!this.held) {
              this.held = f;
            } else {
              up.write(encodeFrame(f));
              up.write(encodeFrame(this.held));
              this.held = undefined;
              this.mode = 'forward';
            }
          } else up.write(encodeFrame(f));
        }
      });
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

test('tampered, replayed and reordered data frames are dropped and counted; the session survives', async (t) => {
  const c = await cluster(2, undefined, undefined, false);
  const proxy = new FrameProxy(c.nets[1]!.port);
  await proxy.listen();
  t.after(async () => {
    await c.close();
    await proxy.close();
  });
  c.nets[0]!.setPeerAddress(1, '127.0.0.1', proxy.port);
  await Promise.all(c.nets.map((x) => x.start()));
  await waitFor(() => fullyConnected(c.nets), 'session via proxy');
  const got = (): string[] => c.inbox.filter((m) => m.to === 1).map((m) => m.text);
  // one message per tick: messages sent in the same tick share one (multi-message) frame
  const send = async (s: string): Promise<void> => {
    c.nets[0]!.send(1, Buffer.from(s));
    await new Promise((r) => setImmediate(r));
  };

  proxy.mode = 'tamper';
  await send('t1');
  await send('t2');
  await waitFor(() => got().includes('t2'), 't2');
  assert.equal(c.nets[1]!.stats().dropped['bad-mac'], 1);
  assert.ok(!got().includes('t1'));

  proxy.mode = 'replay';
  await send('r1');
  await send('r2');
  await waitFor(() => got().includes('r2'), 'r2');
  assert.equal(got().filter((x) => x === 'r1').length, 1);
  assert.equal(c.nets[1]!.stats().dropped.replay, 1);

  proxy.mode = 'swap';
  await send('s1');
  await send('s2');
  await send('s3');
  await waitFor(() => got().includes('s3'), 's3');
  assert.deepEqual(got().filter((x) => x.startsWith('s')), ['s2', 's3']);
  assert.equal(c.nets[1]!.stats().dropped.replay, 2);
  assert.deepEqual(got(), ['t2', 'r1', 'r2', 's2', 's3']);
});

test('messages to one peer in one tick travel as one multi-message frame, in order; a tampered one is dropped whole', async (t) => {
  const c = await cluster(2, undefined, undefined, false);
  const proxy = new FrameProxy(c.nets[1]!.port);
  await proxy.listen();
  t.after(async () => {
    await c.close();
    await proxy.close();
  });
  c.nets[0]!.setPeerAddress(1, '127.0.0.1', proxy.port);
  await Promise.all(c.nets.map((x) => x.start()));
  await waitFor(() => fullyConnected(c.nets), 'session via proxy');
  const got = (): string[] => c.inbox.filter((m) => m.to === 1).map((m) => m.text);
  const before = proxy.seen.filter((x) => x === 6).length;
  for (const m of ['a', 'b', 'c']) c.nets[0]!.send(1, Buffer.from(m));
  await waitFor(() => got().includes('c'), 'c');
  assert.deepEqual(got(), ['a', 'b', 'c']);
  assert.equal(proxy.seen.filter((x) => x === 6).length, before + 1, 'one DATA_MULTI frame');
  proxy.mode = 'tamper';
  for (const m of ['x', 'y']) c.nets[0]!.send(1, Buffer.from(m));
  await new Promise((r) => setImmediate(r));
  c.nets[0]!.send(1, Buffer.from('z'));
  await waitFor(() => got().includes('z'), 'z');
  assert.deepEqual(got(), ['a', 'b', 'c', 'z'], 'x and y were in the tampered frame');
  assert.equal(c.nets[1]!.stats().dropped['bad-mac'], 1);
});

test('encodeMulti/decodeMulti round-trip; truncated or empty payloads are malformed', () => {
  const msgs = [Buffer.from('one'), Buffer.alloc(0), Buffer.from('three')];
  assert.deepEqual(decodeMulti(encodeMulti(msgs))?.map((b) => b.toString()), ['one', '', 'three']);
  const enc = encodeMulti(msgs);
  assert.equal(decodeMulti(enc.subarray(0, enc.length - 1)), undefined);
  assert.equal(decodeMulti(enc.subarray(0, 2)), undefined);
  assert.equal(decodeMulti(Buffer.alloc(0)), undefined);
  assert.throws(() => encodeMulti([]), RangeError);
});

test('garbage and misrouted handshakes are dropped and counted without crashing', async (t) => {
  const c = await cluster(3);
  const raws: Socket[] = [];
  t.after(async () => {
    for (const r of raws) r.destroy();
    await c.close();
  });
  await waitFor(() => fullyConnected(c.nets), 'mesh');
  const target = c.nets[2]!;
  const rawSend = async (payload: Buffer): Promise<void> => {
    const s = connect({ host: '127.0.0.1', port: target.port });
    raws.push(s);
    s.on('error', () => {});
    let closed = false;
    s.on('close', () => (closed = true));
    s.write(payload);
    await waitFor(() => closed, 'hostile connection closed');
  };
  await rawSend(encodeFrame(Buffer.from('garbage')));
  const hello = Buffer.alloc(70);
  hello[0] = 1;
  hello[1] = 1;
  hello.writeUInt16BE(0, 2);
  hello.writeUInt16BE(1, 4); // addressed to replica 1, delivered to replica 2
  await rawSend(encodeFrame(hello));
  const oversize = Buffer.alloc(4);
  oversize.writeUInt32BE(0xffffffff);
  await rawSend(oversize);
  const d = target.stats().dropped;
  assert.equal(d.malformed, 1);
  assert.equal(d.misrouted, 1);
  assert.equal(d['oversize-frame'], 1);
  c.nets[0]!.send(2, Buffer.from('after'));
  await waitFor(() => c.inbox.some((m) => m.text === 'after' && m.to === 2), 'still serving');
});

test('a restarted replica reconnects (both as dialler and as acceptor) and messages flow again', async (t) => {
  const c = await cluster(3);
  const extra: TcpPeerNetwork[] = [];
  t.after(async () => {
    await c.close();
    for (const x of extra) await x.close();
  });
  await waitFor(() => fullyConnected(c.nets), 'mesh');
  const restart = async (id: number): Promise<TcpPeerNetwork> => {
    const port = c.nets[id]!.port;
    await c.nets[id]!.close();
    await waitFor(() => c.nets.every((x, i) => i === id || !x.stats().connectedPeers.includes(id)), `peers notice ${id} down`);
    const peers = c.keys.map((k, pid) => ({ id: pid, host: '127.0.0.1', port: c.nets[pid]!.port, publicKey: k.publicKey }));
    const fresh = new TcpPeerNetwork({ self: id, identity: c.keys[id]!.privateKey, peers, listenPort: port, backoff: { initialMs: 10, maxMs: 200 } });
    fresh.on('message', (from: number, b: Uint8Array) => c.inbox.push({ from, to: id, text: Buffer.from(b).toString() }));
    extra.push(fresh);
    c.nets[id] = fresh;
    await fresh.start();
    await waitFor(() => fullyConnected(c.nets), `mesh after restarting ${id}`, 30_000);
    return fresh;
  };
  await restart(1); // dials 2, accepts from 0
  await restart(0); // dials everyone
  c.nets[2]!.broadcast(Buffer.from('back'));
  c.nets[0]!.send(1, Buffer.from('again'));
  await waitFor(() => c.inbox.filter((m) => m.text === 'back').length === 2 && c.inbox.some((m) => m.text === 'again'), 'messages after restarts');
  assert.ok(c.nets[2]!.stats().sessionsEstablished >= 4);
});

test('MemoryHub delivers with the true sender, honours filters, and restarts endpoints', async () => {
  const hub = new MemoryHub(3);
  const eps = [0, 1, 2].map((i) => hub.endpoint(i));
  const got: string[] = [];
  eps.forEach((ep, i) => ep.on('message', (from: number, b: Uint8Array) => got.push(`${from}->${i}:${Buffer.from(b).toString()}`)));
  await Promise.all(eps.map((e) => e.start()));
  hub.setFilter((from, to) => !(from === 0 && to === 2));
  eps[0]!.broadcast(Buffer.from('x'));
  assert.equal(eps[0]!.send(7, Buffer.from('y')), false);
  await waitFor(() => got.length === 1, 'filtered delivery');
  assert.deepEqual(got, ['0->1:x']);
  assert.equal(eps[0]!.stats().dropped['bad-destination'], 1);
  await eps[1]!.close();
  assert.throws(() => hub.endpoint(2));
  const again = hub.endpoint(1);
  again.on('message', (from: number, b: Uint8Array) => got.push(`${from}->1':${Buffer.from(b).toString()}`));
  await again.start();
  hub.setFilter(undefined);
  eps[2]!.send(1, Buffer.from('z'));
  await waitFor(() => got.length === 2, 'delivery to restarted endpoint');
  assert.equal(got[1], "2->1':z");
});

test('a silent (half-open) session is detected by heartbeats, reset, and re-established', async (t) => {
  const c = await cluster(2, undefined, undefined, false, { heartbeatMs: 50, idleTimeoutMs: 400, handshakeTimeoutMs: 500 });
  const proxy = new FrameProxy(c.nets[1]!.port);
  await proxy.listen();
  t.after(async () => {
    await c.close();
    await proxy.close();
  });
  c.nets[0]!.setPeerAddress(1, '127.0.0.1', proxy.port);
  const downs: number[] = [];
  c.nets[1]!.on('peer-down', (id: number) => downs.push(id));
  await Promise.all(c.nets.map((x) => x.start()));
  await waitFor(() => fullyConnected(c.nets), 'session via proxy');
  const established = c.nets[1]!.stats().sessionsEstablished;
  proxy.mode = 'blackhole'; // 0 -> 1 traffic vanishes, TCP stays open
  await waitFor(() => downs.includes(0), 'replica 1 notices the silent peer');
  proxy.mode = 'forward';
  await waitFor(() => fullyConnected(c.nets) && c.nets[1]!.stats().sessionsEstablished > established, 'session re-established', 30_000);
  c.nets[0]!.send(1, Buffer.from('alive'));
  await waitFor(() => c.inbox.some((m) => m.text === 'alive'), 'delivery after recovery');
});
