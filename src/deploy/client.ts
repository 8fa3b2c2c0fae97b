/**
 * Connect a CART client from a deployment's PUBLIC files only (`cluster.json` and the public key
 * file it names): replica client endpoints + group public keys. No secrets are read.
 */
import { connect, type CartClient, type CartClientOptions } from '../client/index.ts';
import { loadPublicKeyFile } from '../crypto/index.ts';
import { loadClusterConfig, relativeTo } from './config.ts';

/**
 * Open a client to the cluster described by `clusterFile`.
 * @param overrides any {@link CartClientOptions} except the replicas and key sets
 * @throws {DeployConfigError} / key-file errors for bad files
 */
export async function connectToCluster(clusterFile: string, overrides: Omit<CartClientOptions, 'replicas' | 'publicKeySets' | 'groupPublicKey'> = {}): Promise<CartClient> {
  const cluster = await loadClusterConfig(clusterFile);
  const publicKeySets = await loadPublicKeyFile(relativeTo(clusterFile, cluster.publicKeyFile));
  return connect({ ...overrides, replicas: cluster.replicas.map((r) => ({ host: r.host, port: r.clientPort })), publicKeySets });
}
