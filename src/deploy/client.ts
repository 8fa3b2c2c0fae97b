/**
 * Connect a CART client from a deployment's PUBLIC files only (`cluster.json` and the public key
 * file it names): replica client endpoints + group public keys. No secrets are read.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { connect, type CartClient, type CartClientOptions, type SignatureVerifier } from '../client/index.ts';
import { loadPublicKeyFile, loadThresholdBls, type PublicKeySet } from '../crypto/index.ts';
import { DeployConfigError, loadClusterConfig, relativeTo } from './config.ts';

let fast: Promise<SignatureVerifier> | undefined;

/**
 * The fastest BLS verifier on Node (the default backend of `src/crypto/backends.ts`: native blst,
 * falling back to mcl-wasm), loaded once per process. The client's own default is the portable
 * pure-JS verifier (browser-safe), which is about 10x slower.
 */
export function nodeSignatureVerifier(): Promise<SignatureVerifier> {
  fast ??= loadThresholdBls().then((bls) =>
    cachedVerifier({ verify: (pk, d, m, s) => bls.verify(pk, d, m, s), batchVerify: (items) => bls.batchVerify(items) }),
  );
  return fast;
}

/**
 * Share verified signatures among all clients of a process: a bounded cache of successful
 * (group public key, domain, message, signature) checks, and concurrent checks of the same tuple
 * share one pairing check. Failed checks are not cached (a forged signature costs its sender).
 */
export function cachedVerifier(inner: SignatureVerifier, capacity = 4096): SignatureVerifier {
  const ok = new Set<string>();
  const inflight = new Map<string, Promise<boolean>>();
  const key = (pk: Uint8Array, d: string, m: Uint8Array, s: Uint8Array): string =>
    createHash('sha256').update(pk).update(d).update(new Uint8Array([0])).update(m).update(s).digest('base64');
  return {
    ...(inner.batchVerify ? { batchVerify: inner.batchVerify.bind(inner) } : {}),
    verify(pk, d, m, s) {
      const k = key(pk, d, m, s);
      if (ok.has(k)) return true;
      let p = inflight.get(k);
      if (!p) {
        p = Promise.resolve(inner.verify(pk, d, m, s)).then((v) => {
          inflight.delete(k);
          if (v) {
            ok.add(k);
            if (ok.size > capacity) ok.delete(ok.values().next().value as string);
          }
          return v;
        });
        inflight.set(k, p);
      }
      return p;
    },
  };
}

/** Validated public key files by path and content digest (see {@link loadPublicKeysOnce}). */
const publicKeyCache = new Map<string, Promise<PublicKeySet[]>>();

/**
 * {@link loadPublicKeyFile}, validated once per process for the same file content: validating a
 * key set (decoding + subgroup checks + Feldman consistency, pure JS) costs ~0.1 s, which
 * dominated start-up when a process opens many clients (50 bench clients: ~5 s of CPU). The
 * file is re-read every call, so a changed file is validated afresh; failures are not cached.
 * @throws KeyFileError as loadPublicKeyFile
 */
export async function loadPublicKeysOnce(path: string): Promise<PublicKeySet[]> {
  const full = resolvePath(path);
  let digest: string;
  try {
    digest = createHash('sha256').update(await readFile(full)).digest('hex');
  } catch {
    return loadPublicKeyFile(full); // reports the read error in its own terms
  }
  const key = `${full}\0${digest}`;
  let p = publicKeyCache.get(key);
  if (!p) {
    p = loadPublicKeyFile(full);
    publicKeyCache.set(key, p);
    p.catch(() => publicKeyCache.delete(key));
    if (publicKeyCache.size > 64) publicKeyCache.delete(publicKeyCache.keys().next().value as string);
  }
  return p;
}

/**
 * Open a client to the cluster described by `clusterFile`.
 * @param overrides any {@link CartClientOptions} except the replicas and key sets
 * @throws {DeployConfigError} / key-file errors for bad files, or a public key file dealt for
 *   another replica count or f than cluster.json's (files from two different deployments)
 */
export async function connectToCluster(clusterFile: string, overrides: Omit<CartClientOptions, 'replicas' | 'publicKeySets' | 'groupPublicKey'> = {}): Promise<CartClient> {
  const cluster = await loadClusterConfig(clusterFile);
  const keyFile = relativeTo(clusterFile, cluster.publicKeyFile);
  const publicKeySets = await loadPublicKeysOnce(keyFile);
  const n = cluster.replicas.length;
  for (const ks of publicKeySets) {
    const t = ks.name === 'readonly' ? 2 * cluster.f + 1 : ks.name === 'ordered' ? cluster.f + 1 : ks.threshold;
    if (ks.replicas !== n || ks.threshold !== t) {
      throw new DeployConfigError(
        `${keyFile}: key set '${ks.name}' is for n = ${ks.replicas} replicas (threshold ${ks.threshold}) but ${clusterFile} has n = ${n}, f = ${cluster.f} (threshold ${t}): are both files from the same deployment?`,
      );
    }
  }
  const verifier = overrides.verifier ?? (await nodeSignatureVerifier());
  return connect({ ...overrides, verifier, replicas: cluster.replicas.map((r) => ({ host: r.host, port: r.clientPort })), publicKeySets });
}
