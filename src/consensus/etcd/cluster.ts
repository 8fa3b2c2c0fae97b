/**
 * Local etcd cluster launcher: starts N etcd members (Raft; Ongaro & Ousterhout, USENIX ATC 2014)
 * as child processes on 127.0.0.1, each with its own free client and peer port and its own data
 * directory, and waits until every member reports healthy. Used by `cart cluster --consensus etcd`,
 * `cart demo --consensus etcd` and the etcd tests.
 *
 * The cluster never touches etcd's default ports (2379/2380) or a system etcd service: ports are
 * picked by the OS (listen on port 0), data lives in a fresh temp folder unless `dataDir` is given
 * (then a second start on the same folder restarts the same cluster on the same ports).
 * Every wait is bounded; on failure, on `close()` and on process exit, all members are killed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EtcdNotInstalledError, EtcdStartError } from './errors.ts';

/** Options of {@link startEtcdCluster}. */
export interface EtcdClusterOptions {
  /** Number of members (Raft tolerates the crash of a minority). Default 3. */
  readonly members?: number;
  /**
   * Parent folder for the members' data dirs (`member-<i>` inside). Default: a fresh temp folder,
   * removed by `close()`. A given folder is kept, and the ports are recorded in it
   * (`etcd-cluster.json`): starting again on the same folder restarts the same cluster, with its
   * data, on the same ports.
   */
  readonly dataDir?: string;
  /** Path or name of the etcd binary. Default: `$ETCD_BIN` or `etcd` from `PATH`. */
  readonly binary?: string;
  /** Bound on waiting for all members to become healthy, in ms. Default 30 000. */
  readonly startTimeoutMs?: number;
  /** Raft heartbeat interval in ms (etcd `--heartbeat-interval`). Default 100. */
  readonly heartbeatMs?: number;
  /** Raft election timeout in ms (etcd `--election-timeout`). Default 1000. */
  readonly electionTimeoutMs?: number;
  /** Further etcd flags for every member, e.g. `['--auth-token-ttl=60']`. */
  readonly extraArgs?: readonly string[];
}

/** A running local etcd cluster, see {@link startEtcdCluster}. */
export interface EtcdCluster {
  /** Client URLs, one per member, e.g. `http://127.0.0.1:41234` (index = member index). */
  readonly endpoints: readonly string[];
  /** Whether member `i` is currently running. */
  isRunning(i: number): boolean;
  /**
   * Stop member `i` (default SIGKILL: a crash) and wait for its exit (bounded).
   * @throws {RangeError} for an unknown member index
   */
  stopMember(i: number, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Restart a stopped member `i` on the same ports and data dir; resolves when it is healthy.
   * @throws {EtcdStartError} if it does not become healthy within `startTimeoutMs`
   */
  restartMember(i: number): Promise<void>;
  /** Kill every member and remove the temp data folder. Idempotent. */
  close(): Promise<void>;
}

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dir: string;
  proc: ChildProcess | undefined;
  exited: Promise<void>;
  /** Last lines of the member's stderr, for error messages. */
  readonly logTail: string[];
}

const LOG_TAIL_LINES = 30;
const PORT_ATTEMPTS = 3;

/**
 * Start an etcd cluster of `members` members on 127.0.0.1 and wait until all are healthy
 * (`GET /health` → `{"health":"true"}`), retrying with new ports if a port was taken meanwhile.
 * @throws {EtcdNotInstalledError} if the etcd binary is missing ("install Debian's etcd-server")
 * @throws {EtcdStartError} if the cluster does not become healthy within `startTimeoutMs`
 */
export async function startEtcdCluster(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const binary = options.binary ?? process.env['ETCD_BIN'] ?? 'etcd';
  assertEtcdInstalled(binary);
  const n = options.members ?? 3;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`members must be a positive integer, got ${n}`);
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const root = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'cart-etcd-')));
    const saved = options.dataDir === undefined ? undefined : await readLayout(root, n);
    const layout = saved ?? { token: `cart-${randomBytes(6).toString('hex')}`, ports: await freePorts(2 * n) };
    const cluster = new LocalEtcdCluster(binary, root, options.dataDir === undefined, layout, options);
    try {
      await cluster.start(n);
      if (options.dataDir !== undefined && saved === undefined) {
        await writeFile(join(root, LAYOUT_FILE), JSON.stringify(layout));
      }
      return cluster;
    } catch (e) {
      lastError = e;
      await cluster.close();
      // New ports help only for a new cluster; a recorded cluster must keep its ports.
      if (saved === undefined && e instanceof EtcdStartError && /address already in use/.test(e.message)) continue;
      throw e;
    }
  }
  throw lastError;
}

const LAYOUT_FILE = 'etcd-cluster.json';

/** Ports (client, peer per member) and cluster token of a cluster started on a given dataDir. */
interface Layout {
  readonly token: string;
  readonly ports: readonly number[];
}

/**
 * Read the layout recorded in `root`, if any.
 * @throws {EtcdStartError} if it is malformed or records another number of members
 */
async function readLayout(root: string, members: number): Promise<Layout | undefined> {
  let text: string;
  try {
    text = await readFile(join(root, LAYOUT_FILE), 'utf8');
  } catch {
    return undefined;
  }
  let l: Partial<Layout>;
  try {
    l = JSON.parse(text) as Partial<Layout>;
  } catch {
    l = {};
  }
  const ok =
    l !== null &&
    typeof l.token === 'string' &&
    Array.isArray(l.ports) &&
    l.ports.every((p) => Number.isInteger(p) && p > 0 && p < 65536);
  if (!ok) throw new EtcdStartError(`malformed ${join(root, LAYOUT_FILE)}`);
  if (l.ports!.length !== 2 * members) {
    throw new EtcdStartError(`${root} holds a ${l.ports!.length / 2}-member etcd cluster, not ${members}`);
  }
  return { token: l.token!, ports: l.ports! };
}

/**
 * Check that the etcd binary runs (`etcd --version`).
 * @throws {EtcdNotInstalledError} otherwise
 */
export function assertEtcdInstalled(binary = process.env['ETCD_BIN'] ?? 'etcd'): void {
  const r = spawnSync(binary, ['--version'], { stdio: 'ignore', timeout: 10_000 });
  if (r.error !== undefined || r.status !== 0) throw new EtcdNotInstalledError(binary);
}

/** Reserve `count` distinct free TCP ports on 127.0.0.1 (all held open at once, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => {
      const addr = s.address();
      if (addr === null || typeof addr === 'string') throw new Error('unexpected server address');
      return addr.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

class LocalEtcdCluster implements EtcdCluster {
  private members: Member[] = [];
  private closed = false;
  private readonly onExit = (): void => {
    for (const m of this.members) m.proc?.kill('SIGKILL');
  };

  constructor(
    private readonly binary: string,
    private readonly root: string,
    private readonly removeRoot: boolean,
    private readonly layout: Layout,
    private readonly options: EtcdClusterOptions,
  ) {}

  get endpoints(): readonly string[] {
    return this.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
  }

  async start(n: number): Promise<void> {
    const ports = this.layout.ports;
    this.members = Array.from({ length: n }, (_, i) => ({
      name: `m${i}`,
      clientPort: ports[2 * i]!,
      peerPort: ports[2 * i + 1]!,
      dir: join(this.root, `member-${i}`),
      proc: undefined,
      exited: Promise.resolve(),
      logTail: [],
    }));
    process.on('exit', this.onExit);
    for (const m of this.members) {
      await mkdir(m.dir, { recursive: true });
      this.spawnMember(m);
    }
    await Promise.all(this.members.map((m) => this.waitHealthy(m)));
  }

  isRunning(i: number): boolean {
    return this.member(i).proc !== undefined;
  }

  async stopMember(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const m = this.member(i);
    const proc = m.proc;
    if (proc === undefined) return;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    try {
      await m.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async restartMember(i: number): Promise<void> {
    const m = this.member(i);
    if (this.closed) throw new EtcdStartError('cluster is closed');
    if (m.proc !== undefined) return;
    this.spawnMember(m);
    await this.waitHealthy(m);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.members.map((_, i) => this.stopMember(i)));
    process.off('exit', this.onExit);
    if (this.removeRoot) await rm(this.root, { recursive: true, force: true });
  }

  private member(i: number): Member {
    const m = this.members[i];
    if (m === undefined) throw new RangeError(`no etcd member ${i} (cluster has ${this.members.length})`);
    return m;
  }

  private spawnMember(m: Member): void {
    const peer = (x: Member): string => `http://127.0.0.1:${x.peerPort}`;
    const client = `http://127.0.0.1:${m.clientPort}`;
    const args = [
      `--name=${m.name}`,
      `--data-dir=${m.dir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer(m)}`,
      `--initial-advertise-peer-urls=${peer(m)}`,
      `--initial-cluster=${this.members.map((x) => `${x.name}=${peer(x)}`).join(',')}`,
      `--initial-cluster-state=new`,
      `--initial-cluster-token=${this.layout.token}`,
      `--heartbeat-interval=${this.options.heartbeatMs ?? 100}`,
      `--election-timeout=${this.options.electionTimeoutMs ?? 1000}`,
      '--logger=zap',
      '--log-outputs=stderr',
      '--log-level=warn',
      ...(this.options.extraArgs ?? []),
    ];
    // Ignore ETCD_* variables of the environment (they would override our flags' meaning).
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD_')) env[k] = v;
    const proc = spawn(this.binary, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    m.proc = proc;
    m.logTail.length = 0;
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (line.trim() === '') continue;
        m.logTail.push(line);
        if (m.logTail.length > LOG_TAIL_LINES) m.logTail.shift();
      }
    });
    m.exited = new Promise<void>((resolve) => {
      proc.once('exit', () => {
        if (m.proc === proc) m.proc = undefined;
        resolve();
      });
      proc.once('error', (err) => {
        m.logTail.push(String(err));
        if (m.proc === proc) m.proc = undefined;
        resolve();
      });
    });
  }

  /** Poll `GET /health` of member `m` until healthy; bounded by `startTimeoutMs`. */
  private async waitHealthy(m: Member): Promise<void> {
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 30_000);
    const url = `http://127.0.0.1:${m.clientPort}/health`;
    while (Date.now() < deadline) {
      if (m.proc === undefined) {
        throw new EtcdStartError(`etcd member ${m.name} exited during start-up:\n${m.logTail.join('\n')}`);
      }
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
        const body = (await res.json()) as { health?: unknown };
        if (res.ok && body.health === 'true') return;
      } catch {
        // not listening yet, or no leader yet: retry
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new EtcdStartError(
      `etcd member ${m.name} not healthy after ${this.options.startTimeoutMs ?? 30_000} ms:\n${m.logTail.join('\n')}`,
    );
  }
}
