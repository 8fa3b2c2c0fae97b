/**
 * The `native` baseline of `cart bench --consensus bftsmart`: BFT-SMaRt with its OWN client and
 * no CART, running the same KV application as the CART modes.
 *
 * - Replicas: n = 3f+1 processes of `bftsmart-kv-replica.ts`, each a BFT-SMaRt replica (glue JVM
 *   behind the BFT-SMaRt adapter) whose ordered batches are executed directly on a `KvStore`
 *   ({@link DirectApplicationProxy}): what a plain BFT-SMaRt service does.
 * - Client: BFT-SMaRt's `ServiceProxy` (`startBftSmartNativeClient`), which sends each request to
 *   all replicas and accepts the result once f+1 replicas sent identical bytes (Bessani, Sousa,
 *   Alchieri, DSN 2014, §3). One glue JVM runs one `ServiceProxy` per benchmark client (each its
 *   own BFT-SMaRt client id); with one operation outstanding per benchmark client, every
 *   invocation has a proxy of its own, as YCSB threads would.
 *
 * Every process is stopped by `close()` (idempotent): the client JVM, then each replica process
 * (SIGTERM, SIGKILL after a grace period; the replica processes also exit when their stdin closes,
 * so they never outlive the benchmark).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { decodeKvResult, encodeKvOperation } from '../../apps/kv-codec.ts';
import { allocateBftSmartAddresses, startBftSmartNativeClient, writeBftSmartConfig, type BftSmartNativeClient } from '../../consensus/bftsmart/index.ts';
import { checkedKvResult, NO_REPLICA_COUNTERS, ZERO_CLIENT_STATS, type BenchTarget, type TargetOptions } from './targets.ts';

const ENTRY = join(dirname(fileURLToPath(import.meta.url)), 'bftsmart-kv-replica.ts');

/** A baseline replica process failed to start (its log file and last stderr/stdout lines attached). */
export class BftSmartBaselineStartError extends Error {
  override readonly name = 'BftSmartBaselineStartError';
}

interface ReplicaProc {
  readonly id: number;
  readonly child: ChildProcess;
  readonly log: WriteStream;
  readonly logFile: string;
  viewChanges: number;
  readonly ready: Promise<void>;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const t = setTimeout(() => res(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      res(true);
    });
  });
}

async function stopProc(p: ReplicaProc): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) {
    p.child.kill('SIGTERM');
    if (!(await waitExit(p.child, 15_000))) {
      p.child.kill('SIGKILL');
      await waitExit(p.child, 5_000);
    }
  }
  await new Promise<void>((res) => p.log.end(() => res()));
}

function spawnReplica(home: string, id: number, workDir: string, logFile: string, readyTimeoutMs: number): ReplicaProc {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), ENTRY, '--home', home, '--replica-id', String(id), '--work-dir', workDir], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile);
  child.stderr!.pipe(log, { end: false });
  const tail: string[] = [];
  const proc: ReplicaProc = {
    id,
    child,
    log,
    logFile,
    viewChanges: 0,
    ready: new Promise<void>((res, rej) => {
      const fail = (why: string): void => rej(new BftSmartBaselineStartError(`BFT-SMaRt baseline replica ${id} ${why} (log ${logFile}):\n${tail.join('\n')}`));
      const timer = setTimeout(() => fail(`not ready within ${readyTimeoutMs} ms`), readyTimeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        fail(`exited (${signal ?? `code ${code}`}) before it was ready`);
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        fail(`could not be started: ${e.message}`);
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        log.write(line + '\n');
        tail.push(line);
        if (tail.length > 20) tail.shift();
        let ev: Record<string, unknown>;
        try {
          ev = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        if (ev['event'] === 'ready') {
          clearTimeout(timer);
          res();
        } else if (ev['event'] === 'failed') {
          clearTimeout(timer);
          fail(`failed: ${String(ev['message'])}`);
        } else if (ev['event'] === 'view-change') {
          proc.viewChanges++;
        }
      });
    }),
  };
  proc.ready.catch(() => {});
  return proc;
}

/**
 * Start the BFT-SMaRt baseline (`o.bftsmartHome` required): n plain KV replicas and one native
 * client JVM with `o.maxClients` (default 64) `ServiceProxy` instances.
 * @throws {RangeError} without `bftsmartHome`; {@link BftSmartBaselineStartError}, the BFT-SMaRt
 *   config/compile/process errors (everything started is stopped first)
 */
export async function startBftSmartNativeTarget(o: TargetOptions): Promise<BenchTarget> {
  const home = o.bftsmartHome;
  if (!home) throw new RangeError('the BFT-SMaRt baseline needs bftsmartHome (--bftsmart-home DIR)');
  const n = 3 * o.f + 1;
  const threads = o.maxClients ?? 64;
  const ownDir = o.dir === undefined;
  const root = o.dir ? resolve(o.dir) : await mkdtemp(join(tmpdir(), 'cart-bench-bftsmart-'));
  await mkdir(root, { recursive: true });
  const procs: ReplicaProc[] = [];
  let native: BftSmartNativeClient | undefined;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await native?.stop().catch(() => {});
    await Promise.all(procs.map(stopProc));
    if (ownDir) await rm(root, { recursive: true, force: true }).catch(() => {});
  };
  try {
    const addresses = await allocateBftSmartAddresses(n);
    const workDir = (name: string): string => {
      const d = join(root, name);
      writeBftSmartConfig({ home, workDir: d, replicas: addresses, f: o.f });
      return d;
    };
    o.progress(`starting ${n} BFT-SMaRt replicas with the KV application directly (no CART) ...`);
    for (let id = 0; id < n; id++) procs.push(spawnReplica(home, id, workDir(`replica-${id}`), join(root, `replica-${id}.log`), 180_000));
    await Promise.all(procs.map((p) => p.ready));
    o.progress(`starting BFT-SMaRt's native client (${threads} ServiceProxy instances, f+1 reply voting) ...`);
    native = await startBftSmartNativeClient({ home, workDir: workDir('client'), threads, readyTimeoutMs: 120_000 });
  } catch (e) {
    await close();
    throw e;
  }
  const client = native;
  let connected = 0;
  let verified = 0;
  return {
    async ensureClients(count) {
      if (count > threads) throw new RangeError(`at most ${threads} BFT-SMaRt native clients`);
      connected = Math.max(connected, count);
    },
    async execute(operation, c) {
      if (c < 0 || c >= connected) throw new RangeError(`no client ${c}`);
      const r = checkedKvResult(decodeKvResult(await client.invoke(encodeKvOperation(operation))));
      verified++;
      return r;
    },
    clientStats: () => ({ ...ZERO_CLIENT_STATS, verified }),
    replicaCounters: async () => NO_REPLICA_COUNTERS,
    viewChanges: () => Math.max(0, ...procs.map((p) => p.viewChanges)),
    close,
  };
}
