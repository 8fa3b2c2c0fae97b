/**
 * Authenticator implementations for the PBFT core.
 *
 * - {@link Ed25519Authenticator}: the real one — Ed25519 (RFC 8032) from `node:crypto`.
 *   Signatures, not per-pair MACs, because PREPAREs, CHECKPOINTs and VIEW-CHANGEs are relayed
 *   inside certificates and must be checkable by third replicas (Castro & Liskov TOCS 2002 §4.4
 *   use signatures for exactly this; the MAC variant needs an extra protocol round, §5.2).
 * - {@link SimAuthenticator}: a fast keyed-hash stand-in for simulations (NOT secure: every
 *   replica's key is derivable from the shared seed). It still rejects wrong-signer and
 *   tampered messages, so simulation tests exercise the same code paths.
 */
import { createHash, createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import type { Authenticator, ClientSigner, ReplicaId } from './api.ts';

/** Options of {@link Ed25519Authenticator}. */
export interface Ed25519AuthenticatorOptions {
  /** This replica's Ed25519 private key. */
  privateKey: KeyObject;
  /** Public keys of all replicas, indexed by replica id (0 … n-1). */
  replicaKeys: readonly KeyObject[];
  /**
   * Client public key lookup. Return `undefined` for an unknown client: it is then accepted
   * iff `allowUnknownClients` (unauthenticated clients; a faulty primary could then forge
   * requests in such a client's name — only for closed deployments such as CART's adapter).
   */
  clientKey?: (clientId: string) => KeyObject | undefined;
  allowUnknownClients?: boolean;
  /**
   * Home replica of a client co-located with a replica (see `Authenticator.clientHome`):
   * requests it relays over its authenticated link skip the client-signature check, and only
   * it answers the client (unsigned, in-process). Return `undefined` for ordinary clients.
   */
  clientHome?: (clientId: string) => ReplicaId | undefined;
}

/** Ed25519 signatures for replica messages; client signature checks per options. */
export class Ed25519Authenticator implements Authenticator {
  constructor(private readonly opts: Ed25519AuthenticatorOptions) {}

  /** See {@link Ed25519AuthenticatorOptions.clientHome}; `undefined` if not configured. */
  clientHome(clientId: string): ReplicaId | undefined {
    return this.opts.clientHome?.(clientId);
  }

  /** Ed25519 signature (64 bytes) over `bytes`. */
  sign(bytes: Uint8Array): Uint8Array {
    return new Uint8Array(edSign(null, bytes, this.opts.privateKey));
  }

  /** False for unknown replica ids, wrong-length or invalid signatures; never throws. */
  verify(replica: ReplicaId, bytes: Uint8Array, sig: Uint8Array): boolean {
    const key = this.opts.replicaKeys[replica];
    if (!key || sig.length !== 64) return false;
    try {
      return edVerify(null, bytes, key, sig);
    } catch {
      return false;
    }
  }

  /** Checks against the client's registered key (see {@link Ed25519AuthenticatorOptions}). */
  verifyClient(clientId: string, bytes: Uint8Array, sig: Uint8Array): boolean {
    const key = this.opts.clientKey?.(clientId);
    if (!key) return this.opts.allowUnknownClients === true;
    if (sig.length !== 64) return false;
    try {
      return edVerify(null, bytes, key, sig);
    } catch {
      return false;
    }
  }
}

/** Ed25519 request signer for a native client. */
export class Ed25519ClientSigner implements ClientSigner {
  constructor(private readonly privateKey: KeyObject) {}
  sign(bytes: Uint8Array): Uint8Array {
    return new Uint8Array(edSign(null, bytes, this.privateKey));
  }
}

function keyedHash(key: string, bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(key).update(bytes).digest()).subarray(0, 16);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Simulation-only authenticator: signature = first 16 bytes of SHA-256(secret ‖ bytes) where
 * the secret is derived from `seed` and the signer. Deterministic and ~100× faster than
 * Ed25519. Insecure by design; never use outside tests/simulations.
 */
export class SimAuthenticator implements Authenticator {
  constructor(
    private readonly seed: string,
    private readonly self: ReplicaId,
    private readonly n: number,
  ) {}
  sign(bytes: Uint8Array): Uint8Array {
    return keyedHash(`${this.seed}/replica/${this.self}`, bytes);
  }
  verify(replica: ReplicaId, bytes: Uint8Array, sig: Uint8Array): boolean {
    if (!Number.isInteger(replica) || replica < 0 || replica >= this.n) return false;
    return equal(sig, keyedHash(`${this.seed}/replica/${replica}`, bytes));
  }
  verifyClient(clientId: string, bytes: Uint8Array, sig: Uint8Array): boolean {
    return equal(sig, keyedHash(`${this.seed}/client/${clientId}`, bytes));
  }
  /** The matching client signer for `clientId`. */
  static clientSigner(seed: string, clientId: string): ClientSigner {
    return { sign: (bytes) => keyedHash(`${seed}/client/${clientId}`, bytes) };
  }
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Deterministic Ed25519 key pair from a 32-byte seed (RFC 8032 §5.1.5 private key = seed).
 * For tests and simulations that need reproducible real signatures; production keys come from
 * `generateKeyPairSync('ed25519')`.
 * @throws {RangeError} if the seed is not 32 bytes
 */
export function ed25519FromSeed(seed: Uint8Array): { privateKey: KeyObject; publicKey: KeyObject } {
  if (seed.length !== 32) throw new RangeError('Ed25519 seed must be 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
