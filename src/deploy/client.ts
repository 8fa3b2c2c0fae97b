/**
 * Connect a CART client from a deployment's PUBLIC files only (`cluster.json` and the public key
 * file it names): replica client endpoints + group public keys. No secrets are read.
 */
import { connect, type CartClient, type CartClientOptions, type SignatureVerifier } from '../client/index.ts';
import { loadPublicKeyFile, loadThresholdBls } from '../crypto/index.ts';
import { loadClusterConfig, relativeTo } from './config.ts';

let fast: Promise<SignatureVerifier> | undefined;

/**
 * The fastest BLS verifier on Node (the wasm backend, `src/crypto/backend-mcl.ts`), loaded once
 * per process. The client's default is the portable pure-JS verifier, which is ~3x slower.
 */
export function nodeSignatureVerifier(): Promise<SignatureVerifier> {
  fast ??= loadThresholdBls().then((bls) => ({ verify: (pk, d, m, s) => bls.verify(pk, d, m, s) }));
  return fast;
}

/**
 * Open a client to the cluster described by `clusterFile`.
 * @param overrides any {@link CartClientOptions} except the replicas and key sets
 * @throws {DeployConfigError} / key-file errors for bad files
 */
export async function connectToCluster(clusterFile: string, overrides: Omit<CartClientOptions, 'replicas' | 'publicKeySets' | 'groupPublicKey'> = {}): Promise<CartClient> {
  const cluster = await loadClusterConfig(clusterFile);
  const publicKeySets = await loadPublicKeyFile(relativeTo(clusterFile, cluster.publicKeyFile));
  const verifier = overrides.verifier ?? (await nodeSignatureVerifier());
  return connect({ ...overrides, verifier, replicas: cluster.replicas.map((r) => ({ host: r.host, port: r.clientPort })), publicKeySets });
}
