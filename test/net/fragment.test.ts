/**
 * Messages larger than one frame over the authenticated mesh: split into FRAGMENT frames and
 * reassembled (docs/networking.md). Two real TcpPeerNetworks on loopback, free ports, bounded waits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { TcpPeerNetwork, generateIdentityKeyPair, type PeerAddress, type TcpPeerNetworkOptions } from '../../src/net/index.ts';
import { sealData, sealFragment } from '../../src/net/handshake.ts';
import { waitFor } from './helpers.ts';

interface Pair {
  nets: TcpPeerNetwork[];
  /** Messages received by each node, in order. */
  inbox: { from: number; bytes: Buffer }[][];
  close(): Promise<void>;
}

/** Two nodes (0 dials 1) with per-node option overrides. */
async function pair(opts: [Partial<TcpPeerNetworkOptions>, Partial<TcpPeerNetworkOptions>] = [{}, {}], start: [boolean, boolean] = [true, true]): Promise<Pair> {
  const keys = [generateIdentityKeyPair(), generateIdentityKeyPair()];
  const base: PeerAddress[] = keys.map((k, id) => ({ id, host: '127.0.0.1', port: 0, publicKey: k.publicKey }));
  const inbox: Pair['inbox'] = [[], []];
  const nets = keys.map((k, self) => {
    const net = new TcpPeerNetwork({ self, identity: k.privateKey, peers: base.map((p) => ({ ...p })), backoff: { initialMs: 10, maxMs: 100 }, ...opts[self] });
    net.on('message', (from: number, b: Uint8Array) => inbox[self]!.push({ from, bytes: Buffer.from(b.buffer, b.byteOffset, b.length) }));
    return net;
  });
  const ports = await Promise.all(nets.map((x) => x.listen()));
  for (const net of nets) ports.forEach((port, id) => net.setPeerAddress(id, '127.0.0.1', port));
  await Promise.all(nets.map((x, i) => (start[i] ? x.start() : Promise.resolve())));
  return { nets, inbox, close: async () => void (await Promise.all(nets.map((x) => x.close()))) };
}

const up = (p: Pair): boolean => p.nets.every((x) => x.stats().connectedPeers.length === 1);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface RawSession {
  keys: { send: Buffer };
  sendCounter: bigint;
  channel: { send(b: Uint8Array): boolean; close(): void };
  partial: unknown;
}
/** The live session of `net` with `peer` (white box: lets a test act as a misbehaving, authenticated peer). */
function session(net: TcpPeerNetwork, peer: number): RawSession {
  const s = (net as unknown as { peers: { session: RawSession | undefined }[] }).peers[peer]!.session;
  assert.ok(s, 'session up');
  return s;
}
/** Send one authenticated fragment frame with the next counter. */
function injectFragment(net: TcpPeerNetwork, peer: number, first: boolean, total: number, chunk: Uint8Array): void {
  const s = session(net, peer);
  s.sendCounter++;
  s.channel.send(sealFragment(s.keys.send, s.sendCounter, first, total, chunk));
}

test('a 40 MiB message arrives intact, in order with small messages sent before and after it (both directions)', async (t) => {
  const p = await pair();
  t.after(() => p.close());
  await waitFor(() => up(p), 'session up');
  const big = randomBytes(40 * 1024 * 1024);
  const digest = sha(big);
  for (const [from, to] of [[0, 1], [1, 0]] as const) {
    const t0 = performance.now();
    const net = p.nets[from]!;
    assert.equal(net.send(to, Buffer.from('before-1')), true);
    assert.equal(net.send(to, Buffer.from('before-2')), true);
    assert.equal(net.send(to, big), true);
    assert.equal(net.send(to, Buffer.from('after-1')), true);
    await new Promise((r) => setImmediate(r));
    assert.equal(net.send(to, Buffer.from('after-2')), true);
    const inbox = p.inbox[to]!;
    await waitFor(() => inbox.length === 5, `5 messages ${from}→${to}`, 60_000);
    const ms = performance.now() - t0;
    t.diagnostic(`40 MiB ${from}→${to} (initiator ${from === 0 ? '→ responder' : '← responder'}): ${ms.toFixed(0)} ms`);
    assert.deepEqual(inbox.map((m) => (m.bytes.length < 100 ? m.bytes.toString() : `big:${m.bytes.length}`)), ['before-1', 'before-2', `big:${big.length}`, 'after-1', 'after-2']);
    assert.equal(sha(inbox[2]!.bytes), digest);
    assert.ok(inbox.every((m) => m.from === from));
    inbox.length = 0;
  }
  for (const net of p.nets) {
    const d = net.stats().dropped;
    assert.deepEqual(Object.entries(d).filter(([, v]) => v !== 0), [], 'no drops');
    assert.equal(net.stats().sessionsEstablished, 1, 'no session reset');
  }
});

test('a message above maxQueuedBytes is still sent (one message may overshoot the bound); queued before the session it is fragmented at establish', async (t) => {
  const small = { maxFrameBytes: 64 * 1024, maxQueuedBytes: 256 * 1024, maxMessageBytes: 8 * 1024 * 1024 };
  // node 1 starts later: node 0's first messages wait in its outbox
  const p = await pair([small, small], [true, false]);
  t.after(() => p.close());
  const m1 = randomBytes(3 * 1024 * 1024);
  const m2 = randomBytes(1024 * 1024);
  assert.equal(p.nets[0]!.send(1, Buffer.from('first')), true);
  assert.equal(p.nets[0]!.send(1, m1), true, 'outbox below its bound: a large message is accepted');
  assert.equal(p.nets[0]!.send(1, m2), false, 'outbox over its bound: refused');
  assert.equal(p.nets[0]!.stats().dropped['queue-full'], 1);
  await p.nets[1]!.start();
  await waitFor(() => p.inbox[1]!.length === 2, 'outbox delivered');
  assert.equal(p.inbox[1]![0]!.bytes.toString(), 'first');
  assert.equal(sha(p.inbox[1]![1]!.bytes), sha(m1));
  // with the session up: 6 MiB through a 256 KiB queue bound, 64 KiB frames
  const m3 = randomBytes(6 * 1024 * 1024);
  assert.equal(p.nets[1]!.send(0, m3), true);
  await waitFor(() => p.inbox[0]!.length === 1, 'large message on a session');
  assert.equal(sha(p.inbox[0]![0]!.bytes), sha(m3));
  // a message above maxMessageBytes is refused at the sender
  assert.throws(() => p.nets[0]!.send(1, Buffer.alloc(8 * 1024 * 1024 + 1)), /exceeds/);
});

test('an authenticated peer announcing more than maxMessageBytes: dropped, counted, session reset, no crash', async (t) => {
  const p = await pair([{ maxFrameBytes: 64 * 1024 }, { maxFrameBytes: 64 * 1024, maxMessageBytes: 1024 * 1024 }]);
  t.after(() => p.close());
  await waitFor(() => up(p), 'session up');
  // a legitimate sender with a larger limit: its 2 MiB message exceeds the receiver's 1 MiB
  assert.equal(p.nets[0]!.send(1, randomBytes(2 * 1024 * 1024)), true);
  await waitFor(() => p.nets[1]!.stats().dropped['oversize-message'] === 1, 'oversize counted');
  // a hostile announcement of 4 GiB − 1: refused from the header, nothing allocated
  await waitFor(() => up(p) && p.nets[0]!.stats().sessionsEstablished === 2, 'session re-established');
  injectFragment(p.nets[0]!, 1, true, 0xffff_ffff, Buffer.alloc(16));
  await waitFor(() => p.nets[1]!.stats().dropped['oversize-message'] === 2, 'hostile announcement counted');
  await waitFor(() => up(p) && p.nets[0]!.stats().sessionsEstablished === 3, 'session re-established again');
  assert.equal(p.inbox[1]!.length, 0, 'nothing delivered');
  p.nets[0]!.send(1, Buffer.from('still works'));
  await waitFor(() => p.inbox[1]!.length === 1, 'delivery after the resets');
  assert.equal(p.inbox[1]![0]!.bytes.toString(), 'still works');
});

test('malformed fragment sequences and forged fragments are dropped and counted without crashing', async (t) => {
  const p = await pair([{ maxFrameBytes: 64 * 1024 }, { maxFrameBytes: 64 * 1024 }]);
  t.after(() => p.close());
  await waitFor(() => up(p), 'session up');
  const rx = p.nets[1]!;
  let sessions = 1;
  const expectReset = async (what: string, n: number): Promise<void> => {
    await waitFor(() => rx.stats().dropped['bad-fragment'] === n, `${what}: counted`);
    sessions++;
    await waitFor(() => up(p) && p.nets[0]!.stats().sessionsEstablished === sessions, `${what}: session re-established`);
  };
  // 1. a continuation without a first fragment
  injectFragment(p.nets[0]!, 1, false, 0, Buffer.alloc(100));
  await expectReset('orphan continuation', 1);
  // 2. a second first fragment inside a message
  injectFragment(p.nets[0]!, 1, true, 1000, Buffer.alloc(100));
  injectFragment(p.nets[0]!, 1, true, 1000, Buffer.alloc(100));
  await expectReset('nested first fragment', 2);
  // 3. more bytes than announced
  injectFragment(p.nets[0]!, 1, true, 150, Buffer.alloc(100));
  injectFragment(p.nets[0]!, 1, false, 0, Buffer.alloc(100));
  await expectReset('overlong', 3);
  // 4. a DATA frame inside a fragmented message
  injectFragment(p.nets[0]!, 1, true, 1000, Buffer.alloc(100));
  {
    const s = session(p.nets[0]!, 1);
    s.sendCounter++;
    s.channel.send(sealData(s.keys.send, s.sendCounter, Buffer.from('interleaved')));
  }
  await expectReset('interleaved DATA', 4);
  // 5. forged: a fragment MACed with a wrong key is dropped as bad-mac (the session survives)
  {
    const s = session(p.nets[0]!, 1);
    s.sendCounter++;
    s.channel.send(sealFragment(randomBytes(32), s.sendCounter, true, 1000, Buffer.alloc(100)));
  }
  await waitFor(() => rx.stats().dropped['bad-mac'] === 1, 'forged fragment counted');
  assert.equal(p.inbox[1]!.length, 0, 'nothing delivered');
  const big = randomBytes(300 * 1024);
  p.nets[0]!.send(1, big);
  await waitFor(() => p.inbox[1]!.length === 1, 'a correct fragmented message still arrives');
  assert.equal(sha(p.inbox[1]![0]!.bytes), sha(big));
});

test('a session reset in the middle of a fragmented message discards the partial message', async (t) => {
  const p = await pair([{ maxFrameBytes: 64 * 1024 }, { maxFrameBytes: 64 * 1024 }]);
  t.after(() => p.close());
  await waitFor(() => up(p), 'session up');
  // the first half of a 1 MiB message, then the connection breaks
  const half = Buffer.alloc(512 * 1024, 7);
  for (let off = 0; off < half.length; off += 60_000) injectFragment(p.nets[0]!, 1, off === 0, 1024 * 1024, half.subarray(off, Math.min(half.length, off + 60_000)));
  await waitFor(() => session(p.nets[1]!, 0).partial !== undefined, 'partial message held');
  session(p.nets[0]!, 1).channel.close();
  await waitFor(() => up(p) && p.nets[0]!.stats().sessionsEstablished === 2, 'session re-established');
  assert.equal(session(p.nets[1]!, 0).partial, undefined, 'the new session starts without a partial message');
  // continuation pieces of the old message on the new session are out of sequence
  const msg = randomBytes(1024 * 1024);
  p.nets[0]!.send(1, msg);
  p.nets[0]!.send(1, Buffer.from('tail'));
  await waitFor(() => p.inbox[1]!.length === 2, 'new messages delivered');
  assert.equal(sha(p.inbox[1]![0]!.bytes), sha(msg));
  assert.equal(p.inbox[1]![1]!.bytes.toString(), 'tail');
  const d = p.nets[1]!.stats().dropped;
  assert.equal(d['bad-fragment'], 0);
  assert.equal(d['oversize-message'], 0);
});
