/**
 * CART over etcd (issue 7): a local etcd cluster launcher and the etcd consensus adapter.
 *
 * ```ts
 * const cluster = await startEtcdCluster({ members: 3 });
 * const adapter = createEtcdAdapter({ endpoints: cluster.endpoints, replicaId: 0, stateDir, snapshotQuorum: f + 1 });
 * await adapter.start(proxy);        // proxy: CART's ApplicationProxy
 * await adapter.submit(requestBytes); // ordered by etcd, delivered to every replica's proxy
 * await adapter.stop(); await cluster.close();
 * ```
 * See `docs/etcd.md` for guarantees and the key layout.
 */
export { startEtcdCluster, assertEtcdInstalled } from './cluster.ts';
export type { EtcdCluster, EtcdClusterOptions } from './cluster.ts';
export { createEtcdAdapter, EtcdAdapter } from './adapter.ts';
export { configureEtcdAuth } from './auth.ts';
export type { EtcdAuthOptions, EtcdAuthSetup, EtcdCredentials } from './auth.ts';
export type { EtcdAdapterOptions, EtcdAdapterStats } from './adapter.ts';
export {
  EtcdConsensusError,
  EtcdNotInstalledError,
  EtcdStartError,
  EtcdAdapterStoppedError,
  EtcdRequestTooLargeError,
  EtcdSubmitError,
  EtcdDecodeError,
  EtcdStateTransferUnavailableError,
  EtcdStaleStateError,
} from './errors.ts';
