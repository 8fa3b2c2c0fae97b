/**
 * Run a CART cluster as local OS processes (one `cart replica` process per replica) from a
 * deployment folder written by {@link ./generate.ts generateDeployment}. Used by `cart cluster`,
 * `cart demo`, `cart bench` and the end-to-end tests.
 *
 * Each child prints one JSON object per line on stdout (`{"event":"ready",...}`,
 * `{"event":"leader","leader":i}`, ...); its structured log (stderr) goes to
 * `<dir>/logs/replica-<i>.log`. Every wait is bounded; `close()` kills every child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Deployment } from './generate.ts';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../cli/main.ts');
/** tsx's loader as an absolute URL: `--import tsx` would resolve from the cwd (fails outside the repo). */
const TSX = import.meta.resolve('tsx');

/** Byzantine behaviour flags passed to one replica process. */
export type ByzantineFlag = 'wrong-results' | 'bad-shares' | 'forge-index' | `bad-share-fraction=${number}`;

/** Options of {@link startLocalCluster}. */
export interface LocalClusterOptions {
  readonly deployment: Deployment;
  /** Replica index → Byzantine behaviours (demo and tests). */
  readonly byzantine?: ReadonlyMap<number, readonly ByzantineFlag[]>;
  /** Bound on each replica's start, ms (default 60 000; BFT-SMaRt JVMs need longer). */
  readonly readyTimeoutMs?: number;
  /** pino level of the replicas' logs (default `info`). */
  readonly logLevel?: string;
  /** Called for each JSON event line a replica prints. */
  readonly onEvent?: (index: number, event: Record<string, unknown>) => void;
  /** Called when a ready replica exits without having been killed through this cluster. */
  readonly onUnexpectedExit?: (index: number, code: number | null, signal: NodeJS.Signals | null, logFile: string) => void;
}

/** One replica process. */
export interface LocalReplicaProcess {
  readonly index: number;
  readonly logFile: string;
  /** PID of the running child, undefined while stopped. */
  pid(): number | undefined;
  running(): boolean;
}

/** A running local cluster. */
export interface LocalCluster {
  readonly deployment: Deployment;
  readonly replicas: readonly LocalReplicaProcess[];
  /** Leader index 1..n as last reported by the replicas (the highest view seen), if known. */
  leader(): number | undefined;
  /** Send `signal` (default SIGKILL) to replica `index` and wait (bounded) for it to exit. */
  kill(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** Send SIGSTOP / SIGCONT (pause / resume) to replica `index`. */
  pause(index: number): void;
  resume(index: number): void;
  /** Start a stopped replica again with the same files; resolves when it is ready. */
  restart(index: number): Promise<void>;
  /** Kill all replicas (SIGTERM, then SIGKILL after a grace period). Idempotent. */
  close(): Promise<void>;
}

/** A replica process did not become ready or died while starting. */
export class LocalClusterError extends Error {
  override readonly name = 'LocalClusterError';
}

interface Proc extends LocalReplicaProcess {
  child: ChildProcess | undefined;
  exited: Promise<void>;
  /** Set while we kill it ourselves, so its exit is not reported as unexpected. */
  expectExit: boolean;
}

/**
 * Start every replica of `options.deployment` as a child process; resolves once all are ready.
 * @throws {LocalClusterError} if a replica exits or is not ready within the timeout (all
 *   children are killed first); the message points at the replica's log file
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const { deployment } = options;
  const releaseLock = lockDeployment(deployment.dir);
  const logDir = join(deployment.dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const readyTimeout = options.readyTimeoutMs ?? 60_000;
  let bestView = -1n;
  let leader: number | undefined;
  let closing = false;
  const procs: Proc[] = deployment.replicaFiles.map((_, i): Proc => ({
    index: i + 1,
    logFile: join(logDir, `replica-${i + 1}.log`),
    child: undefined,
    exited: Promise.resolve(),
    expectExit: false,
    pid() {
      return this.child?.exitCode === null ? this.child.pid : undefined;
    },
    running() {
      return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
    },
  }));

  const spawnOne = (p: Proc): Promise<void> => {
    // CART_REPLICA_NODE_ARGS: extra Node flags for replica processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
    const extra = (process.env['CART_REPLICA_NODE_ARGS'] ?? '').split(/\s+/).filter((x) => x !== '');
    const args = [...extra, '--import', TSX, MAIN, 'replica', '--config', deployment.replicaFiles[p.index - 1]!, '--events', '--exit-with-stdin', '--log-level', options.logLevel ?? 'info'];
    for (const flag of options.byzantine?.get(p.index) ?? []) {
      const eq = flag.indexOf('=');
      if (eq < 0) args.push(`--byzantine-${flag}`);
      else args.push(`--byzantine-${flag.slice(0, eq)}`, flag.slice(eq + 1));
    }
    const log = createWriteStream(p.logFile, { flags: 'a' });
    // stdin: a pipe we never write to; it ends when this process dies (even by SIGKILL), and
    // `--exit-with-stdin` then stops the replica instead of leaving it orphaned on its ports
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    p.child = child;
    child.stderr!.pipe(log);
    p.exited = new Promise<void>((res) => child.once('exit', () => res()));
    return new Promise<void>((res, rej) => {
      let ready = false;
      const timer = setTimeout(() => {
        if (!ready) rej(new LocalClusterError(`replica ${p.index} not ready within ${readyTimeout} ms (log: ${p.logFile})`));
      }, readyTimeout);
      p.expectExit = false;
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!ready) rej(new LocalClusterError(`replica ${p.index} exited during start (code ${code}, signal ${signal}); log: ${p.logFile}`));
        else if (!p.expectExit && !closing) options.onUnexpectedExit?.(p.index, code, signal, p.logFile);
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let ev: Record<string, unknown>;
        try {
          ev = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        if (ev['event'] === 'ready' && !ready) {
          ready = true;
          clearTimeout(timer);
          res();
        }
        if (ev['event'] === 'view-change' && typeof ev['view'] === 'string') {
          const v = BigInt(ev['view']);
          if (v > bestView) bestView = v;
        }
        if (ev['event'] === 'leader' && typeof ev['leader'] === 'number' && typeof ev['view'] === 'string' && BigInt(ev['view']) >= bestView) {
          bestView = BigInt(ev['view']);
          leader = ev['leader'];
        }
        options.onEvent?.(p.index, ev);
      });
    });
  };

  const killOne = async (p: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const c = p.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    if (signal !== 'SIGSTOP' && signal !== 'SIGCONT') p.expectExit = true;
    c.kill(signal);
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') return;
    const grace = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5_000).unref());
    if ((await Promise.race([p.exited.then(() => 'exited' as const), grace])) === 'timeout') {
      c.kill('SIGKILL');
      await p.exited;
    }
  };

  const cluster: LocalCluster = {
    deployment,
    replicas: procs,
    leader: () => leader ?? (deployment.cluster.consensus.protocol === 'pbft' ? 1 : undefined),
    kill: (index, signal = 'SIGKILL') => killOne(procOf(index), signal),
    pause: (index) => procOf(index).child?.kill('SIGSTOP'),
    resume: (index) => procOf(index).child?.kill('SIGCONT'),
    restart: async (index) => {
      const p = procOf(index);
      if (p.running()) throw new LocalClusterError(`replica ${index} is still running`);
      await spawnOne(p);
    },
    close: async () => {
      if (closing) return;
      closing = true;
      for (const p of procs) if (p.child?.signalCode === 'SIGSTOP') p.child.kill('SIGCONT');
      await Promise.all(procs.map((p) => killOne(p, 'SIGTERM')));
      releaseLock();
    },
  };
  function procOf(index: number): Proc {
    const p = procs[index - 1];
    if (!p) throw new RangeError(`no replica ${index}`);
    return p;
  }
  const onExit = (): void => {
    for (const p of procs) p.child?.kill('SIGKILL');
    releaseLock();
  };
  process.once('exit', onExit);
  try {
    await Promise.all(procs.map(spawnOne));
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return cluster;
}

/**
 * Take `<dir>/cluster.lock` for this process: one launcher per deployment folder (a second one
 * would fight the first for the ports and append to its replica logs). A lock left by a process
 * that is gone (e.g. killed with SIGKILL) is taken over.
 * @returns a function releasing the lock (idempotent)
 * @throws {LocalClusterError} if a live process holds the lock
 */
export function lockDeployment(dir: string): () => void {
  const file = join(dir, 'cluster.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw new LocalClusterError(`cannot lock ${dir}: ${(e as Error).message}`);
      const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new LocalClusterError(`deployment ${dir} is already running (launcher pid ${holder}); stop it first`);
      }
      rmSync(file, { force: true }); // stale: its launcher is gone
    }
  }
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    rmSync(file, { force: true });
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
