/**
 * JSON (de)serialisation of public key sets and of the public key file — no Node modules, so a
 * browser client can validate a public key file it fetched (`verify.ts` re-exports this).
 * File format: docs/crypto.md §Key files.
 */
import { validatePublicKeySet } from './dealer.ts';
import { fromHex, toHex } from './encoding.ts';
import { CryptoError, KeyFileError } from './errors.ts';
import { CIPHERSUITE, SUITE_VERSION } from './suite.ts';
import type { PublicKeySet } from './types.ts';

/** JSON form of a {@link PublicKeySet}. */
export interface PublicKeySetJson {
  name: string;
  threshold: number;
  replicas: number;
  groupPublicKey: string;
  publicKeyShares: string[];
  commitments: string[];
}

/** Hex-encodes a key set for JSON. */
export function publicKeySetToJson(k: PublicKeySet): PublicKeySetJson {
  return {
    name: k.name,
    threshold: k.threshold,
    replicas: k.replicas,
    groupPublicKey: toHex(k.groupPublicKey),
    publicKeyShares: k.publicKeyShares.map(toHex),
    commitments: k.commitments.map(toHex),
  };
}

/**
 * Parses and validates (shape + every point + Feldman consistency) a key set from JSON.
 * @throws KeyFileError (cause: the specific CryptoError)
 */
export function publicKeySetFromJson(j: unknown, checkShares = true): PublicKeySet {
  try {
    if (j === null || typeof j !== 'object') throw new KeyFileError('key set is not an object');
    const o = j as Record<string, unknown>;
    if (typeof o.name !== 'string' || !Number.isSafeInteger(o.threshold) || !Number.isSafeInteger(o.replicas)) {
      throw new KeyFileError('key set needs name, threshold, replicas');
    }
    if (!Array.isArray(o.publicKeyShares) || !Array.isArray(o.commitments)) throw new KeyFileError('key set needs publicKeyShares and commitments arrays');
    const ks: PublicKeySet = Object.freeze({
      name: o.name,
      threshold: o.threshold as number,
      replicas: o.replicas as number,
      groupPublicKey: fromHex(o.groupPublicKey, 96, 'groupPublicKey'),
      publicKeyShares: Object.freeze(o.publicKeyShares.map((h, k) => fromHex(h, 96, `publicKeyShares[${k}]`))),
      commitments: Object.freeze(o.commitments.map((h, k) => fromHex(h, 96, `commitments[${k}]`))),
    });
    validatePublicKeySet(ks, checkShares);
    return ks;
  } catch (e) {
    if (e instanceof KeyFileError) throw e;
    if (e instanceof CryptoError) throw new KeyFileError(`invalid key set: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * Checks the header of a parsed key file (`format`, `version`, `ciphersuite`).
 * @throws KeyFileError
 */
export function checkKeyFileHeader(j: unknown, format: 'cart-public-keys' | 'cart-secret-keys', source: string): Record<string, unknown> {
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new KeyFileError(`${source}: not a JSON object`);
  const o = j as Record<string, unknown>;
  if (o.format !== format) throw new KeyFileError(`${source}: format is ${JSON.stringify(o.format)}, expected ${format}`);
  if (o.version !== SUITE_VERSION) throw new KeyFileError(`${source}: unsupported version ${JSON.stringify(o.version)} (supported: ${SUITE_VERSION})`);
  if (o.ciphersuite !== CIPHERSUITE) throw new KeyFileError(`${source}: unsupported ciphersuite ${JSON.stringify(o.ciphersuite)}`);
  return o;
}

/**
 * Validates the `keySets` array of a parsed key file (every point, Feldman consistency, unique names).
 * @throws KeyFileError
 */
export function parseKeySets(source: string, o: Record<string, unknown>): PublicKeySet[] {
  if (!Array.isArray(o.keySets) || o.keySets.length === 0) throw new KeyFileError(`${source}: no keySets`);
  const sets = o.keySets.map((k) => publicKeySetFromJson(k));
  const names = new Set(sets.map((s) => s.name));
  if (names.size !== sets.length) throw new KeyFileError(`${source}: duplicate key set names`);
  return sets;
}

/**
 * Parses and fully validates the contents of a public key file (already JSON-parsed, or its text).
 * @returns the key sets in file order.
 * @throws KeyFileError
 */
export function parsePublicKeyFile(json: unknown, source = 'public key file'): PublicKeySet[] {
  let j = json;
  if (typeof json === 'string') {
    try {
      j = JSON.parse(json);
    } catch (e) {
      throw new KeyFileError(`${source}: not JSON`, { cause: e });
    }
  }
  return parseKeySets(source, checkKeyFileHeader(j, 'cart-public-keys', source));
}
