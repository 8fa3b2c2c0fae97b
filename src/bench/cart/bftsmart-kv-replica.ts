/**
 * Baseline replica process of `cart bench --consensus bftsmart` (mode `native`): one BFT-SMaRt
 * replica (the glue JVM behind {@link createBftSmartAdapter}) whose ordered batches are executed
 * DIRECTLY on the KV application ({@link DirectApplicationProxy}) — no CART handler, no threshold
 * signatures. BFT-SMaRt's own client (`ServiceProxy`, f+1 matching replies) talks to it.
 *
 * Usage (started by `bftsmart-native.ts`, one process per replica):
 *   node --import tsx src/bench/cart/bftsmart-kv-replica.ts --home DIR --replica-id I --work-dir DIR [--cache-dir DIR]
 *
 * stdout: one JSON object per line — `{"event":"ready"}` once BFT-SMaRt is ready, then
 * `{"event":"view-change","view":"<regency>"}`, `{"event":"leader","leader":L}`,
 * `{"event":"state-transfer","sequence":"S"}`, `{"event":"error","message":"..."}`; a failed start
 * prints `{"event":"failed","message":"..."}` and exits 1. The process stops its JVM and exits on
 * SIGTERM / SIGINT and when its stdin closes (the parent is gone), so it never outlives the bench.
 */
import { parseArgs } from 'node:util';
import { KvStore } from '../../apps/kv.ts';
import { createBftSmartAdapter } from '../../consensus/bftsmart/index.ts';
import { DirectApplicationProxy } from './direct-proxy.ts';

const say = (o: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(o) + '\n');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      home: { type: 'string' },
      'replica-id': { type: 'string' },
      'work-dir': { type: 'string' },
      'cache-dir': { type: 'string' },
    },
    strict: true,
  });
  const home = values.home;
  const workDir = values['work-dir'];
  const replicaId = Number(values['replica-id']);
  if (!home || !workDir || !Number.isInteger(replicaId) || replicaId < 0) {
    throw new Error('usage: bftsmart-kv-replica --home DIR --replica-id I --work-dir DIR [--cache-dir DIR]');
  }
  const adapter = createBftSmartAdapter({ home, replicaId, workDir, ...(values['cache-dir'] ? { cacheDir: values['cache-dir'] } : {}) });
  adapter.onEvent((e) => {
    if (e.kind === 'error') say({ event: 'error', message: e.error.message });
    else if (e.kind === 'view-change') say({ event: 'view-change', view: String(e.view) });
    else if (e.kind === 'state-transfer') say({ event: 'state-transfer', sequence: String(e.sequence) });
    else say({ event: 'leader', leader: e.leader });
  });
  let stopping = false;
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    // bounded: the JVM gets its supervisor's own grace period, then we exit regardless
    const t = setTimeout(() => process.exit(code), 10_000);
    adapter.stop().finally(() => {
      clearTimeout(t);
      process.exit(code);
    });
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  process.stdin.on('end', () => stop(0));
  process.stdin.on('error', () => stop(0));
  process.stdin.resume();
  try {
    await adapter.start(new DirectApplicationProxy(new KvStore()));
  } catch (e) {
    say({ event: 'failed', message: e instanceof Error ? e.message : String(e) });
    stop(1);
    return;
  }
  say({ event: 'ready' });
}

main().catch((e: unknown) => {
  say({ event: 'failed', message: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
