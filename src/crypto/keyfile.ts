/**
 * Key files (documented in docs/crypto.md §Key files). JSON, hex-encoded bytes:
 *
 * - public file `cart-public.json` (safe to hand to clients):
 *   `{ format: 'cart-public-keys', version: 1, ciphersuite, signatureGroup: 'G1', dsts: {domain: DST},
 *      replicas: n, faults: f, keySets: [PublicKeySetJson] }`
 * - one secret file per replica `replica-<i>.secret.json`, mode 0600:
 *   `{ format: 'cart-secret-keys', version: 1, ciphersuite, replica: i, faults: f,
 *      shares: [{ keySet, index: i, secret: hex32 }], keySets: [PublicKeySetJson] }`
 *
 * `PublicKeySetJson = { name, threshold, replicas, groupPublicKey: hex96,
 *    publicKeyShares: hex96[n], commitments: hex96[t] }`.
 *
 * The JSON (de)serialisation without Node modules lives in `keyset-json.ts`.
 * Loading validates everything: every point (infinity, on-curve, subgroup), shapes, C_0 = P,
 * public key shares against the Feldman commitments, and each secret share against them.
 */
import { chmod, mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkKeyShare, dealKeySets, defaultKeySetSpecs, SecretKeyShare } from './dealer.ts';
import { fromHex, toHex } from './encoding.ts';
import { CryptoError, InvalidThresholdError, KeyFileError } from './errors.ts';
import { checkKeyFileHeader, parseKeySets, publicKeySetToJson } from './keyset-json.ts';
import { CIPHERSUITE, CIPHERSUITE_IDS, SIGNATURE_GROUP, SUITE_VERSION } from './suite.ts';
import type { RandomBytes } from './threshold.ts';
import type { KeyShare, PublicKeySet } from './types.ts';

/** File name of the public key file inside the output directory. */
export const PUBLIC_FILE_NAME = 'cart-public.json';
/** File name of replica i's secret file. */
export function secretFileName(replica: number): string {
  return `replica-${replica}.secret.json`;
}

/** Options of {@link writeKeyFiles}. */
export interface WriteKeyFilesOptions {
  /** Replace existing key files (default false: refuse). */
  readonly overwrite?: boolean;
  /** Random source for dealing (tests only). */
  readonly randomBytes?: RandomBytes;
}

async function writeFileAtomic(path: string, data: string, mode: number, overwrite: boolean): Promise<void> {
  if (!overwrite) {
    const exists = await stat(path).then(() => true, () => false);
    if (exists) throw new KeyFileError(`${path} exists (use overwrite / --force to replace it)`);
  }
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, mode); // the open() mode is filtered by the umask
  await rename(tmp, path);
}

/**
 * Deals the default key sets ('ordered' t = f+1, 'readonly' t = 2f+1) for n ≥ 3f+1 replicas and
 * writes the public file and n secret files (mode 0600) into `dir` (created with mode 0700).
 * @throws InvalidThresholdError (n < 3f+1, f < 0), KeyFileError (existing files, I/O errors)
 */
export async function writeKeyFiles(
  dir: string,
  n: number,
  f: number,
  opts: WriteKeyFilesOptions = {},
): Promise<{ publicFile: string; secretFiles: string[] }> {
  if (!Number.isSafeInteger(f) || f < 0) throw new InvalidThresholdError(`faults f = ${String(f)} must be an integer ≥ 0`);
  if (!Number.isSafeInteger(n) || n < 3 * f + 1) throw new InvalidThresholdError(`replicas n = ${String(n)} must be ≥ 3f+1 = ${3 * f + 1}`);
  const { publicKeySets, shares } = dealKeySets(n, defaultKeySetSpecs(f), opts.randomBytes ? { randomBytes: opts.randomBytes } : {});
  const keySets = publicKeySets.map(publicKeySetToJson);
  const overwrite = opts.overwrite ?? false;
  if (!overwrite) {
    for (const name of [PUBLIC_FILE_NAME, ...Array.from({ length: n }, (_, k) => secretFileName(k + 1))]) {
      const exists = await stat(join(dir, name)).then(() => true, () => false);
      if (exists) throw new KeyFileError(`${join(dir, name)} exists (use overwrite / --force to replace it)`);
    }
  }
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const publicFile = join(dir, PUBLIC_FILE_NAME);
    const pub = {
      format: 'cart-public-keys',
      version: SUITE_VERSION,
      ciphersuite: CIPHERSUITE,
      signatureGroup: SIGNATURE_GROUP,
      dsts: CIPHERSUITE_IDS,
      replicas: n,
      faults: f,
      keySets,
    };
    await writeFileAtomic(publicFile, JSON.stringify(pub, null, 2) + '\n', 0o644, overwrite);
    const secretFiles: string[] = [];
    for (let i = 1; i <= n; i++) {
      const path = join(dir, secretFileName(i));
      const sec = {
        format: 'cart-secret-keys',
        version: SUITE_VERSION,
        ciphersuite: CIPHERSUITE,
        replica: i,
        faults: f,
        shares: shares[i - 1]!.map((s) => ({ keySet: s.keySet, index: s.index, secret: toHex(s.secret) })),
        keySets,
      };
      await writeFileAtomic(path, JSON.stringify(sec, null, 2) + '\n', 0o600, overwrite);
      secretFiles.push(path);
    }
    return { publicFile, secretFiles };
  } catch (e) {
    if (e instanceof CryptoError) throw e;
    throw new KeyFileError(`cannot write key files to ${dir}: ${(e as Error).message}`, { cause: e });
  }
}

async function readJson(path: string, format: 'cart-public-keys' | 'cart-secret-keys'): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new KeyFileError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new KeyFileError(`${path}: not JSON`, { cause: e });
  }
  return checkKeyFileHeader(j, format, path);
}

/**
 * Reads and fully validates a public key file.
 * @returns the key sets in file order.
 * @throws KeyFileError (with `cause` = the point/shape error, if any)
 */
export async function loadPublicKeyFile(path: string): Promise<PublicKeySet[]> {
  return parseKeySets(path, await readJson(path, 'cart-public-keys'));
}

/**
 * Reads a replica's secret file: refuses files readable by group/others (like ssh), validates
 * the public key sets, and checks every key share against its Feldman commitments.
 * @throws KeyFileError
 */
export async function loadSecretKeyFile(path: string): Promise<{ replica: number; shares: KeyShare[]; publicKeySets: PublicKeySet[] }> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new KeyFileError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new KeyFileError(`${path}: secret key file is accessible by group/others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  }
  const o = await readJson(path, 'cart-secret-keys');
  const replica = o.replica;
  if (!Number.isSafeInteger(replica) || (replica as number) < 1) throw new KeyFileError(`${path}: bad replica index`);
  const publicKeySets = parseKeySets(path, o);
  if (!Array.isArray(o.shares) || o.shares.length === 0) throw new KeyFileError(`${path}: no shares`);
  const shares: KeyShare[] = [];
  for (const raw of o.shares as unknown[]) {
    const s = raw as Record<string, unknown>;
    if (s === null || typeof s !== 'object' || typeof s.keySet !== 'string' || s.index !== replica) {
      throw new KeyFileError(`${path}: share entries need keySet and index = replica (${String(replica)})`);
    }
    const ks = publicKeySets.find((k) => k.name === s.keySet);
    if (ks === undefined) throw new KeyFileError(`${path}: share for unknown key set ${JSON.stringify(s.keySet)}`);
    try {
      const share = new SecretKeyShare(s.keySet, replica as number, fromHex(s.secret, 32, 'secret'));
      checkKeyShare(ks, share);
      shares.push(share);
    } catch (e) {
      if (e instanceof CryptoError) throw new KeyFileError(`${path}: key share ${s.keySet}: ${e.message}`, { cause: e });
      throw e;
    }
  }
  return { replica: replica as number, shares, publicKeySets };
}

export { publicKeySetFromJson, publicKeySetToJson, parsePublicKeyFile, type PublicKeySetJson } from './keyset-json.ts';
