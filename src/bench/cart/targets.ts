/**
 * System-under-test drivers of `cart bench`: each starts a FRESH local cluster of replica OS
 * processes on 127.0.0.1 (n = 3f+1) running the KV application (`src/apps/kv.ts`) and opens
 * closed-loop clients, one client object per YCSB thread with one operation outstanding.
 *
 * - native: plain PBFT replica processes (`src/consensus/pbft/main.ts --app kv`) and the PBFT
 *   native client (`createPbftTcpClient`: f+1 matching replies, Ed25519-authenticated).
 * - native over BFT-SMaRt: plain BFT-SMaRt replicas running the KV application directly and
 *   BFT-SMaRt's own client (`ServiceProxy`, f+1 matching replies), see `bftsmart-native.ts`.
 * - cart: CART replica processes (`launchLocalDeployment`) over PBFT, etcd or BFT-SMaRt with the
 *   mode's tuning, and CART clients (`connectToCluster`: group-signature-verified replies; reads
 *   via `invokeReadOnly` in read-only modes).
 *
 * Every target is closed by `close()` (idempotent), which stops every process it started.
 */
import { decodeKvResult, encodeKvOperation, type KvOperation, type KvResult } from '../../apps/kv-codec.ts';
import type { CartClient, CartClientStats, SignatureVerifier } from '../../client/index.ts';
import type { ByzantineFlag } from '../../deploy/local-cluster.ts';
import type { BenchConsensus, BenchModeSpec } from './modes.ts';

/** A KV operation failed at the application (e.g. a record too large): an error result, not a transport failure. */
export class BenchOperationError extends Error {
  override readonly name = 'BenchOperationError';
}

/** Client-side counters summed over a target's clients (CART modes; zeros for native). */
export interface TargetClientStats {
  /** Replies accepted (verified group signature for CART; f+1 matching replies for native). */
  readonly verified: number;
  /** Signature checks (single or batch; ~one pairing check each) the CART clients requested. */
  readonly pairingChecks: number;
  /**
   * BLS verifications (single or batch) actually run in the bench process: the clients share a
   * process-wide verified-signature cache (as YCSB threads of one client process), so k replies
   * under one batch root cost one check for all k.
   */
  readonly processPairings: number;
  /** Replies verified from the client's root cache (no pairing check). */
  readonly cacheHits: number;
  readonly batchChecks: number;
  readonly readOnlyVerified: number;
  readonly readOnlyFallbacks: number;
  readonly failovers: number;
  readonly timeouts: number;
  /** Rejected replies by reason (late duplicates excluded). */
  readonly rejected: Readonly<Record<string, number>>;
}

/** Counters scraped from the honest CART replicas' Prometheus `/metrics`, summed. */
export interface ReplicaCounters {
  /** Misbehaviour reports (`cart_signer_misbehaviour_total`): bad shares detected. */
  readonly misbehaviour: number;
  /** Read-only batches coordinated (`cart_read_only_batches_total`). */
  readonly readOnlyBatches: number;
  /** Read-only requests in them (`cart_read_only_batched_requests_total`). */
  readonly readOnlyBatchedRequests: number;
}

/** All-zero counters (native targets, unreachable replicas). */
export const NO_REPLICA_COUNTERS: ReplicaCounters = Object.freeze({ misbehaviour: 0, readOnlyBatches: 0, readOnlyBatchedRequests: 0 });

/** A running system under test. */
export interface BenchTarget {
  /** Make sure at least `count` clients are connected (client ids 0..count-1). */
  ensureClients(count: number): Promise<void>;
  /** Execute one KV operation as client `client`; resolves with the decoded result. */
  execute(operation: KvOperation, client: number): Promise<KvResult>;
  /** Sum of the client counters so far. */
  clientStats(): TargetClientStats;
  /** Counters summed over the honest replicas' `/metrics` so far (CART only; zeros otherwise). */
  replicaCounters(): Promise<ReplicaCounters>;
  /**
   * View changes so far: the most any replica reported (CART: adapter `view-change` events;
   * native: the replicas' periodic status lines, so up to one status interval late).
   */
  viewChanges(): number;
  /** Stop clients and replica processes. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link startTarget}. */
export interface TargetOptions {
  readonly mode: BenchModeSpec;
  readonly consensus: BenchConsensus;
  /** Tolerated faults (n = 3f+1). */
  readonly f: number;
  /** Progress messages. */
  readonly progress: (message: string) => void;
  /** Keep the CART deployment folder (keys, configs, logs) here; default a temp folder removed at close. */
  readonly dir?: string;
  /** Client reply timeout before failing over (ms). */
  readonly clientTimeoutMs?: number;
  /** Most clients {@link BenchTarget.ensureClients} will be asked for (native: client keys / proxies created up front). Default 1000 (PBFT), 64 (BFT-SMaRt). */
  readonly maxClients?: number;
  /** The user's BFT-SMaRt build (jar, `lib/`, `config/`); required for consensus `bftsmart`. */
  readonly bftsmartHome?: string;
  /**
   * Modes with a Byzantine replica: the fraction (0..1] of batches for which replica n sends bad
   * signature shares (chosen by sequence number, reproducible). Default 1 (every batch).
   */
  readonly byzantineBadShareFraction?: number;
}

/** All client counters zero. */
export const ZERO_CLIENT_STATS: TargetClientStats = {
  verified: 0,
  pairingChecks: 0,
  processPairings: 0,
  cacheHits: 0,
  batchChecks: 0,
  readOnlyVerified: 0,
  readOnlyFallbacks: 0,
  failovers: 0,
  timeouts: 0,
  rejected: {},
};

/**
 * `r` unless it is an application error result.
 * @throws {BenchOperationError} for an error result
 */
export function checkedKvResult(r: KvResult): KvResult {
  if (r.type === 'error') throw new BenchOperationError(`application error ${r.code}: ${r.message}`);
  return r;
}

function isReadOnly(op: KvOperation): boolean {
  return op.type === 'read' || op.type === 'scan';
}

/**
 * Start the system under test for `o.mode` (a fresh cluster).
 * @throws the cluster's start errors (everything started is stopped first)
 */
export async function startTarget(o: TargetOptions): Promise<BenchTarget> {
  if (o.mode.kind === 'cart') return startCart(o);
  if (o.consensus === 'bftsmart') {
    const { startBftSmartNativeTarget } = await import('./bftsmart-native.ts');
    return startBftSmartNativeTarget(o);
  }
  if (o.consensus !== 'pbft') throw new RangeError(`no native baseline for ${o.consensus}`);
  return startNative(o);
}

async function startNative(o: TargetOptions): Promise<BenchTarget> {
  const { launchLocalCluster } = await import('../../consensus/pbft/launcher.ts');
  const { createPbftTcpClient } = await import('../../consensus/pbft/tcp-client.ts');
  type Native = ReturnType<typeof createPbftTcpClient>;
  const MAX = o.maxClients ?? 1000;
  const ids = Array.from({ length: MAX }, (_, i) => `ycsb-${i}`);
  o.progress(`starting ${3 * o.f + 1} plain PBFT replica processes (kv application, native client) ...`);
  const { DEFAULT_PBFT_PROTOCOL } = await import('../../deploy/generate.ts');
  // the same PBFT settings as the CART deployments it is compared with
  const cluster = await launchLocalCluster({ f: o.f, clients: ids, app: 'kv', timeoutMs: 60_000, statusMs: 500, protocol: { ...DEFAULT_PBFT_PROTOCOL } });
  const clients: Native[] = [];
  let verified = 0;
  let closed = false;
  return {
    async ensureClients(count) {
      if (count > MAX) throw new RangeError(`at most ${MAX} native clients`);
      while (clients.length < count) {
        const id = ids[clients.length]!;
        const c = createPbftTcpClient({
          cluster: cluster.config,
          clientId: id,
          privateKey: cluster.clientKeys[id]!,
          endpoints: cluster.endpoints(),
          retransmitTimeoutMs: 1000,
          maxOutstanding: 1,
        });
        clients.push(c);
        await c.waitConnected(3 * o.f + 1, 20_000);
      }
    },
    async execute(operation, client) {
      const c = clients[client];
      if (!c) throw new RangeError(`no client ${client}`);
      const r = checkedKvResult(decodeKvResult(await c.invoke(encodeKvOperation(operation))));
      verified++;
      return r;
    },
    clientStats: () => ({ ...ZERO_CLIENT_STATS, verified }),
    replicaCounters: async () => NO_REPLICA_COUNTERS,
    viewChanges: () => Math.max(0, ...cluster.replicas.map((r) => r.status?.viewChanges ?? 0)),
    async close() {
      if (closed) return;
      closed = true;
      for (const c of clients) c.close();
      await cluster.close();
    },
  };
}

async function startCart(o: TargetOptions): Promise<BenchTarget> {
  const { launchLocalDeployment } = await import('../../deploy/launch.ts');
  const { connectToCluster, cachedVerifier } = await import('../../deploy/client.ts');
  const { loadThresholdBls } = await import('../../crypto/index.ts');
  // One verifier for all clients of this target: the fast native/wasm backend behind a shared
  // cache of verified signatures (which passes batch verification through; the client's
  // `batchVerification` option decides whether it is used), counting the checks really run.
  const bls = await loadThresholdBls();
  let processPairings = 0;
  const verifier: SignatureVerifier = cachedVerifier({
    verify: (pk, d, m, sig) => {
      processPairings++;
      return bls.verify(pk, d, m, sig);
    },
    batchVerify: (items) => {
      processPairings++;
      return bls.batchVerify(items);
    },
  });
  const { resolve } = await import('node:path');
  const n = 3 * o.f + 1;
  const byzantine = byzantineFlags(o.mode, n, o.byzantineBadShareFraction);
  if (o.consensus === 'bftsmart' && !o.bftsmartHome) throw new RangeError('consensus bftsmart needs bftsmartHome (--bftsmart-home DIR)');
  const viewChanges = new Map<number, number>();
  const running = await launchLocalDeployment({
    f: o.f,
    protocol: o.consensus,
    application: 'kv',
    tuning: o.mode.tuning,
    logLevel: 'warn',
    ...(o.consensus === 'bftsmart' ? { bftsmartHome: o.bftsmartHome! } : {}),
    ...(o.dir ? { dir: resolve(o.dir), overwrite: true } : {}),
    ...(byzantine.size ? { byzantine } : {}),
    progress: o.progress,
    onEvent: (i, ev) => {
      if (ev['event'] === 'view-change') viewChanges.set(i, (viewChanges.get(i) ?? 0) + 1);
    },
  });
  const clients: CartClient[] = [];
  let closed = false;
  const target: BenchTarget = {
    async ensureClients(count) {
      while (clients.length < count) {
        const i = clients.length;
        clients.push(
          await connectToCluster(running.deployment.clusterFile, {
            contact: i % n,
            timeoutMs: o.clientTimeoutMs ?? 3000,
            maxAttempts: 100,
            maxOutstanding: 1,
            readOnlyPath: o.mode.readOnlyInvocations,
            verifier,
            batchVerification: o.mode.clientBatchVerification,
          }),
        );
      }
    },
    async execute(operation, client) {
      const c = clients[client];
      if (!c) throw new RangeError(`no client ${client}`);
      const bytes = encodeKvOperation(operation);
      const raw = o.mode.readOnlyInvocations && isReadOnly(operation) ? await c.invokeReadOnly(bytes) : await c.invoke(bytes);
      return checkedKvResult(decodeKvResult(raw));
    },
    clientStats: () => ({ ...sumStats(clients.map((c) => c.stats())), processPairings }),
    viewChanges: () => Math.max(0, ...viewChanges.values()),
    replicaCounters: () => fetchReplicaCounters(running.deployment.cluster.replicas.filter((r) => !byzantine.has(r.index))),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      await running.close();
    },
  };
  return target;
}

/**
 * The local-cluster Byzantine flags of a mode: none, or replica `n` sending bad signature shares
 * for `fraction` (0..1], default 1) of its batches (`cart replica --byzantine-bad-shares
 * [--byzantine-bad-share-fraction x]`).
 * @throws {RangeError} for a fraction outside (0, 1]
 */
export function byzantineFlags(mode: BenchModeSpec, n: number, fraction = 1): Map<number, ByzantineFlag[]> {
  const byzantine = new Map<number, ByzantineFlag[]>();
  if (!mode.byzantineBadShares) return byzantine;
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`bad-share fraction must be in (0, 1], got ${fraction}`);
  byzantine.set(n, fraction === 1 ? ['bad-shares'] : ['bad-shares', `bad-share-fraction=${fraction}`]);
  return byzantine;
}

/**
 * Sum CART client counters (late duplicates are not rejections: they were correct, just late).
 * `processPairings` is 0 here (the target adds its own count).
 */
export function sumStats(all: readonly CartClientStats[]): TargetClientStats {
  const rejected: Record<string, number> = {};
  let verified = 0;
  let pairingChecks = 0;
  let cacheHits = 0;
  let batchChecks = 0;
  let readOnlyVerified = 0;
  let readOnlyFallbacks = 0;
  let failovers = 0;
  let timeouts = 0;
  for (const s of all) {
    verified += s.verified;
    pairingChecks += s.pairingChecks;
    cacheHits += s.cacheHits;
    batchChecks += s.batchChecks;
    readOnlyVerified += s.readOnlyVerified;
    readOnlyFallbacks += s.readOnlyFallbacks;
    failovers += s.failovers;
    timeouts += s.timeouts;
    for (const [k, v] of Object.entries(s.rejected)) if (k !== 'late' && v) rejected[k] = (rejected[k] ?? 0) + v;
  }
  return { verified, pairingChecks, processPairings: 0, cacheHits, batchChecks, readOnlyVerified, readOnlyFallbacks, failovers, timeouts, rejected };
}

/** Difference `after - before` of two counter snapshots (a measured interval). */
export function diffStats(after: TargetClientStats, before: TargetClientStats): TargetClientStats {
  const rejected: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.rejected)) {
    const d = v - (before.rejected[k] ?? 0);
    if (d) rejected[k] = d;
  }
  return {
    verified: after.verified - before.verified,
    pairingChecks: after.pairingChecks - before.pairingChecks,
    processPairings: after.processPairings - before.processPairings,
    cacheHits: after.cacheHits - before.cacheHits,
    batchChecks: after.batchChecks - before.batchChecks,
    readOnlyVerified: after.readOnlyVerified - before.readOnlyVerified,
    readOnlyFallbacks: after.readOnlyFallbacks - before.readOnlyFallbacks,
    failovers: after.failovers - before.failovers,
    timeouts: after.timeouts - before.timeouts,
    rejected,
  };
}

/** Sum of `cart_signer_misbehaviour_total` over the replicas' Prometheus `/metrics` (unreachable ones count 0). */
async function fetchReplicaCounters(hosts: readonly { host: string; metricsPort: number }[]): Promise<ReplicaCounters> {
  const names: Record<string, keyof ReplicaCounters> = {
    cart_signer_misbehaviour_total: 'misbehaviour',
    cart_read_only_batches_total: 'readOnlyBatches',
    cart_read_only_batched_requests_total: 'readOnlyBatchedRequests',
  };
  const total: Record<keyof ReplicaCounters, number> = { ...NO_REPLICA_COUNTERS };
  for (const h of hosts) {
    if (!h.metricsPort) continue;
    try {
      const res = await fetch(`http://${h.host}:${h.metricsPort}/metrics`, { signal: AbortSignal.timeout(2000) });
      for (const line of (await res.text()).split('\n')) {
        const name = /^[a-z_]+/.exec(line)?.[0];
        const key = name === undefined ? undefined : names[name];
        if (key) total[key] += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
      }
    } catch {
      /* not reachable: counts 0 */
    }
  }
  return total;
}
