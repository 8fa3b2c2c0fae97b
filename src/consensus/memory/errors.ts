/**
 * Typed errors of the in-memory reference consensus adapter.
 */

/** Base class of every error raised by `src/consensus/memory/`. */
export class MemoryConsensusError extends Error {
  override readonly name: string = 'MemoryConsensusError';
}

/** `submit` was called on an adapter that is not started or was stopped. */
export class AdapterStoppedError extends MemoryConsensusError {
  override readonly name = 'AdapterStoppedError';
  constructor(replica: number) {
    super(`memory adapter of replica ${replica} is not running`);
  }
}

/** A submitted request exceeds {@link MemorySequencerOptions.maxRequestBytes}. */
export class RequestTooLargeError extends MemoryConsensusError {
  override readonly name = 'RequestTooLargeError';
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`request of ${size} bytes exceeds the limit of ${limit} bytes`);
  }
}

/** A replica index is out of range or already attached. */
export class ReplicaIndexError extends MemoryConsensusError {
  override readonly name = 'ReplicaIndexError';
}

/**
 * A replica cannot catch up: the log prefix it needs was truncated and no running replica can
 * provide a snapshot (state transfer impossible right now; it is retried on the next batch).
 */
export class StateTransferUnavailableError extends MemoryConsensusError {
  override readonly name = 'StateTransferUnavailableError';
}
