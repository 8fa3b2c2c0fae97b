/**
 * PBFT cluster configuration file (JSON) and a generator for local clusters.
 *
 * ```json
 * {
 *   "f": 1,
 *   "replicas": [
 *     { "id": 0, "host": "127.0.0.1", "peerPort": 7000, "clientPort": 7100, "publicKey": "<base64 raw Ed25519>" },
 *     ...  (exactly n = 3f+1 entries, ids 0..n-1)
 *   ],
 *   "clients": [ { "id": "bench-0", "publicKey": "<base64 raw Ed25519>" } ],
 *   "allowUnknownClients": false,
 *   "protocol": { "checkpointInterval": 128, "batchMaxSize": 64, ... }   (optional overrides)
 * }
 * ```
 * Private keys live in one file per replica (`replica-<id>.key`: base64 PKCS#8 DER Ed25519),
 * never in the shared config. `peerPort` carries the authenticated replica mesh
 * ({@link TcpPeerNetwork}); `clientPort` the native client endpoint. Port 0 means "pick a free
 * port and announce it" (see `main.ts --announce`).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { KeyObject } from 'node:crypto';
import { DEFAULT_MAX_MESSAGE_BYTES, generateIdentityKeyPair, importIdentityPublicKey, type PeerAddress } from '../../net/index.ts';
import { defaultPbftConfig, type PbftConfig } from './api.ts';

/** One replica's entry. */
export interface ReplicaEntry {
  id: number;
  host: string;
  /** Replica-to-replica port (authenticated mesh). */
  peerPort: number;
  /** Native client port. */
  clientPort: number;
  /** base64 of the raw 32-byte Ed25519 public key. */
  publicKey: string;
}

/** A registered native client. */
export interface ClientEntry {
  /** Client id, 1..64 UTF-8 bytes. */
  id: string;
  /** base64 raw Ed25519 public key. */
  publicKey: string;
}

/** The parsed, validated cluster configuration. */
export interface PbftClusterConfig {
  f: number;
  /** Exactly n = 3f+1 replicas, sorted by id 0..n-1. */
  replicas: ReplicaEntry[];
  clients: ClientEntry[];
  /** Accept requests from clients not listed in `clients` without checking signatures. */
  allowUnknownClients: boolean;
  /** Overrides of {@link defaultPbftConfig}. */
  protocol: Partial<PbftConfig>;
}

/** Invalid configuration. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const PROTOCOL_KEYS: readonly (keyof PbftConfig)[] = [
  'checkpointInterval', 'watermarkWindow', 'batchMaxSize', 'batchMaxDelayMs', 'batchMinIntervalMs', 'requestTimeoutMs', 'maxViewChangeTimeoutMs',
  'statusIntervalMs', 'maxRequestBytes', 'clientWindow', 'maxPendingRequests', 'maxSnapshotBytes',
];

function isPort(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 65535;
}

/**
 * Validate a parsed JSON value as a cluster config.
 * @throws {ConfigError} naming the first problem: n ≠ 3f+1, ids not 0..n-1, bad ports/keys,
 *   unknown protocol keys, duplicate client ids
 */
export function parseClusterConfig(json: unknown): PbftClusterConfig {
  if (typeof json !== 'object' || json === null) throw new ConfigError('config must be a JSON object');
  const o = json as Record<string, unknown>;
  const f = o['f'];
  if (typeof f !== 'number' || !Number.isInteger(f) || f < 0 || f > 84) throw new ConfigError('"f" must be an integer in 0..84');
  const reps = o['replicas'];
  if (!Array.isArray(reps)) throw new ConfigError('"replicas" must be an array');
  const n = 3 * f + 1;
  if (reps.length !== n) throw new ConfigError(`n = 3f+1 = ${n} replicas required for f = ${f}, got ${reps.length}`);
  const replicas: ReplicaEntry[] = reps.map((r: unknown, i) => {
    if (typeof r !== 'object' || r === null) throw new ConfigError(`replicas[${i}] must be an object`);
    const e = r as Record<string, unknown>;
    if (typeof e['id'] !== 'number' || !Number.isInteger(e['id'])) throw new ConfigError(`replicas[${i}].id must be an integer`);
    if (typeof e['host'] !== 'string' || e['host'].length === 0) throw new ConfigError(`replicas[${i}].host must be a non-empty string`);
    if (!isPort(e['peerPort'])) throw new ConfigError(`replicas[${i}].peerPort must be a port number`);
    if (!isPort(e['clientPort'])) throw new ConfigError(`replicas[${i}].clientPort must be a port number`);
    if (typeof e['publicKey'] !== 'string') throw new ConfigError(`replicas[${i}].publicKey must be a base64 string`);
    try {
      importIdentityPublicKey(e['publicKey']);
    } catch (err) {
      throw new ConfigError(`replicas[${i}].publicKey: ${(err as Error).message}`);
    }
    return { id: e['id'], host: e['host'], peerPort: e['peerPort'], clientPort: e['clientPort'], publicKey: e['publicKey'] };
  });
  replicas.sort((a, b) => a.id - b.id);
  replicas.forEach((r, i) => {
    if (r.id !== i) throw new ConfigError(`replica ids must be exactly 0..${n - 1}`);
  });
  const clientsRaw = o['clients'] ?? [];
  if (!Array.isArray(clientsRaw)) throw new ConfigError('"clients" must be an array');
  const seen = new Set<string>();
  const clients: ClientEntry[] = clientsRaw.map((c: unknown, i) => {
    const e = (c ?? {}) as Record<string, unknown>;
    const id = e['id'];
    if (typeof id !== 'string' || id.length === 0 || Buffer.byteLength(id) > 64) throw new ConfigError(`clients[${i}].id must be 1..64 bytes`);
    if (seen.has(id)) throw new ConfigError(`duplicate client id ${id}`);
    seen.add(id);
    if (typeof e['publicKey'] !== 'string') throw new ConfigError(`clients[${i}].publicKey must be a base64 string`);
    try {
      importIdentityPublicKey(e['publicKey']);
    } catch (err) {
      throw new ConfigError(`clients[${i}].publicKey: ${(err as Error).message}`);
    }
    return { id, publicKey: e['publicKey'] };
  });
  const protoRaw = o['protocol'] ?? {};
  if (typeof protoRaw !== 'object' || protoRaw === null) throw new ConfigError('"protocol" must be an object');
  const protocol: Partial<Record<keyof PbftConfig, number>> = {};
  for (const [k, v] of Object.entries(protoRaw)) {
    if (!PROTOCOL_KEYS.includes(k as keyof PbftConfig)) throw new ConfigError(`unknown protocol setting "${k}"`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ConfigError(`protocol.${k} must be a non-negative number`);
    protocol[k as keyof PbftConfig] = v;
  }
  const allow = o['allowUnknownClients'] ?? false;
  if (typeof allow !== 'boolean') throw new ConfigError('"allowUnknownClients" must be a boolean');
  return { f, replicas, clients, allowUnknownClients: allow, protocol: protocol as Partial<PbftConfig> };
}

/** Read and validate a config file. @throws {ConfigError} or the file-system error */
export function loadClusterConfig(path: string): PbftClusterConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message}`);
  }
  return parseClusterConfig(json);
}

/** Read a replica private key file (base64 PKCS#8 DER, surrounding whitespace ignored). */
export function loadPrivateKeyFile(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

/** The full protocol config (defaults + overrides) of a cluster. */
export function protocolConfig(c: PbftClusterConfig): PbftConfig {
  return defaultPbftConfig(c.f, c.protocol);
}

/** Bytes a STATE message may need beyond its snapshot (checkpoint proof, batches executed after it). */
export const STATE_MESSAGE_HEADROOM_BYTES = 64 << 20;

/**
 * The `maxMessageBytes` of the replica mesh ({@link TcpPeerNetwork}) for a protocol config: the
 * transport's default (256 MiB, which carries VIEW-CHANGE / NEW-VIEW messages with large
 * prepared batches), raised so that state transfer of a `maxSnapshotBytes` snapshot fits in one
 * STATE message. `validateConfig` caps `maxSnapshotBytes` at 1 GiB, so this stays below 2^32.
 */
export function peerMaxMessageBytes(c: PbftConfig): number {
  return Math.max(DEFAULT_MAX_MESSAGE_BYTES, c.maxSnapshotBytes + STATE_MESSAGE_HEADROOM_BYTES);
}

/** The peer-mesh addresses of a cluster, for {@link TcpPeerNetwork}. */
export function peerAddresses(c: PbftClusterConfig): PeerAddress[] {
  return c.replicas.map((r) => ({ id: r.id, host: r.host, port: r.peerPort, publicKey: r.publicKey }));
}

/** Public keys of all replicas, indexed by id. */
export function replicaKeyObjects(c: PbftClusterConfig): KeyObject[] {
  return c.replicas.map((r) => importIdentityPublicKey(r.publicKey));
}

/** Client-key lookup for the Ed25519 authenticator. */
export function clientKeyLookup(c: PbftClusterConfig): (clientId: string) => KeyObject | undefined {
  const m = new Map(c.clients.map((e) => [e.id, importIdentityPublicKey(e.publicKey)]));
  return (id) => m.get(id);
}

/**
 * Ask the OS for `count` currently free TCP ports on `host` (bind port 0, read, close). Another
 * process may grab a port before it is used; prefer announcing ports (`main.ts --announce`)
 * where possible.
 */
export async function findFreePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    [...Array(count)].map(
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, host, () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** A generated local cluster: shared config plus the secrets that go to separate files. */
export interface GeneratedCluster {
  config: PbftClusterConfig;
  /** base64 PKCS#8 private key of replica i at index i. */
  replicaKeys: string[];
  /** base64 PKCS#8 private keys of the generated clients, by client id. */
  clientKeys: Record<string, string>;
}

/**
 * Generate a local cluster on `host` with fresh Ed25519 keys.
 * @param options.ports `'free'` asks the OS for free ports, `0` leaves all ports 0 (announce
 *   mode), a number starts consecutive ports there (peer ports first, then client ports)
 * @param options.clients ids of native clients to generate keys for
 * @throws {ConfigError} for f < 0
 */
export async function generateLocalCluster(options: {
  f: number;
  host?: string;
  ports?: 'free' | number;
  clients?: string[];
  protocol?: Partial<PbftConfig>;
  allowUnknownClients?: boolean;
}): Promise<GeneratedCluster> {
  const { f } = options;
  if (!Number.isInteger(f) || f < 0) throw new ConfigError('f must be a non-negative integer');
  const n = 3 * f + 1;
  const host = options.host ?? '127.0.0.1';
  const ports = options.ports ?? 'free';
  const list = ports === 'free' ? await findFreePorts(2 * n, host) : [...Array(2 * n).keys()].map((i) => (ports === 0 ? 0 : ports + i));
  const keys = [...Array(n)].map(() => generateIdentityKeyPair());
  const clientKeys: Record<string, string> = {};
  const clients = (options.clients ?? []).map((id) => {
    const k = generateIdentityKeyPair();
    clientKeys[id] = k.privateKey;
    return { id, publicKey: k.publicKey };
  });
  const config = parseClusterConfig({
    f,
    replicas: keys.map((k, id) => ({ id, host, peerPort: list[id]!, clientPort: list[n + id]!, publicKey: k.publicKey })),
    clients,
    allowUnknownClients: options.allowUnknownClients ?? false,
    protocol: options.protocol ?? {},
  });
  return { config, replicaKeys: keys.map((k) => k.privateKey), clientKeys };
}
