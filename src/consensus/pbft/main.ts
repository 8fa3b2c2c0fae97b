/**
 * Process entry of a standalone PBFT replica running a small benchmark application
 * ({@link CounterApp}, the default) or one of the built-in replicated applications
 * (`--app kv`: the YCSB key-value store of `src/apps/kv.ts`, wrapped by {@link PbftAppBridge}).
 * Used by the real-process tests, `npm run bench:pbft` and the native baseline of `cart bench`.
 *
 * ```
 * node --import tsx src/consensus/pbft/main.ts --config cluster.json --id 0 --key replica-0.key [--announce] [--app kv]
 * ```
 * stdout carries one JSON object per line (machine-readable; logs go to stderr via pino):
 * - `{"event":"listening","id":0,"peerPort":…,"clientPort":…}` once both ports are bound;
 * - with `--announce`, the process then reads ONE JSON line from stdin,
 *   `{"peers":[{"id":1,"host":"127.0.0.1","port":…},…]}`, with the peer ports of the others
 *   (so every process can listen on port 0 and tests never guess free ports);
 * - `{"event":"ready","id":0}` once the mesh is started;
 * - with `--status-ms N`, every N ms `{"event":"status",...}` (view, executed, drops by reason).
 * SIGTERM/SIGINT close the replica and exit 0; with `--announce` so does the end of stdin (the
 * launcher died), so no replica outlives its test.
 */
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { pino } from 'pino';
import { TcpPeerNetwork, importIdentityPrivateKey } from '../../net/index.ts';
import type { PbftApplication } from './api.ts';
import { createApplication, type Application } from '../../apps/index.ts';
import { Ed25519Authenticator } from './auth.ts';
import { PbftReplica } from './replica.ts';
import { PbftNode } from './node.ts';
import { clientKeyLookup, loadClusterConfig, loadPrivateKeyFile, peerAddresses, peerMaxMessageBytes, protocolConfig, replicaKeyObjects } from './config.ts';

/** Largest reply the {@link CounterApp} produces (bytes). */
export const COUNTER_APP_MAX_REPLY = 1 << 20;

/**
 * Deterministic benchmark application: a counter of executed requests. A request's first 4
 * bytes (u32 BE) give the reply size in bytes (capped at 1 MiB; requests shorter than 4 bytes
 * get an empty reply); the reply starts with the new counter value as u64 BE (truncated if the
 * reply is shorter than 8 bytes) followed by zeros. So over a run the non-empty results of
 * size ≥ 8 are exactly 1, 2, 3, … — a test can check that every request executed exactly once.
 */
export class CounterApp implements PbftApplication {
  private counter = 0n;

  /** Number of requests executed so far. */
  get count(): bigint {
    return this.counter;
  }

  executeBatch(_sequence: bigint, requests: readonly Uint8Array[]): Uint8Array[] {
    return requests.map((r) => {
      this.counter++;
      const size = r.length >= 4 ? Math.min(Buffer.from(r.buffer, r.byteOffset, r.length).readUInt32BE(0), COUNTER_APP_MAX_REPLY) : 0;
      const out = Buffer.alloc(size);
      if (size > 0) {
        const c = Buffer.alloc(8);
        c.writeBigUInt64BE(this.counter);
        c.copy(out, 0, 0, Math.min(8, size));
      }
      return out;
    });
  }

  snapshot(): Uint8Array {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(this.counter);
    return b;
  }

  /** @throws {Error} unless the snapshot is exactly 8 bytes */
  restore(snapshot: Uint8Array): void {
    if (snapshot.length !== 8) throw new Error(`counter snapshot must be 8 bytes, got ${snapshot.length}`);
    this.counter = Buffer.from(snapshot).readBigUInt64BE(0);
  }
}

/**
 * Runs a CART-style {@link Application} (e.g. the KV store) as a plain PBFT application: each
 * ordered request of a batch is passed to `execute` in order, one result per request. This is
 * how the native baseline of `cart bench` executes exactly the same state machine as CART,
 * without CART's signatures. Snapshots are the application's own.
 */
export class PbftAppBridge implements PbftApplication {
  constructor(readonly app: Application) {}

  executeBatch(_sequence: bigint, requests: readonly Uint8Array[]): Uint8Array[] {
    return requests.map((r) => this.app.execute(r));
  }

  snapshot(): Uint8Array {
    return this.app.snapshot();
  }

  /** @throws {Error} as the application's `restore` for malformed snapshots */
  restore(snapshot: Uint8Array): void {
    this.app.restore(snapshot);
  }
}

/** Applications a standalone PBFT replica can run (`--app`). */
export const PBFT_MAIN_APPS = ['counter', 'kv'] as const;

/**
 * The PBFT application for an `--app` name: `counter` ({@link CounterApp}) or any built-in
 * replicated application by name (`kv`), bridged by {@link PbftAppBridge}.
 * @throws {UnknownApplicationError} for an unknown name
 */
export function createPbftMainApp(name: string): PbftApplication {
  return name === 'counter' ? new CounterApp() : new PbftAppBridge(createApplication(name));
}

/** Encode a counter-app request asking for a `replyBytes`-byte reply, padded to `requestBytes`. */
export function counterRequest(replyBytes: number, requestBytes = 4): Uint8Array {
  const b = Buffer.alloc(Math.max(4, requestBytes));
  b.writeUInt32BE(replyBytes, 0);
  return b;
}

async function readLine(): Promise<string> {
  const rl = createInterface({ input: process.stdin });
  try {
    for await (const line of rl) if (line.trim()) return line;
  } finally {
    rl.close();
  }
  throw new Error('stdin closed before the peer address line');
}

function emit(obj: object): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** Run one replica process until SIGTERM/SIGINT. */
export async function runReplica(argv: string[]): Promise<void> {
  const opts = new Command()
    .name('pbft-replica')
    .description('Run one standalone PBFT replica (counter benchmark application, or --app kv)')
    .requiredOption('--config <file>', 'cluster config JSON (see src/consensus/pbft/config.ts)')
    .requiredOption('--id <n>', 'replica id', (v) => Number.parseInt(v, 10))
    .requiredOption('--key <file>', 'this replica\'s private key file (base64 PKCS#8 Ed25519)')
    .option('--announce', 'print bound ports, then read peer ports as one JSON line from stdin')
    .option('--peer-port <port>', 'override the configured peer port (0 = any free port)', (v) => Number.parseInt(v, 10))
    .option('--client-port <port>', 'override the configured client port (0 = any free port)', (v) => Number.parseInt(v, 10))
    .option('--app <name>', `application: ${PBFT_MAIN_APPS.join(' | ')}`, 'counter')
    .option('--log-level <level>', 'pino log level (stderr)', 'warn')
    .option('--status-ms <ms>', 'print a status JSON line (view, executed, drops) every <ms> ms; 0 = off', (v) => Number.parseInt(v, 10), 0)
    .parse(argv)
    .opts<{ config: string; id: number; key: string; announce?: boolean; peerPort?: number; clientPort?: number; app: string; logLevel: string; statusMs: number }>();

  // sync: an async destination's exit flush loops forever on EPIPE when the parent has died
  const log = pino({ level: opts.logLevel, base: { replica: opts.id } }, pino.destination({ dest: 2, sync: true }));
  const cluster = loadClusterConfig(opts.config);
  const me = cluster.replicas[opts.id];
  if (!me) throw new Error(`replica id ${opts.id} not in the config`);
  const identity = importIdentityPrivateKey(loadPrivateKeyFile(opts.key));
  const peers = new TcpPeerNetwork({
    self: opts.id,
    identity,
    peers: peerAddresses(cluster),
    maxMessageBytes: peerMaxMessageBytes(protocolConfig(cluster)),
    logger: log,
    ...(opts.peerPort !== undefined ? { listenPort: opts.peerPort } : {}),
  });
  const app = createPbftMainApp(opts.app);
  const auth = new Ed25519Authenticator({
    privateKey: identity,
    replicaKeys: replicaKeyObjects(cluster),
    clientKey: clientKeyLookup(cluster),
    allowUnknownClients: cluster.allowUnknownClients,
  });
  const core = new PbftReplica(opts.id, protocolConfig(cluster), app, auth, {
    onDrop: (reason, detail) => log.debug({ reason, detail }, 'pbft input dropped'),
  });
  const node = new PbftNode({ id: opts.id, core, peers, clientHost: me.host, clientPort: opts.clientPort ?? me.clientPort, logger: log });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void node.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const peerPort = await peers.listen();
  const clientPort = await node.listenClients();
  emit({ event: 'listening', id: opts.id, peerPort, clientPort });
  if (opts.announce) {
    const msg = JSON.parse(await readLine()) as { peers: { id: number; host: string; port: number }[] };
    for (const p of msg.peers) if (p.id !== opts.id) peers.setPeerAddress(p.id, p.host, p.port);
    // The launcher holds our stdin: when it goes away (even killed), so do we — no orphans.
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
  }
  await node.start();
  emit({ event: 'ready', id: opts.id });
  if (opts.statusMs > 0) {
    setInterval(() => {
      const m = node.metrics();
      emit({
        event: 'status',
        id: opts.id,
        view: String(m?.view ?? 0n),
        lastExecuted: String(m?.lastExecuted ?? 0n),
        requestsExecuted: m?.requestsExecuted ?? 0,
        batchesExecuted: m?.batchesExecuted ?? 0,
        viewChanges: m?.viewChanges ?? 0,
        stateTransfers: m?.stateTransfers ?? 0,
        pbftDropped: m?.dropped ?? {},
        netDropped: peers.stats().dropped,
        node: node.stats(),
      });
    }, opts.statusMs).unref();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runReplica(process.argv).catch((err: unknown) => {
    process.stderr.write(`pbft-replica: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
