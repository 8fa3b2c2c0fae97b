/**
 * Launch a local PBFT cluster as separate OS processes (`main.ts`), for the real-process tests
 * and the benchmark. Every process listens on port 0 and announces its ports; the launcher
 * then tells every process the others' peer ports (no guessed free ports, no races). A killed
 * replica can be restarted on its previous ports. Every wait is bounded; `close()` kills every
 * child (SIGTERM, then SIGKILL) and removes the temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { PbftConfig } from './api.ts';
import { generateLocalCluster, type PbftClusterConfig } from './config.ts';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');

/** A replica's periodic status line (see `main.ts --status-ms`). */
export interface ReplicaStatus {
  view: string;
  lastExecuted: string;
  requestsExecuted: number;
  batchesExecuted: number;
  viewChanges: number;
  stateTransfers: number;
  pbftDropped: Record<string, number>;
  netDropped: Record<string, number>;
  node: { clientConnections: number; clientFrames: number; repliesSent: number; repliesUnroutable: number; coreErrors: number };
}

/** One launched replica process (replaced on restart). */
export interface LaunchedReplica {
  id: number;
  child: ChildProcess;
  peerPort: number;
  clientPort: number;
  /** Last lines of its stderr (for failure messages). */
  stderrTail: string[];
  /** Latest `status` line (only with {@link LaunchOptions.statusMs}). */
  status: ReplicaStatus | undefined;
}

/** A running local cluster. */
export interface LocalCluster {
  config: PbftClusterConfig;
  /** Private keys of the generated clients, by id. */
  clientKeys: Record<string, string>;
  /** Current process of each replica, by id. */
  replicas: LaunchedReplica[];
  /** Replica endpoints for {@link PbftTcpClient}. */
  endpoints(): { id: number; host: string; clientPort: number }[];
  /** `kill -9` replica `id`. Resolves when the process has exited. */
  kill(id: number): Promise<void>;
  /** Start a killed replica again on its previous ports, with empty state; resolves when ready. */
  restart(id: number): Promise<void>;
  /** Kill everything and remove the temp dir. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link launchLocalCluster}. */
export interface LaunchOptions {
  f?: number;
  clients?: string[];
  protocol?: Partial<PbftConfig>;
  /** Bound on start-up (ms, default 30 000). */
  timeoutMs?: number;
  logLevel?: string;
  /** Ask replicas for a status line every this many ms (default 0 = off). */
  statusMs?: number;
  /** Extra Node.js flags for the replica processes (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Application every replica runs (`main.ts --app`): `counter` (default) or `kv`. */
  app?: string;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    t = setTimeout(() => rej(new Error(`pbft cluster: ${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/**
 * Start 3f+1 replica processes on 127.0.0.1 and wait until all are ready.
 * @throws {Error} if a process exits early or start-up exceeds `timeoutMs` (all children are
 *   killed before the error is thrown)
 */
export async function launchLocalCluster(options: LaunchOptions = {}): Promise<LocalCluster> {
  const f = options.f ?? 1;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const gen = await generateLocalCluster({ f, ports: 0, clients: options.clients ?? [], protocol: options.protocol ?? {} });
  const dir = mkdtempSync(join(tmpdir(), 'pbft-cluster-'));
  const configPath = join(dir, 'cluster.json');
  writeFileSync(configPath, JSON.stringify(gen.config, null, 2));
  const replicas: LaunchedReplica[] = [];
  const all: ChildProcess[] = [];
  let closed = false;

  /** Spawn replica `id`; resolves `listen` when ports are known, `ready` when started. */
  const spawnReplica = (id: number, ports?: { peer: number; client: number }): { rep: LaunchedReplica; listen: Promise<void>; ready: Promise<void> } => {
    const keyPath = join(dir, `replica-${id}.key`);
    writeFileSync(keyPath, gen.replicaKeys[id]!, { mode: 0o600 });
    const args = [...(options.nodeArgs ?? []), '--import', import.meta.resolve('tsx'), MAIN, '--config', configPath, '--id', String(id), '--key', keyPath, '--announce'];
    args.push('--log-level', options.logLevel ?? 'warn', '--status-ms', String(options.statusMs ?? 0));
    if (options.app !== undefined) args.push('--app', options.app);
    if (ports) args.push('--peer-port', String(ports.peer), '--client-port', String(ports.client));
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    all.push(child);
    const rep: LaunchedReplica = { id, child, peerPort: 0, clientPort: 0, stderrTail: [], status: undefined };
    createInterface({ input: child.stderr! }).on('line', (l) => {
      rep.stderrTail.push(l);
      if (rep.stderrTail.length > 20) rep.stderrTail.shift();
    });
    let onListen: () => void = () => {};
    let onReady: () => void = () => {};
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, sig) => reject(new Error(`replica ${id} exited (${code ?? sig}): ${rep.stderrTail.join('\n')}`))),
    );
    exited.catch(() => {});
    const listen = Promise.race([new Promise<void>((r) => (onListen = r)), exited]);
    const ready = Promise.race([new Promise<void>((r) => (onReady = r)), exited]);
    listen.catch(() => {});
    ready.catch(() => {});
    createInterface({ input: child.stdout! }).on('line', (l) => {
      let m: { event?: string; peerPort?: number; clientPort?: number };
      try {
        m = JSON.parse(l) as typeof m;
      } catch {
        return;
      }
      if (m.event === 'listening') {
        rep.peerPort = m.peerPort ?? 0;
        rep.clientPort = m.clientPort ?? 0;
        onListen();
      } else if (m.event === 'ready') onReady();
      else if (m.event === 'status') rep.status = m as unknown as ReplicaStatus;
    });
    return { rep, listen, ready };
  };
  const peersLine = (): string => JSON.stringify({ peers: replicas.map((r) => ({ id: r.id, host: '127.0.0.1', port: r.peerPort })) }) + '\n';

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const c of all) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    for (const c of all) if (!(await waitExit(c, 3000))) c.kill('SIGKILL');
    for (const c of all) await waitExit(c, 3000);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const started = gen.config.replicas.map((r) => spawnReplica(r.id));
    replicas.push(...started.map((s) => s.rep));
    await bounded(Promise.all(started.map((s) => s.listen)), timeoutMs, 'listening');
    const line = peersLine();
    for (const r of replicas) r.child.stdin!.write(line);
    await bounded(Promise.all(started.map((s) => s.ready)), timeoutMs, 'ready');
  } catch (err) {
    await close();
    throw err;
  }

  return {
    config: gen.config,
    clientKeys: gen.clientKeys,
    replicas,
    endpoints: () => replicas.map((r) => ({ id: r.id, host: '127.0.0.1', clientPort: r.clientPort })),
    kill: async (id) => {
      const r = replicas[id]!;
      r.child.kill('SIGKILL');
      await waitExit(r.child, 5000);
    },
    restart: async (id) => {
      const old = replicas[id]!;
      if (old.child.exitCode === null && old.child.signalCode === null) throw new Error(`replica ${id} is still running`);
      const s = spawnReplica(id, { peer: old.peerPort, client: old.clientPort });
      replicas[id] = s.rep;
      await bounded(s.listen, timeoutMs, `restart ${id}: listening`);
      s.rep.child.stdin!.write(peersLine());
      await bounded(s.ready, timeoutMs, `restart ${id}: ready`);
    },
    close,
  };
}
