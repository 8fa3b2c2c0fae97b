/**
 * Start one CART replica from its deployment files (`replica-<i>.json` + `cluster.json` + key
 * files): the application, the consensus adapter named in `cluster.json`, the authenticated
 * share-exchange mesh, the crypto worker pool, the CART handler, and an HTTP endpoint serving
 * Prometheus `/metrics` and a JSON `/status`. This is what `cart replica --config FILE` runs.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { pino, type Logger } from 'pino';
import type { AdapterEvent, ConsensusAdapter } from '../consensus/adapter.ts';
import { createApplication } from '../apps/index.ts';
import { createCryptoService, loadPublicKeyFile, loadSecretKeyFile } from '../crypto/index.ts';
import { createPublicKey } from 'node:crypto';
import { TcpPeerNetwork, importIdentityPrivateKey, rawPublicKey } from '../net/index.ts';
import { startCartReplica, type CartReplica } from '../replica/server.ts';
import type { ByzantineOptions } from '../replica/share-exchange.ts';
import { autoCryptoWorkers, DeployConfigError, loadReplicaConfig, relativeTo, type ClusterConfig } from './config.ts';

/** Options of {@link runReplica}. */
export interface RunReplicaOptions {
  /** Path of `replica-<i>.json`. */
  readonly configFile: string;
  /** pino level for the structured log on stderr (default `info`). */
  readonly logLevel?: string;
  /** Make this replica Byzantine (demo and tests only). */
  readonly byzantine?: ByzantineOptions;
  /** Called for each adapter event (view changes, leader, state transfer). */
  readonly onEvent?: (event: AdapterEvent) => void;
}

/** A running replica process's parts. */
export interface RunningReplica {
  readonly index: number;
  readonly cluster: ClusterConfig;
  readonly replica: CartReplica;
  readonly status: () => ReplicaStatus;
  close(): Promise<void>;
}

/** JSON served on `/status`. */
export interface ReplicaStatus {
  readonly index: number;
  readonly protocol: string;
  /** Current view / term as reported by the adapter ('0' until the first report). */
  readonly view: string;
  /** Leader's replica index 1..n if the adapter reports one. */
  readonly leader: number | null;
  readonly clientAddress: { host: string; port: number };
  /** Sequence (protocol position) of the last ordered batch executed here (decimal string). */
  readonly lastSequence: string;
  readonly uptimeMs: number;
}

async function createAdapter(cluster: ClusterConfig, clusterPath: string, index: number, identityKey: string, log: Logger): Promise<ConsensusAdapter> {
  const c = cluster.consensus;
  const netLog = {
    debug: (o: object, m?: string) => log.debug(o, m),
    info: (o: object, m?: string) => log.info(o, m),
    warn: (o: object, m?: string) => log.warn(o, m),
  };
  switch (c.protocol) {
    case 'pbft': {
      const { parseClusterConfig } = await import('../consensus/pbft/config.ts');
      const { PbftAdapter } = await import('../consensus/pbft/adapter.ts');
      return new PbftAdapter({ self: index - 1, cluster: parseClusterConfig(c.pbft), identity: identityKey, logger: netLog as never });
    }
    case 'etcd': {
      const { createEtcdAdapter } = await import('../consensus/etcd/index.ts');
      return createEtcdAdapter({
        endpoints: c.etcd.endpoints,
        replicaId: index,
        ...(c.etcd.prefix ? { prefix: c.etcd.prefix } : {}),
        ...(c.etcd.stateDir ? { stateDir: relativeTo(clusterPath, c.etcd.stateDir) } : {}),
        snapshotQuorum: cluster.f + 1,
      });
    }
    case 'bftsmart': {
      const { createBftSmartAdapter } = await import('../consensus/bftsmart/index.ts');
      return createBftSmartAdapter({
        home: c.bftsmart.home,
        replicaId: index - 1,
        workDir: join(relativeTo(clusterPath, c.bftsmart.workDir), `replica-${index}`),
        logger: log,
      });
    }
  }
}

/** The identity private key must belong to this replica's public key in cluster.json. */
function checkIdentity(file: string, privateKeyB64: string, publicKeyB64: string, index: number): void {
  let mine: string;
  try {
    mine = rawPublicKey(createPublicKey(importIdentityPrivateKey(privateKeyB64))).toString('base64');
  } catch (e) {
    throw new DeployConfigError(`${file}: identityKey is not a valid Ed25519 private key (${(e as Error).message})`);
  }
  if (mine !== publicKeyB64) throw new DeployConfigError(`${file}: identityKey does not belong to replica ${index}'s publicKey in cluster.json`);
}

/**
 * Start the replica described by `options.configFile`.
 * @throws {DeployConfigError} for bad or inconsistent files; the adapter's or listener's errors
 */
export async function runReplica(options: RunReplicaOptions): Promise<RunningReplica> {
  const { secret, cluster, clusterPath } = await loadReplicaConfig(options.configFile);
  const index = secret.index;
  // the CART handler adds `replica` to its own log lines; everything else logs through `log`.
  // Synchronous stderr: an async pino destination flushes on exit, and if stderr is a pipe whose
  // reader is gone (the parent `cart cluster`/`cart demo` died of Ctrl-C) that flush retries
  // forever (sonic-boom loops on EPIPE), so the replica never exits. Sync writes fail at once.
  const rootLog = pino({ level: options.logLevel ?? 'info', base: undefined }, pino.destination({ dest: 2, sync: true }));
  const log = rootLog.child({ replica: index });
  const me = cluster.replicas[index - 1]!;
  checkIdentity(options.configFile, secret.identityKey, me.publicKey, index);
  if (cluster.consensus.protocol === 'pbft') {
    const entry = (cluster.consensus.pbft as { replicas?: { id?: number; publicKey?: string }[] }).replicas?.find((r) => r.id === index - 1);
    if (entry?.publicKey !== me.publicKey) throw new DeployConfigError(`${clusterPath}: consensus.pbft.replicas[${index - 1}].publicKey differs from replicas[${index - 1}].publicKey`);
  }
  const keys = await loadSecretKeyFile(relativeTo(options.configFile, secret.blsSecretFile));
  if (keys.replica !== index) {
    throw new DeployConfigError(`${options.configFile}: index ${index} but ${secret.blsSecretFile} holds the key shares of replica ${keys.replica}`);
  }
  // the public key file clients are given must hold the same group public keys as this replica's shares
  const publicFile = relativeTo(clusterPath, cluster.publicKeyFile);
  const published = await loadPublicKeyFile(publicFile).catch((e: Error) => {
    throw new DeployConfigError(`${clusterPath}: publicKeyFile ${publicFile}: ${e.message}`);
  });
  for (const ks of keys.publicKeySets) {
    const p = published.find((x) => x.name === ks.name);
    if (!p || Buffer.compare(Buffer.from(p.groupPublicKey), Buffer.from(ks.groupPublicKey)) !== 0) {
      throw new DeployConfigError(`${publicFile}: key set '${ks.name}' does not match the group public key in ${secret.blsSecretFile}`);
    }
  }
  let application;
  try {
    application = createApplication(cluster.application);
  } catch (e) {
    throw new DeployConfigError(`${clusterPath}: application: ${(e as Error).message}`);
  }
  const adapter = await createAdapter(cluster, clusterPath, index, secret.identityKey, log);
  let view = 0n;
  let leader: number | null = cluster.consensus.protocol === 'pbft' ? 1 : null;
  adapter.onEvent?.((e) => {
    if (e.kind === 'view-change') view = e.view;
    if (e.kind === 'leader') leader = e.leader + 1;
    options.onEvent?.(e);
  });
  const network = new TcpPeerNetwork({
    self: index - 1,
    identity: secret.identityKey,
    peers: cluster.replicas.map((r) => ({ id: r.index - 1, host: r.host, port: r.peerPort, publicKey: r.publicKey })),
  });
  const w = cluster.tuning.cryptoWorkers ?? 'auto';
  const workers = w === 'auto' ? autoCryptoWorkers(availableParallelism(), cluster.replicas.filter((r) => r.host === me.host).length) : w;
  const crypto = await createCryptoService({ workers });
  let replica: CartReplica;
  try {
    replica = await startCartReplica({
      index,
      adapter,
      application,
      keys: { publicKeySets: keys.publicKeySets, shares: keys.shares },
      network,
      listen: { host: me.host, port: me.clientPort },
      crypto,
      logger: rootLog,
      options: {
        ...(cluster.tuning.tentative !== undefined ? { tentative: cluster.tuning.tentative } : {}),
        ...(cluster.tuning.batchSignatures !== undefined ? { batchSignatures: cluster.tuning.batchSignatures } : {}),
        ...(cluster.tuning.readOnly !== undefined ? { readOnly: cluster.tuning.readOnly } : {}),
        ...(cluster.tuning.contactHints !== undefined ? { contactHints: cluster.tuning.contactHints } : {}),
        ...(cluster.tuning.readOnlyBusyThreshold !== undefined ? { readOnlyBusyThreshold: cluster.tuning.readOnlyBusyThreshold } : {}),
        ...(options.byzantine ? { byzantine: options.byzantine } : {}),
      },
    });
  } catch (e) {
    await crypto.close();
    throw e;
  }
  const started = Date.now();
  const status = (): ReplicaStatus => ({
    index,
    protocol: adapter.protocol,
    view: view.toString(),
    leader,
    clientAddress: { ...replica.address },
    lastSequence: replica.proxy.lastSequence.toString(),
    uptimeMs: Date.now() - started,
  });
  let http: Server | undefined;
  if (me.metricsPort !== 0) {
    const srv = createServer((req, res) => {
      if (req.url === '/status') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(status()));
      } else if (req.url === '/metrics') {
        replica.metrics.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': replica.metrics.registry.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(me.metricsPort, me.host, () => resolve());
    });
    http = srv;
  }
  log.info({ client: replica.address, protocol: adapter.protocol, metricsPort: me.metricsPort, byzantine: options.byzantine ?? false }, 'CART replica ready');
  let closed = false;
  return {
    index,
    cluster,
    replica,
    status,
    async close() {
      if (closed) return;
      closed = true;
      http?.close();
      await replica.close();
      await crypto.close();
      log.flush?.();
    },
  };
}
