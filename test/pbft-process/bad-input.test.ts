import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { sign } from 'node:crypto';
import { launchLocalCluster } from '../../src/consensus/pbft/launcher.ts';
import { createPbftTcpClient } from '../../src/consensus/pbft/tcp-client.ts';
import { counterRequest } from '../../src/consensus/pbft/main.ts';
import { encodeMessage, signedBytes } from '../../src/consensus/pbft/codec.ts';
import { encodeFrame, generateIdentityKeyPair, importIdentityPrivateKey } from '../../src/net/index.ts';
import { waitFor } from '../net/helpers.ts';

test('replica processes survive hostile client and peer traffic, count it, and keep serving', async (t) => {
  const cluster = await launchLocalCluster({ f: 1, clients: ['good'], statusMs: 100 });
  const sockets: Socket[] = [];
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await cluster.close();
  });
  const hostile = async (port: number, bytes: Buffer, expectClose: boolean): Promise<void> => {
    const s = connect({ host: '127.0.0.1', port });
    sockets.push(s);
    s.on('error', () => {});
    let closed = false;
    s.on('close', () => (closed = true));
    await new Promise<void>((resolve) => s.once('connect', () => resolve()));
    s.write(bytes);
    if (expectClose) await waitFor(() => closed, 'replica closes the hostile connection', 30_000);
  };
  const r1 = cluster.replicas[1]!;
  // client port: garbage frame, forged request (signed by an unregistered key), oversize prefix
  await hostile(r1.clientPort, encodeFrame(Buffer.from('not a pbft message')), false);
  const forger = importIdentityPrivateKey(generateIdentityKeyPair().privateKey);
  const unsigned = { type: 'request' as const, clientId: 'good', requestId: 1000n, payload: counterRequest(8), sig: new Uint8Array() };
  await hostile(r1.clientPort, encodeFrame(encodeMessage({ ...unsigned, sig: sign(null, signedBytes(unsigned), forger) })), false);
  const oversize = Buffer.alloc(4);
  oversize.writeUInt32BE(2 ** 31);
  await hostile(r1.clientPort, oversize, true);
  // peer port: a handshake of garbage
  await hostile(cluster.replicas[2]!.peerPort, encodeFrame(Buffer.alloc(70, 7)), true);

  await waitFor(() => (r1.status?.pbftDropped['malformed'] ?? 0) >= 1 && (r1.status?.pbftDropped['bad-signature'] ?? 0) >= 1, 'replica 1 counted the bad client input', 30_000);
  await waitFor(() => (cluster.replicas[2]!.status?.netDropped['malformed'] ?? 0) >= 1, 'replica 2 counted the bad handshake', 30_000);

  const client = createPbftTcpClient({ cluster: cluster.config, clientId: 'good', privateKey: cluster.clientKeys['good']!, endpoints: cluster.endpoints(), maxOutstanding: 10 });
  t.after(() => client.close());
  const results = await Promise.all([...Array(30)].map(async () => Buffer.from(await client.invoke(counterRequest(8))).readBigUInt64BE(0)));
  // the forged request (sent first) never executed: the counter results are exactly 1..30
  assert.deepEqual([...results].sort((a, b) => Number(a - b)), [...Array(30).keys()].map((i) => BigInt(i + 1)));
  for (const r of cluster.replicas) {
    assert.equal(r.child.exitCode, null, `replica ${r.id} still running`);
    assert.equal(r.status?.node.coreErrors ?? 0, 0);
  }
});
