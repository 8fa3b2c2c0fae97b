/** Typed errors of the CART client. All extend {@link CartClientError}. */

/** Base class of every error the CART client throws or rejects with. */
export class CartClientError extends Error {
  override name = 'CartClientError';
}

/** No verified reply could be obtained from any replica (all attempts failed). */
export class NoQuorumError extends CartClientError {
  override name = 'NoQuorumError';
  constructor(
    message: string,
    /** Attempts made (one per replica contacted). */
    readonly attempts: number,
  ) {
    super(message);
  }
}

/** The invocation's attempts all timed out (a {@link NoQuorumError}). */
export class TimeoutError extends NoQuorumError {
  override name = 'TimeoutError';
}

/** The client was closed before the invocation completed. */
export class ClosedError extends CartClientError {
  override name = 'ClosedError';
  constructor() {
    super('CART client closed');
  }
}

/** The operation exceeds the wire limit for operations. */
export class RequestTooLargeError extends CartClientError {
  override name = 'RequestTooLargeError';
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`operation of ${size} bytes exceeds the limit of ${limit}`);
  }
}

/**
 * At least f+1 distinct replicas (so at least one correct replica) answered the request with
 * the same error code, e.g. STALE_REQUEST or UNSUPPORTED_VERSION.
 */
export class RequestRejectedError extends CartClientError {
  override name = 'RequestRejectedError';
  constructor(
    /** `cart.v1.ErrorCode` value. */
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Invalid client configuration. */
export class ClientConfigError extends CartClientError {
  override name = 'ClientConfigError';
}
