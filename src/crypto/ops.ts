/**
 * The operations a {@link CryptoService} can run, as plain serialisable messages, and their
 * single synchronous executor (used in-thread and inside worker threads alike). Typed errors
 * cross the thread boundary as {@link WireError} and are rebuilt into the same classes.
 */
import { threadId } from 'node:worker_threads';
import {
  BackendError,
  CryptoError,
  DuplicateSignerError,
  InfinityPointError,
  InsufficientSharesError,
  InvalidPointError,
  InvalidScalarError,
  InvalidThresholdError,
  KeyFileError,
  MalformedEncodingError,
  MerkleError,
  SignerIndexError,
  WrongKeySetError,
} from './errors.ts';
import type { BatchItem, CombineAndVerifyResult, Domain, KeyShare, PublicKeySet, SignatureShare, ThresholdBls } from './types.ts';

/** One request to the crypto executor. */
export type CryptoOp =
  | { op: 'ping' }
  | { op: 'signShare'; share: KeyShare; domain: Domain; message: Uint8Array }
  | { op: 'verifyShare'; keySet: PublicKeySet; domain: Domain; message: Uint8Array; share: SignatureShare }
  | { op: 'combine'; keySet: PublicKeySet; shares: readonly SignatureShare[] }
  | { op: 'verify'; groupPublicKey: Uint8Array; domain: Domain; message: Uint8Array; signature: Uint8Array }
  | { op: 'batchVerify'; items: readonly BatchItem[] }
  | { op: 'findBadShares'; keySet: PublicKeySet; domain: Domain; message: Uint8Array; shares: readonly SignatureShare[] }
  | { op: 'combineAndVerify'; keySet: PublicKeySet; domain: Domain; message: Uint8Array; shares: readonly SignatureShare[] }
  | { op: 'many'; ops: readonly CryptoOp[] };

/** A typed error flattened for postMessage. */
export interface WireError {
  readonly name: string;
  readonly code: string;
  readonly message: string;
  readonly index?: number;
  readonly have?: number;
  readonly need?: number;
}

/** Envelope returned by the executor: never throws for CryptoErrors. */
export type OpResult = { ok: true; value: unknown } | { ok: false; error: WireError };

/** Result of the 'ping' op: which thread and backend served it. */
export interface PingResult {
  readonly threadId: number;
  readonly backend: string;
}

/**
 * Optimistic combination: combine, verify; only on failure verify each share, drop the bad
 * ones (and duplicate indices) and recombine (SBFT, Gueta et al. DSN 2019, §V).
 */
export function combineAndVerifySync(
  bls: ThresholdBls,
  keySet: PublicKeySet,
  domain: Domain,
  message: Uint8Array,
  shares: readonly SignatureShare[],
): CombineAndVerifyResult {
  try {
    const signature = bls.combine(keySet, shares);
    if (bls.verify(keySet.groupPublicKey, domain, message, signature)) return { signature, badShares: [] };
  } catch (e) {
    if (!(e instanceof CryptoError)) throw e;
    if (e instanceof InvalidThresholdError || e instanceof WrongKeySetError) {
      return { error: 'invalid-input', badShares: [], message: e.message };
    }
  }
  const badShares = bls.findBadShares(keySet, domain, message, shares);
  const bad = new Set(badShares);
  const byIndex = new Map<number, SignatureShare>();
  for (const s of shares) if (!bad.has(s.index) && !byIndex.has(s.index)) byIndex.set(s.index, s);
  const good = [...byIndex.values()];
  if (good.length < keySet.threshold) {
    return { error: 'insufficient-valid-shares', badShares, message: `${good.length} valid shares, threshold ${keySet.threshold}` };
  }
  try {
    const signature = bls.combine(keySet, good);
    if (bls.verify(keySet.groupPublicKey, domain, message, signature)) return { signature, badShares };
    return { error: 'invalid-input', badShares, message: 'valid shares combined to an invalid signature (inconsistent key set)' };
  } catch (e) {
    if (!(e instanceof CryptoError)) throw e;
    return { error: 'invalid-input', badShares, message: e.message };
  }
}

/** Runs one op synchronously; CryptoErrors become `{ ok: false }`, anything else is rethrown. */
export function runOp(bls: ThresholdBls, req: CryptoOp): OpResult {
  try {
    return { ok: true, value: runOpUnchecked(bls, req) };
  } catch (e) {
    if (e instanceof CryptoError) return { ok: false, error: toWireError(e) };
    throw e;
  }
}

function runOpUnchecked(bls: ThresholdBls, req: CryptoOp): unknown {
  switch (req.op) {
    case 'ping':
      return { threadId, backend: bls.backend } satisfies PingResult;
    case 'signShare':
      return bls.signShare(req.share, req.domain, req.message);
    case 'verifyShare':
      return bls.verifyShare(req.keySet, req.domain, req.message, req.share);
    case 'combine':
      return bls.combine(req.keySet, req.shares);
    case 'verify':
      return bls.verify(req.groupPublicKey, req.domain, req.message, req.signature);
    case 'batchVerify':
      return bls.batchVerify(req.items);
    case 'findBadShares':
      return bls.findBadShares(req.keySet, req.domain, req.message, req.shares);
    case 'combineAndVerify':
      return combineAndVerifySync(bls, req.keySet, req.domain, req.message, req.shares);
    case 'many':
      return req.ops.map((o) => runOp(bls, o));
    default:
      throw new TypeError(`unknown crypto op ${JSON.stringify((req as { op: unknown }).op)}`);
  }
}

/** Flattens a CryptoError for postMessage. */
export function toWireError(e: CryptoError): WireError {
  const x = e as CryptoError & { index?: number; have?: number; need?: number };
  return {
    name: e.name,
    code: e.code,
    message: e.message,
    ...(x.index !== undefined ? { index: x.index } : {}),
    ...(x.have !== undefined ? { have: x.have, need: x.need } : {}),
  };
}

/** Rebuilds the typed error class from a {@link WireError}. */
export function fromWireError(w: WireError): CryptoError {
  let e: CryptoError;
  switch (w.code) {
    case 'MALFORMED_ENCODING': e = new MalformedEncodingError(w.message); break;
    case 'INVALID_POINT': e = new InvalidPointError(w.message); break;
    case 'INFINITY_POINT': e = new InfinityPointError(w.message); break;
    case 'DUPLICATE_SIGNER': e = new DuplicateSignerError(w.index ?? Number.NaN); break;
    case 'SIGNER_INDEX': e = new SignerIndexError(w.index ?? Number.NaN); break;
    case 'INSUFFICIENT_SHARES': e = new InsufficientSharesError(w.have ?? 0, w.need ?? 0); break;
    case 'WRONG_KEY_SET': e = new WrongKeySetError(w.message); break;
    case 'INVALID_THRESHOLD': e = new InvalidThresholdError(w.message); break;
    case 'INVALID_SCALAR': e = new InvalidScalarError(w.message); break;
    case 'KEY_FILE': e = new KeyFileError(w.message); break;
    case 'BACKEND': e = new BackendError(w.message); break;
    case 'MERKLE': e = new MerkleError(w.message); break;
    default: e = new CryptoError('BACKEND', w.message);
  }
  e.message = w.message;
  return e;
}
