/**
 * Test-only child process: one CART replica over the built-in PBFT, with TCP everywhere.
 * Protocol over stdio (JSON lines):
 *   parent → child: {"index", "cluster", "pbftKey", "secretFile", "byzantine"?}
 *   child → parent: {"pbftPeer", "pbftClient", "cartPeer"}        (all bound on port 0)
 *   parent → child: {"addresses": [{"pbftPeer","pbftClient","cartPeer"} × n]}
 *   child → parent: {"cartPort"}                                   (ready)
 * The child exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { PbftAdapter } from '../../src/consensus/pbft/adapter.ts';
import { peerAddresses, type PbftClusterConfig } from '../../src/consensus/pbft/config.ts';
import { TcpPeerNetwork } from '../../src/net/tcp-peer-network.ts';
import { createCryptoService, loadSecretKeyFile } from '../../src/crypto/index.ts';
import { startCartReplica, type ByzantineOptions } from '../../src/replica/index.ts';
import { Counter } from '../../src/apps/counter.ts';

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const next = async (): Promise<Record<string, unknown>> => {
  const r = await lines.next();
  if (r.done) process.exit(0);
  return JSON.parse(r.value) as Record<string, unknown>;
};
const say = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');

const init = await next();
const index = init.index as number;
const cluster = init.cluster as PbftClusterConfig;
const pbftKey = init.pbftKey as string;
const keys = await loadSecretKeyFile(init.secretFile as string);
const adapter = new PbftAdapter({ self: index - 1, cluster, identity: pbftKey, retransmitTimeoutMs: 300 });
const cartNet = new TcpPeerNetwork({ self: index - 1, identity: pbftKey, peers: peerAddresses(cluster), listenPort: 0, listenHost: '127.0.0.1' });
const { peerPort, clientPort } = await adapter.listen();
const cartPeer = await cartNet.listen();
say({ pbftPeer: peerPort, pbftClient: clientPort, cartPeer });
const { addresses } = (await next()) as { addresses: Array<{ pbftPeer: number; pbftClient: number; cartPeer: number }> };
addresses.forEach((a, i) => {
  adapter.setReplicaAddress(i, '127.0.0.1', a.pbftPeer, a.pbftClient);
  cartNet.setPeerAddress(i, '127.0.0.1', a.cartPeer);
});
const crypto = await createCryptoService({ workers: 0 });
const replica = await startCartReplica({
  index,
  adapter,
  application: new Counter(),
  keys: { publicKeySets: keys.publicKeySets, shares: keys.shares },
  network: cartNet,
  crypto,
  options: { byzantine: init.byzantine as ByzantineOptions | undefined },
});
say({ cartPort: replica.address.port });
await next().catch(() => undefined); // runs until stdin closes (or the process is killed)
await replica.close();
await crypto.close();
process.exit(0);
