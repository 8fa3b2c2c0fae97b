/**
 * Quick figures for the CART core (not a test): 4 in-process replicas over the in-memory
 * sequencer, real TCP client endpoints, closed-loop clients with pipelining.
 *
 *   node --import tsx bench/cart-core.ts [--ops 2000] [--clients 4] [--depth 16]
 *
 * Prints one JSON line per mode: throughput, pairing checks per reply at the client.
 */
import { parseArgs } from 'node:util';
import { Counter, encodeCounterOperation } from '../src/apps/counter.ts';
import { MemorySequencer } from '../src/consensus/memory/index.ts';
import { MemoryHub } from '../src/net/memory-peer-network.ts';
import { createCryptoService, dealKeySets, defaultKeySetSpecs } from '../src/crypto/index.ts';
import { startCartReplica, type CartReplica, type CartReplicaTuning } from '../src/replica/index.ts';
import { connect } from '../src/client/index.ts';

const { values } = parseArgs({ options: { ops: { type: 'string', default: '2000' }, clients: { type: 'string', default: '4' }, depth: { type: 'string', default: '16' } } });
const OPS = Number(values.ops);
const CLIENTS = Number(values.clients);
const DEPTH = Number(values.depth);

async function run(mode: string, tuning: (i: number) => CartReplicaTuning, batchSize: number): Promise<void> {
  const n = 4;
  const keys = dealKeySets(n, defaultKeySetSpecs(1));
  const crypto = await createCryptoService({ workers: 0 });
  const seq = new MemorySequencer({ replicas: n, batchSize });
  const hub = new MemoryHub(n);
  const replicas: CartReplica[] = [];
  for (let i = 1; i <= n; i++) {
    replicas.push(
      await startCartReplica({ index: i, adapter: seq.adapter(i - 1), application: new Counter(), keys: { publicKeySets: keys.publicKeySets, shares: keys.shares[i - 1]! }, network: hub.endpoint(i - 1), crypto, options: tuning(i) }),
    );
  }
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, (_, c) =>
      connect({ replicas: replicas.map((r) => r.address), publicKeySets: keys.publicKeySets, contact: 1 + (c % 3), verifier: { verify: (a, b, m, s) => crypto.verify(a, b, m, s), batchVerify: (items) => crypto.batchVerify(items) } }),
    ),
  );
  const op = encodeCounterOperation({ type: 'add', amount: 1n });
  let issued = 0;
  const start = performance.now();
  await Promise.all(
    clients.flatMap((c) =>
      Array.from({ length: DEPTH }, async () => {
        while (issued < OPS) {
          issued++;
          await c.invoke(op);
        }
      }),
    ),
  );
  const secs = (performance.now() - start) / 1000;
  const st = clients.map((c) => c.stats());
  const verified = st.reduce((s, x) => s + x.verified, 0);
  const pairings = st.reduce((s, x) => s + x.pairingChecks, 0);
  if (process.env.DEBUG_STATS) console.error(JSON.stringify(st.map((x) => ({ t: x.timeouts, f: x.failovers, r: x.rejected }))));
  console.log(JSON.stringify({ mode, batchSize, clients: CLIENTS, depth: DEPTH, ops: verified, throughputOpsPerSec: Math.round(verified / secs), pairingChecksPerReply: +(pairings / verified).toFixed(3) }));
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(replicas.map((r) => r.close()));
  await crypto.close();
}

await run('tentative, batch 16', () => ({}), 16);
await run('verify-each-share, batch 16', () => ({ tentative: false }), 16);
await run('tentative, batch signatures off', () => ({ batchSignatures: false }), 16);
await run('tentative, batch 16, replica 1 bad shares', (i) => (i === 1 ? { byzantine: { badShares: true } } : {}), 16);
