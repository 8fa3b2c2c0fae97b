/**
 * Typed errors of the crypto layer. Every decode failure or API misuse surfaces as one of these
 * classes (never a raw exception from inside a curve library), so callers can drop and count bad
 * input by kind: `err instanceof CryptoError` then `err.code`.
 */

/** Machine-readable error kinds, one per subclass. */
export type CryptoErrorCode =
  | 'MALFORMED_ENCODING'
  | 'INVALID_POINT'
  | 'INFINITY_POINT'
  | 'DUPLICATE_SIGNER'
  | 'SIGNER_INDEX'
  | 'INSUFFICIENT_SHARES'
  | 'WRONG_KEY_SET'
  | 'INVALID_THRESHOLD'
  | 'INVALID_SCALAR'
  | 'KEY_FILE'
  | 'BACKEND'
  | 'MERKLE';

/** Base class of every error thrown by `src/crypto/`. */
export class CryptoError extends Error {
  /** Stable kind of the error (see {@link CryptoErrorCode}). */
  readonly code: CryptoErrorCode;
  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bytes that are not a valid encoding: wrong length, bad flag bits, coordinate ≥ p, bad hex. */
export class MalformedEncodingError extends CryptoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MALFORMED_ENCODING', message, options);
  }
}

/** A well-formed encoding of a point that is not on the curve or not in the prime-order subgroup. */
export class InvalidPointError extends CryptoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_POINT', message, options);
  }
}

/** The point at infinity, which is never a valid signature, signature share or public key. */
export class InfinityPointError extends CryptoError {
  constructor(message: string) {
    super('INFINITY_POINT', message);
  }
}

/** Two signature shares from the same signer index in one combination. */
export class DuplicateSignerError extends CryptoError {
  /** The repeated signer index. */
  readonly index: number;
  constructor(index: number) {
    super('DUPLICATE_SIGNER', `duplicate signer index ${index}`);
    this.index = index;
  }
}

/** A signer index that is not an integer in 1..n. */
export class SignerIndexError extends CryptoError {
  /** The offending index (as given). */
  readonly index: number;
  constructor(index: number, replicas?: number) {
    super('SIGNER_INDEX', `signer index ${String(index)} is not an integer in 1..${replicas ?? 'n'}`);
    this.index = index;
  }
}

/** Fewer than t distinct shares were supplied to a combination. */
export class InsufficientSharesError extends CryptoError {
  constructor(readonly have: number, readonly need: number) {
    super('INSUFFICIENT_SHARES', `have ${have} distinct signature shares, need threshold ${need}`);
  }
}

/** A key share, key set or signature used with a key set it does not belong to. */
export class WrongKeySetError extends CryptoError {
  constructor(message: string) {
    super('WRONG_KEY_SET', message);
  }
}

/** A threshold t that is not an integer with 1 ≤ t ≤ n, or a bad replica count. */
export class InvalidThresholdError extends CryptoError {
  constructor(message: string) {
    super('INVALID_THRESHOLD', message);
  }
}

/** A secret scalar that is not a canonical non-zero element of the scalar field Fr. */
export class InvalidScalarError extends CryptoError {
  constructor(message: string) {
    super('INVALID_SCALAR', message);
  }
}

/** A key file that is unreadable, not the documented JSON format, or inconsistent. */
export class KeyFileError extends CryptoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEY_FILE', message, options);
  }
}

/** A backend that cannot be loaded or is unknown. */
export class BackendError extends CryptoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND', message, options);
  }
}

/** Misuse of the Merkle tree API (empty tree proof, index out of range, malformed proof). */
export class MerkleError extends CryptoError {
  constructor(message: string) {
    super('MERKLE', message);
  }
}
