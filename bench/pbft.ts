/**
 * `npm run bench:pbft` — the built-in PBFT without CART (the "native" baseline).
 *
 * 4 replica processes (f = 1) on 127.0.0.1 (`src/consensus/pbft/main.ts`, counter app), driven
 * by closed-loop native clients (`PbftTcpClient`) in this process with 1, 10 and 50 requests
 * outstanding, for request/reply sizes 0/0 and 1 KiB/1 KiB. Per run: warm-up, then throughput
 * (ops/s) and latency p50/p99 (hdr-histogram, µs resolution). Replica and client Ed25519
 * signatures are on (real authentication). Total run time ≈ 6 × (warm-up + duration) + start-up.
 *
 * Options: `--duration <s>` (default 7), `--warmup <s>` (default 1), `--json` (last line is a
 * JSON array of results).
 */
import { Command } from 'commander';
import * as hdr from 'hdr-histogram-js';
import { launchLocalCluster } from '../src/consensus/pbft/launcher.ts';
import { createPbftTcpClient } from '../src/consensus/pbft/tcp-client.ts';
import { counterRequest } from '../src/consensus/pbft/main.ts';

interface Result {
  outstanding: number;
  requestBytes: number;
  replyBytes: number;
  operations: number;
  throughputOpsPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

const opts = new Command()
  .name('bench:pbft')
  .description('Closed-loop benchmark of the built-in PBFT with its native client (4 replica processes on loopback)')
  .option('--duration <s>', 'measured seconds per configuration', (v) => Number(v), 7)
  .option('--warmup <s>', 'warm-up seconds per configuration', (v) => Number(v), 1)
  .option('--json', 'print the results as one JSON line at the end')
  .parse(process.argv)
  .opts<{ duration: number; warmup: number; json?: boolean }>();

const configs = [
  { outstanding: 1, requestBytes: 0, replyBytes: 0 },
  { outstanding: 10, requestBytes: 0, replyBytes: 0 },
  { outstanding: 50, requestBytes: 0, replyBytes: 0 },
  { outstanding: 1, requestBytes: 1024, replyBytes: 1024 },
  { outstanding: 10, requestBytes: 1024, replyBytes: 1024 },
  { outstanding: 50, requestBytes: 1024, replyBytes: 1024 },
];

const clientIds = configs.map((_, i) => `bench-${i}`);
const cluster = await launchLocalCluster({ f: 1, clients: clientIds, protocol: { batchMaxSize: 64, batchMaxDelayMs: 1 } });
const results: Result[] = [];
try {
  for (const [i, c] of configs.entries()) {
    const client = createPbftTcpClient({
      cluster: cluster.config,
      clientId: clientIds[i]!,
      privateKey: cluster.clientKeys[clientIds[i]!]!,
      endpoints: cluster.endpoints(),
      retransmitTimeoutMs: 1000,
      maxOutstanding: c.outstanding,
    });
    try {
      await client.waitConnected(4, 10_000);
      // 0-byte requests get 0-byte replies from the counter app; 1 KiB requests ask for 1 KiB.
      const payload = c.requestBytes === 0 ? new Uint8Array(0) : counterRequest(c.replyBytes, c.requestBytes);
      const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
      const start = performance.now();
      const measureFrom = start + opts.warmup * 1000;
      const end = measureFrom + opts.duration * 1000;
      let ops = 0;
      const loop = async (): Promise<void> => {
        while (performance.now() < end) {
          const t0 = performance.now();
          const r = await client.invoke(payload);
          const t1 = performance.now();
          if (r.length !== c.replyBytes) throw new Error(`reply of ${r.length} bytes, expected ${c.replyBytes}`);
          if (t0 >= measureFrom && t1 <= end) {
            hist.recordValue(Math.max(1, Math.round((t1 - t0) * 1000)));
            ops++;
          }
        }
      };
      await Promise.all([...Array(c.outstanding)].map(() => loop()));
      const r: Result = {
        ...c,
        operations: ops,
        throughputOpsPerSec: Math.round(ops / opts.duration),
        latencyP50Ms: hist.getValueAtPercentile(50) / 1000,
        latencyP99Ms: hist.getValueAtPercentile(99) / 1000,
      };
      results.push(r);
      console.log(
        `outstanding=${String(c.outstanding).padStart(2)}  req/reply=${c.requestBytes}/${c.replyBytes} B  ` +
          `${String(r.throughputOpsPerSec).padStart(6)} ops/s  p50=${r.latencyP50Ms.toFixed(2)} ms  p99=${r.latencyP99Ms.toFixed(2)} ms`,
      );
    } finally {
      client.close();
    }
  }
} finally {
  await cluster.close();
}
if (opts.json) console.log(JSON.stringify(results));
