/**
 * Typed errors of the BFT-SMaRt adapter (`src/consensus/bftsmart/`).
 */

/** Base class of every error raised by `src/consensus/bftsmart/`. */
export class BftSmartError extends Error {
  override readonly name: string = 'BftSmartError';
}

/** The BFT-SMaRt home or the generated configuration is unusable (missing jar, bad replica list). */
export class BftSmartConfigError extends BftSmartError {
  override readonly name = 'BftSmartConfigError';
}

/** `javac` failed to compile the glue; `output` holds its diagnostics. */
export class GlueCompileError extends BftSmartError {
  override readonly name = 'GlueCompileError';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n${output}`);
  }
}

/** A malformed frame on the local glue link (a bug or a foreign process on the port). */
export class GlueProtocolError extends BftSmartError {
  override readonly name = 'GlueProtocolError';
}

/**
 * The glue JVM exited or could not be started. `stderrTail` holds its last stderr lines (the
 * cause is usually there: a Java exception, a port in use, a missing key file).
 */
export class GlueProcessError extends BftSmartError {
  override readonly name = 'GlueProcessError';
  constructor(
    message: string,
    readonly stderrTail: string,
  ) {
    super(stderrTail.length > 0 ? `${message}; last stderr lines:\n${stderrTail}` : message);
  }
}

/** `submit`/`invoke` on an adapter or client that is not running (not started, stopped, restarting). */
export class BftSmartStoppedError extends BftSmartError {
  override readonly name = 'BftSmartStoppedError';
}

/** A request exceeds the configured maximum size (BFT-SMaRt's `system.communication.maxRequestSize`). */
export class BftSmartRequestTooLargeError extends BftSmartError {
  override readonly name = 'BftSmartRequestTooLargeError';
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`request of ${size} bytes exceeds the limit of ${limit} bytes`);
  }
}

/** Too many submissions outstanding, or the local link's send queue is full (back-pressure). */
export class BftSmartOverloadedError extends BftSmartError {
  override readonly name = 'BftSmartOverloadedError';
}

/** BFT-SMaRt did not report the request ordered within the submit timeout. */
export class BftSmartTimeoutError extends BftSmartError {
  override readonly name = 'BftSmartTimeoutError';
}

/** BFT-SMaRt refused a request (e.g. fewer than f+1 replicas connected). */
export class BftSmartRejectedError extends BftSmartError {
  override readonly name = 'BftSmartRejectedError';
}
