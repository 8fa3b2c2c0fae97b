/**
 * CPU cost of the PBFT core alone (no sockets): a whole 4-replica cluster and its clients run
 * in one process on the seeded simulator with a reliable network; reports executed requests
 * per CPU-second for both authenticators. Not a test. Usage:
 *   node --import tsx bench/pbft-core.ts [requestsPerClient=500]
 */
import { runPbftSimulation } from '../src/consensus/pbft/simulation.ts';

const perClient = Number(process.argv[2] ?? 500);
for (const authenticator of ['sim', 'ed25519'] as const) {
  for (const batchMaxSize of [1, 16, 64]) {
    const clients = 8;
    const t0 = process.cpuUsage();
    const r = runPbftSimulation({
      seed: 1,
      authenticator,
      clients,
      requestsPerClient: perClient,
      outstandingPerClient: 16,
      config: { batchMaxSize, checkpointInterval: 64, watermarkWindow: 256, clientWindow: 64 },
    });
    const cpu = process.cpuUsage(t0);
    const sec = (cpu.user + cpu.system) / 1e6;
    if (!r.ok) throw new Error(r.failure);
    console.log(
      `auth=${authenticator.padEnd(7)} batch≤${String(batchMaxSize).padStart(2)}: ${r.completed} requests, ` +
        `${(r.completed / sec).toFixed(0)} req per CPU-second (whole cluster of 4 + ${clients} clients in one process), ` +
        `${r.replicas[0]!.batchesExecuted} batches`,
    );
  }
}
