/**
 * Launch a local PBFT cluster as separate OS processes (`main.ts`), for the real-process tests
 * and the benchmark. Every process listens on port 0 and announces its ports; the launcher
 * then tells every process the others' peer ports (no guessed free ports, no races). Every
 * wait is bounded; `close()` kills every child (SIGTERM, then SIGKILL) and removes the temp dir.
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

/** One launched replica process. */
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

/** A replica's periodic status line (see `main.ts --status-ms`). */
export interface ReplicaStatus {
  view: string;
  lastExecuted: string;
  requestsExecuted: number;
  pbftDropped: Record<string, number>;
  netDropped: Record<string, number>;
  node: { clientConnections: number; clientFrames: number; repliesSent: number; repliesUnroutable: number; coreErrors: number };
}

/** A running local cluster. */
export interface LocalCluster {
  config: PbftClusterConfig;
  /** Private keys of the generated clients, by id. */
  clientKeys: Record<string, string>;
  replicas: LaunchedReplica[];
  /** Replica endpoints for {@link PbftTcpClient}. */
  endpoints(): { id: number; host: string; clientPort: number }[];
  /** `kill -9` replica `id`. Resolves when the process has exited. */
  kill(id: number): Promise<void>;
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

/**
 * Start 3f+1 replica processes on 127.0.0.1 and wait until all are ready.
 * @throws {Error} if a process exits early or start-up exceeds `timeoutMs` (all children are
 *   killed before the error is thrown)
 */
export async function launchLocalCluster(options: LaunchOptions = {}): Promise<LocalCluster> {
  const f = options.f ?? 1;
  const gen = await generateLocalCluster({ f, ports: 0, clients: options.clients ?? [], protocol: options.protocol ?? {} });
  const dir = mkdtempSync(join(tmpdir(), 'pbft-cluster-'));
  const configPath = join(dir, 'cluster.json');
  writeFileSync(configPath, JSON.stringify(gen.config, null, 2));
  const replicas: LaunchedReplica[] = [];
  let closed = false;

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const r of replicas) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
    for (const r of replicas) if (!(await waitExit(r.child, 3000))) r.child.kill('SIGKILL');
    for (const r of replicas) await waitExit(r.child, 3000);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const listening = gen.config.replicas.map((r, id) => {
      const keyPath = join(dir, `replica-${id}.key`);
      writeFileSync(keyPath, gen.replicaKeys[id]!, { mode: 0o600 });
      const child = spawn(
        process.execPath,
        [...(options.nodeArgs ?? []), '--import', 'tsx', MAIN, '--config', configPath, '--id', String(id), '--key', keyPath, '--announce', '--log-level', options.logLevel ?? 'warn', '--status-ms', String(options.statusMs ?? 0)],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      const rep: LaunchedReplica = { id, child, peerPort: 0, clientPort: 0, stderrTail: [], status: undefined };
      replicas.push(rep);
      createInterface({ input: child.stderr! }).on('line', (l) => {
        rep.stderrTail.push(l);
        if (rep.stderrTail.length > 20) rep.stderrTail.shift();
      });
      const events = createInterface({ input: child.stdout! });
      const ready = new Promise<void>((resolve, reject) => {
        child.once('exit', (code, sig) => reject(new Error(`replica ${id} exited during start-up (${code ?? sig}): ${rep.stderrTail.join('\n')}`)));
        events.on('line', (l) => {
          try {
            const m = JSON.parse(l) as { event: string };
            if (m.event === 'ready') resolve();
            if (m.event === 'status') rep.status = m as unknown as ReplicaStatus;
          } catch {
            /* not an event line */
          }
        });
      });
      ready.catch(() => {});
      const listen = new Promise<void>((resolve, reject) => {
        child.once('exit', () => reject(new Error(`replica ${id} exited: ${rep.stderrTail.join('\n')}`)));
        events.on('line', (l) => {
          try {
            const m = JSON.parse(l) as { event: string; peerPort: number; clientPort: number };
            if (m.event === 'listening') {
              rep.peerPort = m.peerPort;
              rep.clientPort = m.clientPort;
              resolve();
            }
          } catch {
            /* ignore */
          }
        });
      });
      return { listen, ready };
    });
    const bounded = <T>(p: Promise<T>, what: string): Promise<T> =>
      Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`cluster start-up: ${what} timed out after ${timeoutMs} ms`)), timeoutMs).unref())]);
    await bounded(Promise.all(listening.map((x) => x.listen)), 'listening');
    const line = JSON.stringify({ peers: replicas.map((r) => ({ id: r.id, host: '127.0.0.1', port: r.peerPort })) }) + '\n';
    for (const r of replicas) r.child.stdin!.write(line);
    await bounded(Promise.all(listening.map((x) => x.ready)), 'ready');
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
    close,
  };
}
