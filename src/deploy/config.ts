/**
 * Deployment configuration of a CART cluster: what `cart cluster` writes and `cart replica`,
 * `cart kv` and `cart demo` read.
 *
 * Files in a deployment folder (all JSON, documented in `docs/deployment.md`):
 * - `cluster.json` — PUBLIC, safe to hand to clients and operators: replica addresses (client,
 *   peer and metrics ports), their Ed25519 identity public keys, f, the application, the
 *   consensus protocol section and CART tuning. Names the public key file.
 * - `cart-public.json` — PUBLIC: the BLS public key sets (group public keys), see `src/crypto/keyfile.ts`.
 * - `replica-<i>.json` — SECRET (mode 0600): replica i's Ed25519 identity private key and the
 *   path of its BLS secret key file `replica-<i>.secret.json` (mode 0600, `src/crypto/keyfile.ts`).
 *
 * Replica indices are 1..n (the BLS signer index); network ids are index-1.
 */
import { readFile, writeFile, chmod, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/** Current config format version. */
export const DEPLOY_CONFIG_VERSION = 1;

/** Consensus protocols a deployment can use. */
export type ConsensusProtocol = 'pbft' | 'etcd' | 'bftsmart';
export const CONSENSUS_PROTOCOLS: readonly ConsensusProtocol[] = ['pbft', 'etcd', 'bftsmart'];

/** One replica's public entry. */
export interface ReplicaAddressEntry {
  /** 1..n */
  readonly index: number;
  readonly host: string;
  /** CART client endpoint (TCP, `proto/cart.proto` frames). */
  readonly clientPort: number;
  /** CART replica-to-replica mesh (signature share exchange). */
  readonly peerPort: number;
  /** HTTP `/metrics` (Prometheus) and `/status` (JSON); 0 = not served. */
  readonly metricsPort: number;
  /** base64 raw 32-byte Ed25519 public key (identity on both the CART and the PBFT mesh). */
  readonly publicKey: string;
}

/** CART tuning switches (issue 5's optimisations are switchable here). */
export interface CartTuningConfig {
  /** One threshold signature per ordered batch (Merkle root) instead of one per reply. Default true. */
  readonly batchSignatures?: boolean;
  /** Tentative aggregation: combine first, verify the group signature once. Default true. */
  readonly tentative?: boolean;
  /** Serve read-only requests without ordering (key set 'readonly', t = 2f+1). Default true. */
  readonly readOnly?: boolean;
  /**
   * Crypto worker threads per replica (0 = on the event loop), or 'auto' (the default): one core
   * is left per replica process on this host for its event loop and the rest, at most 2, run
   * crypto — see {@link autoCryptoWorkers}.
   */
  readonly cryptoWorkers?: number | 'auto';
  /**
   * Contact hints: replies name the wrapped protocol's leader as the replica to send new requests
   * to, and clients move there (one relay hop less; only the leader's replica combines shares for
   * its clients' batches). Default true. See docs/protocol.md §4.6.
   */
  readonly contactHints?: boolean;
  /**
   * A contact orders read-only requests with the writes while at least this many of its ordered
   * requests are in flight (default 1; 0 = always the read-only path). See docs/protocol.md §4.4.
   */
  readonly readOnlyBusyThreshold?: number;
}

/**
 * The worker-thread count 'auto' picks: `min(2, floor(cores / replicasOnHost) − 1)`, at least 0.
 * Worker threads only pay off when a core is free for them; with several replica processes
 * sharing few cores (a local cluster on a laptop) they add message passing and contention for
 * nothing (docs/performance.md has the measurement).
 * @param cores available CPU cores (`os.availableParallelism()`)
 * @param replicasOnHost replica processes of the cluster on this host (same `host` as this one)
 */
export function autoCryptoWorkers(cores: number, replicasOnHost: number): number {
  return Math.max(0, Math.min(2, Math.floor(cores / Math.max(1, replicasOnHost)) - 1));
}

/** Consensus section: exactly one protocol with its settings. */
export type ConsensusSection =
  | { readonly protocol: 'pbft'; readonly pbft: unknown /* PbftClusterConfig JSON, validated by the PBFT package */ }
  | { readonly protocol: 'etcd'; readonly etcd: { readonly endpoints: readonly string[]; readonly prefix?: string; readonly stateDir?: string } }
  | { readonly protocol: 'bftsmart'; readonly bftsmart: { readonly home: string; readonly workDir: string } };

/** Parsed `cluster.json`. */
export interface ClusterConfig {
  readonly version: number;
  readonly f: number;
  /** Application name (`kv` or `counter`). */
  readonly application: string;
  readonly replicas: readonly ReplicaAddressEntry[];
  /** Path of the BLS public key file, relative to this file's folder or absolute. */
  readonly publicKeyFile: string;
  readonly consensus: ConsensusSection;
  readonly tuning: CartTuningConfig;
}

/** Parsed `replica-<i>.json`. */
export interface ReplicaSecretConfig {
  readonly version: number;
  readonly index: number;
  /** Path of `cluster.json` (relative to this file's folder or absolute). */
  readonly cluster: string;
  /** base64 PKCS#8 DER Ed25519 private key. Never logged. */
  readonly identityKey: string;
  /** Path of this replica's BLS secret key file. */
  readonly blsSecretFile: string;
}

/** Invalid deployment configuration (the message names the file and the field). */
export class DeployConfigError extends Error {
  override readonly name = 'DeployConfigError';
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
function port(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 65535) throw new DeployConfigError(`${what} must be a port number 0..65535`);
  return x;
}
function str(x: unknown, what: string): string {
  if (typeof x !== 'string' || x.length === 0) throw new DeployConfigError(`${what} must be a non-empty string`);
  return x;
}

/**
 * Validate a parsed `cluster.json`.
 * @throws {DeployConfigError} naming the first problem (version, n ≠ 3f+1, indices not 1..n, ports, protocol)
 */
export function parseClusterConfig(json: unknown): ClusterConfig {
  if (!isObj(json)) throw new DeployConfigError('cluster config must be a JSON object');
  if (json['version'] !== DEPLOY_CONFIG_VERSION) throw new DeployConfigError(`unsupported cluster config version ${String(json['version'])} (expected ${DEPLOY_CONFIG_VERSION})`);
  const f = json['f'];
  if (typeof f !== 'number' || !Number.isInteger(f) || f < 0 || f > 33) throw new DeployConfigError('f must be an integer 0..33');
  const reps = json['replicas'];
  if (!Array.isArray(reps) || reps.length !== 3 * f + 1) throw new DeployConfigError(`replicas must list exactly n = 3f+1 = ${3 * f + 1} entries`);
  const replicas = reps.map((r, i): ReplicaAddressEntry => {
    if (!isObj(r)) throw new DeployConfigError(`replicas[${i}] must be an object`);
    if (r['index'] !== i + 1) throw new DeployConfigError(`replicas[${i}].index must be ${i + 1} (indices 1..n in order)`);
    return {
      index: i + 1,
      host: str(r['host'], `replicas[${i}].host`),
      clientPort: port(r['clientPort'], `replicas[${i}].clientPort`),
      peerPort: port(r['peerPort'], `replicas[${i}].peerPort`),
      metricsPort: port(r['metricsPort'] ?? 0, `replicas[${i}].metricsPort`),
      publicKey: str(r['publicKey'], `replicas[${i}].publicKey`),
    };
  });
  const keys = new Set(replicas.map((r) => r.publicKey));
  if (keys.size !== replicas.length) throw new DeployConfigError('replicas must have distinct publicKey values');
  const endpoints = new Set(replicas.flatMap((r) => [`${r.host}:${r.clientPort}`, `${r.host}:${r.peerPort}`].filter((e) => !e.endsWith(':0'))));
  if (endpoints.size !== replicas.flatMap((r) => [r.clientPort, r.peerPort].filter((p) => p !== 0)).length) {
    throw new DeployConfigError('replica client/peer endpoints (host:port) must all be distinct');
  }
  const c = json['consensus'];
  if (!isObj(c)) throw new DeployConfigError('consensus must be an object');
  const protocol = c['protocol'];
  let consensus: ConsensusSection;
  if (protocol === 'pbft') {
    if (!isObj(c['pbft'])) throw new DeployConfigError('consensus.pbft must be an object');
    consensus = { protocol, pbft: c['pbft'] };
  } else if (protocol === 'etcd') {
    const e = c['etcd'];
    if (!isObj(e) || !Array.isArray(e['endpoints']) || e['endpoints'].length === 0) throw new DeployConfigError('consensus.etcd.endpoints must be a non-empty array');
    consensus = {
      protocol,
      etcd: {
        endpoints: e['endpoints'].map((x, i) => str(x, `consensus.etcd.endpoints[${i}]`)),
        ...(typeof e['prefix'] === 'string' ? { prefix: e['prefix'] } : {}),
        ...(typeof e['stateDir'] === 'string' ? { stateDir: e['stateDir'] } : {}),
      },
    };
  } else if (protocol === 'bftsmart') {
    const b = c['bftsmart'];
    if (!isObj(b)) throw new DeployConfigError('consensus.bftsmart must be an object');
    consensus = { protocol, bftsmart: { home: str(b['home'], 'consensus.bftsmart.home'), workDir: str(b['workDir'], 'consensus.bftsmart.workDir') } };
  } else {
    throw new DeployConfigError(`consensus.protocol must be one of ${CONSENSUS_PROTOCOLS.join(', ')}`);
  }
  const t = json['tuning'] ?? {};
  if (!isObj(t)) throw new DeployConfigError('tuning must be an object');
  for (const k of Object.keys(t)) {
    if (!['batchSignatures', 'tentative', 'readOnly', 'cryptoWorkers', 'contactHints', 'readOnlyBusyThreshold'].includes(k)) throw new DeployConfigError(`unknown tuning key '${k}'`);
  }
  for (const k of ['batchSignatures', 'tentative', 'readOnly', 'contactHints']) {
    if (t[k] !== undefined && typeof t[k] !== 'boolean') throw new DeployConfigError(`tuning.${k} must be true or false`);
  }
  const w = t['cryptoWorkers'];
  if (w !== undefined && w !== 'auto' && (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 64)) {
    throw new DeployConfigError("tuning.cryptoWorkers must be an integer 0..64 or 'auto'");
  }
  const busy = t['readOnlyBusyThreshold'];
  if (busy !== undefined && (typeof busy !== 'number' || !Number.isInteger(busy) || busy < 0 || busy > 1_000_000)) {
    throw new DeployConfigError('tuning.readOnlyBusyThreshold must be an integer 0..1000000');
  }
  const tuning: CartTuningConfig = {
    ...(typeof t['batchSignatures'] === 'boolean' ? { batchSignatures: t['batchSignatures'] } : {}),
    ...(typeof t['tentative'] === 'boolean' ? { tentative: t['tentative'] } : {}),
    ...(typeof t['readOnly'] === 'boolean' ? { readOnly: t['readOnly'] } : {}),
    ...(typeof w === 'number' || w === 'auto' ? { cryptoWorkers: w } : {}),
    ...(typeof t['contactHints'] === 'boolean' ? { contactHints: t['contactHints'] } : {}),
    ...(typeof busy === 'number' ? { readOnlyBusyThreshold: busy } : {}),
  };
  return {
    version: DEPLOY_CONFIG_VERSION,
    f,
    application: str(json['application'] ?? 'kv', 'application'),
    replicas,
    publicKeyFile: str(json['publicKeyFile'], 'publicKeyFile'),
    consensus,
    tuning,
  };
}

/**
 * Validate a parsed `replica-<i>.json`.
 * @throws {DeployConfigError}
 */
export function parseReplicaSecretConfig(json: unknown): ReplicaSecretConfig {
  if (!isObj(json)) throw new DeployConfigError('replica config must be a JSON object');
  if (json['version'] !== DEPLOY_CONFIG_VERSION) throw new DeployConfigError(`unsupported replica config version ${String(json['version'])}`);
  const index = json['index'];
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 1) throw new DeployConfigError('index must be an integer >= 1');
  return {
    version: DEPLOY_CONFIG_VERSION,
    index,
    cluster: str(json['cluster'], 'cluster'),
    identityKey: str(json['identityKey'], 'identityKey'),
    blsSecretFile: str(json['blsSecretFile'], 'blsSecretFile'),
  };
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    // Node's message ends in ", open '<path>'": the path is named once, here
    throw new DeployConfigError(`cannot read ${path}: ${(e as Error).message.replace(/, \w+ '.*'$/, '')}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new DeployConfigError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Resolve `p` relative to the folder of `file` unless absolute. */
export function relativeTo(file: string, p: string): string {
  return isAbsolute(p) ? p : resolve(dirname(file), p);
}

/**
 * Load and validate `cluster.json`.
 * @throws {DeployConfigError}
 */
export async function loadClusterConfig(path: string): Promise<ClusterConfig> {
  try {
    return parseClusterConfig(await readJson(path));
  } catch (e) {
    if (e instanceof DeployConfigError && !e.message.includes(path)) throw new DeployConfigError(`${path}: ${e.message}`);
    throw e;
  }
}

/**
 * Load `replica-<i>.json` and the `cluster.json` it names; checks the index is in range and
 * that the identity key belongs to the cluster entry is left to the network handshake.
 * @throws {DeployConfigError}
 */
export async function loadReplicaConfig(path: string): Promise<{ secret: ReplicaSecretConfig; cluster: ClusterConfig; clusterPath: string }> {
  // the file holds the identity private key: refuse it if group/others can read it (like ssh)
  const st = await stat(path).catch((e: Error) => {
    throw new DeployConfigError(`cannot read ${path}: ${e.message}`);
  });
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new DeployConfigError(`${path} holds a private key but is accessible by group/others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
  }
  let secret: ReplicaSecretConfig;
  try {
    secret = parseReplicaSecretConfig(await readJson(path));
  } catch (e) {
    if (e instanceof DeployConfigError && !e.message.includes(path)) throw new DeployConfigError(`${path}: ${e.message}`);
    throw e;
  }
  const clusterPath = relativeTo(path, secret.cluster);
  const cluster = await loadClusterConfig(clusterPath);
  if (secret.index > cluster.replicas.length) throw new DeployConfigError(`${path}: index ${secret.index} > n = ${cluster.replicas.length}`);
  return { secret, cluster, clusterPath };
}

/** Write JSON with a trailing newline; `secret` files get mode 0600. */
export async function writeJson(path: string, value: unknown, secret = false): Promise<void> {
  await writeFile(path, JSON.stringify(value, null, 2) + '\n', { mode: secret ? 0o600 : 0o644 });
  if (secret) await chmod(path, 0o600);
}

/** Conventional file names inside a deployment folder. */
export const deployFiles = {
  cluster: (dir: string) => join(dir, 'cluster.json'),
  replica: (dir: string, index: number) => join(dir, `replica-${index}.json`),
};
