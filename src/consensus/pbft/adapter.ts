/**
 * CART glue for the built-in PBFT: a {@link ConsensusAdapter} hosting one PBFT replica
 * in-process. `start(proxy)` runs the PBFT node whose application forwards ordered batches,
 * snapshots and restores to CART's {@link ApplicationProxy}; `submit` orders a request through
 * a native PBFT client (CART's "BFT client handler"), many outstanding at once.
 *
 * The adapter's client is a {@link LocalPbftClient} co-located with its replica: it signs with
 * the replica's own Ed25519 key under the client id `cart/<replica id>/<random>` (fresh per
 * start, so a restarted replica never reuses request ids); replicas accept such ids with that
 * replica's public key, other client ids per config. The id's replica is the client's home
 * (`Authenticator.clientHome`): its requests travel over the authenticated replica mesh (no
 * client-signature checks at the receivers) and only the home replica answers, in-process and
 * unsigned. See docs/performance.md.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import type { AdapterEvent, ApplicationProxy, ConsensusAdapter } from '../adapter.ts';
import { TcpPeerNetwork, importIdentityPrivateKey, type NetLogger, type PeerNetworkStats } from '../../net/index.ts';
import type { PbftMetrics } from './api.ts';
import { Ed25519Authenticator } from './auth.ts';
import { PbftReplica } from './replica.ts';
import { PbftNode, systemClock, type PbftNodeStats } from './node.ts';
import { LocalPbftClient, type LocalPbftClientStats } from './local-client.ts';
import { Ed25519ClientSigner } from './auth.ts';
import { clientKeyLookup, loadClusterConfig, loadPrivateKeyFile, peerAddresses, peerMaxMessageBytes, protocolConfig, replicaKeyObjects, type PbftClusterConfig } from './config.ts';

const EMPTY_RESULT = new Uint8Array(0);

/** Options of a {@link PbftAdapter}. */
export interface PbftAdapterOptions {
  /** This replica's id in `cluster`. */
  self: number;
  cluster: PbftClusterConfig;
  /** This replica's Ed25519 private key (KeyObject or base64 PKCS#8). */
  identity: KeyObject | string;
  /** Listen interface for both ports (default: the configured host). */
  listenHost?: string;
  /** Native client retransmission timeout (ms, default 500). */
  retransmitTimeoutMs?: number;
  /** Submissions in flight at once (default 1024, capped by the client window). */
  maxOutstanding?: number;
  logger?: NetLogger;
}

/** `submit` refused: adapter not started, stopped, or request too large. */
export class PbftAdapterError extends Error {
  override readonly name = 'PbftAdapterError';
}

/** The PBFT {@link ConsensusAdapter}. */
export class PbftAdapter implements ConsensusAdapter {
  readonly protocol = 'pbft';
  private readonly cluster: PbftClusterConfig;
  private readonly identity: KeyObject;
  private readonly peers: TcpPeerNetwork;
  private readonly node: PbftNode;
  private client: LocalPbftClient | undefined;
  private proxy: ApplicationProxy | undefined;
  private readonly listeners: ((e: AdapterEvent) => void)[] = [];
  private state: 'new' | 'running' | 'stopped' = 'new';

  constructor(private readonly o: PbftAdapterOptions) {
    this.cluster = structuredClone(o.cluster);
    this.identity = typeof o.identity === 'string' ? importIdentityPrivateKey(o.identity) : o.identity;
    const me = this.cluster.replicas[o.self]!;
    const replicaKeys = replicaKeyObjects(this.cluster);
    const configured = clientKeyLookup(this.cluster);
    const auth = new Ed25519Authenticator({
      privateKey: this.identity,
      replicaKeys,
      clientKey: (id) => {
        const home = cartClientHome(id, replicaKeys.length);
        return home !== undefined ? replicaKeys[home] : configured(id);
      },
      clientHome: (id) => cartClientHome(id, replicaKeys.length),
      allowUnknownClients: this.cluster.allowUnknownClients,
    });
    const app = {
      // CART answers its clients itself (signed replies); PBFT only tells the adapter's client
      // that a request executed. Handing PBFT empty results keeps them out of its client table,
      // its checkpoints and its REPLY messages (the results stay in CART's deduplication table).
      executeBatch: (sequence: bigint, requests: readonly Uint8Array[]) => this.proxy!.executeBatch({ sequence, requests }).map(() => EMPTY_RESULT),
      snapshot: () => this.proxy!.snapshot(),
      restore: (snapshot: Uint8Array, sequence: bigint) => this.proxy!.restore(snapshot, sequence),
    };
    const log = o.logger;
    const protocol = protocolConfig(this.cluster);
    const core = new PbftReplica(o.self, protocol, app, auth, log ? { onDrop: (reason, detail) => log.debug({ reason, detail }, 'pbft drop') } : {});
    const host = o.listenHost ?? me.host;
    this.peers = new TcpPeerNetwork({
      self: o.self, identity: this.identity, peers: peerAddresses(this.cluster), listenHost: host, maxMessageBytes: peerMaxMessageBytes(protocol), ...(log ? { logger: log } : {}),
    });
    this.node = new PbftNode({
      id: o.self, core, peers: this.peers, clientHost: host, clientPort: me.clientPort,
      onEvent: (e) => {
        if (e.kind === 'view-change') this.emit({ kind: 'view-change', view: e.view }, { kind: 'leader', leader: Number(e.view % BigInt(this.cluster.replicas.length)) });
        if (e.kind === 'state-transfer') this.emit({ kind: 'state-transfer', sequence: e.sequence });
      },
      ...(log ? { logger: log } : {}),
    });
  }

  /** Bind both ports without starting (to learn ports picked for port 0). */
  async listen(): Promise<{ peerPort: number; clientPort: number }> {
    const peerPort = await this.peers.listen();
    const clientPort = await this.node.listenClients();
    this.cluster.replicas[this.o.self]!.clientPort = clientPort;
    return { peerPort, clientPort };
  }

  /** Update where replica `id` is reached (before {@link start}; e.g. ports announced at start-up). */
  setReplicaAddress(id: number, host: string, peerPort: number, clientPort: number): void {
    this.peers.setPeerAddress(id, host, peerPort);
    Object.assign(this.cluster.replicas[id]!, { host, peerPort, clientPort });
  }

  async start(proxy: ApplicationProxy): Promise<void> {
    if (this.state !== 'new') throw new PbftAdapterError(`cannot start a ${this.state} adapter`);
    this.proxy = proxy;
    await this.listen();
    await this.node.start();
    const clientId = `cart/${this.o.self}/${randomBytes(8).toString('hex')}`;
    const client = new LocalPbftClient({
      clientId,
      signer: new Ed25519ClientSigner(this.identity),
      clientWindow: protocolConfig(this.cluster).clientWindow,
      maxOutstanding: this.o.maxOutstanding ?? 1024,
      retransmitTimeoutMs: this.o.retransmitTimeoutMs ?? 500,
      clock: systemClock,
      toHome: (bytes) => this.node.submitLocal(bytes),
      toPeers: (bytes) => this.peers.broadcast(bytes),
      homeIsPrimary: () => this.node.isActivePrimary(),
    });
    this.node.attachLocalClient(clientId, (bytes) => client.onReply(bytes));
    this.client = client;
    this.state = 'running';
    // the current leader (later ones come with view changes): CART's contact hints point there
    const view = this.node.metrics()?.view ?? 0n;
    this.emit({ kind: 'leader', leader: Number(view % BigInt(this.cluster.replicas.length)) });
  }

  submit(request: Uint8Array): Promise<void> {
    if (this.state !== 'running' || !this.client) return Promise.reject(new PbftAdapterError(`adapter is ${this.state}`));
    const max = protocolConfig(this.cluster).maxRequestBytes;
    if (request.length > max) return Promise.reject(new PbftAdapterError(`request of ${request.length} bytes exceeds ${max}`));
    return this.client.invoke(request).then(() => undefined);
  }

  onEvent(listener: (event: AdapterEvent) => void): void {
    this.listeners.push(listener);
  }

  /** PBFT core counters (view, executed, drops by reason). */
  metrics(): PbftMetrics | undefined {
    return this.node.metrics();
  }

  /** Runtime counters: client endpoint, replica mesh (drops by reason), native client. */
  stats(): { node: PbftNodeStats; net: PeerNetworkStats; client: LocalPbftClientStats | undefined } {
    return { node: this.node.stats(), net: this.peers.stats(), client: this.client?.stats() };
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.client?.close();
    await this.node.close();
  }

  private emit(...events: AdapterEvent[]): void {
    for (const e of events)
      for (const l of this.listeners) {
        try {
          l(e);
        } catch (err) {
          this.o.logger?.warn({ err: String(err) }, 'adapter event listener threw');
        }
      }
  }
}

/**
 * Home replica (0-based id) of an adapter client id `cart/<replica id>/<suffix>`, or undefined
 * for any other id or an id naming no replica of an `n`-replica cluster.
 */
export function cartClientHome(clientId: string, n: number): number | undefined {
  const m = /^cart\/(\d{1,4})\//.exec(clientId);
  if (!m) return undefined;
  const id = Number(m[1]);
  return id < n ? id : undefined;
}

/**
 * A {@link PbftAdapter} from files: the cluster config JSON and this replica's key file.
 * @throws {ConfigError} for an invalid config; {@link NetError} for a bad key
 */
export function loadPbftAdapter(o: { configPath: string; self: number; keyPath: string } & Omit<PbftAdapterOptions, 'self' | 'cluster' | 'identity'>): PbftAdapter {
  const { configPath, keyPath, ...rest } = o;
  return new PbftAdapter({ ...rest, cluster: loadClusterConfig(configPath), identity: loadPrivateKeyFile(keyPath) });
}
