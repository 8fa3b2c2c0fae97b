/**
 * Typed errors of the etcd cluster launcher and the etcd consensus adapter (`src/consensus/etcd/`).
 */

/** Base class of every error raised by `src/consensus/etcd/`. */
export class EtcdConsensusError extends Error {
  override readonly name: string = 'EtcdConsensusError';
}

/** The `etcd` binary could not be found or executed. */
export class EtcdNotInstalledError extends EtcdConsensusError {
  override readonly name = 'EtcdNotInstalledError';
  constructor(readonly binary: string) {
    super(
      `etcd binary "${binary}" not found or not executable; install Debian's etcd-server: ` +
        `apt-get install etcd-server (or pass { binary } / set ETCD_BIN)`,
    );
  }
}

/** An etcd member did not become healthy in time, or exited during start-up. */
export class EtcdStartError extends EtcdConsensusError {
  override readonly name = 'EtcdStartError';
}

/** `submit` was called on an adapter that is not started or was stopped. */
export class EtcdAdapterStoppedError extends EtcdConsensusError {
  override readonly name = 'EtcdAdapterStoppedError';
  constructor(replica: number) {
    super(`etcd adapter of replica ${replica} is not running`);
  }
}

/** A submitted request exceeds `maxRequestBytes`. */
export class EtcdRequestTooLargeError extends EtcdConsensusError {
  override readonly name = 'EtcdRequestTooLargeError';
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`request of ${size} bytes exceeds the limit of ${limit} bytes`);
  }
}

/**
 * Appending a batch of requests to the etcd log failed (etcd unreachable, no leader, timeout).
 * The outcome is ambiguous: the batch may still have been ordered (CART deduplicates).
 */
export class EtcdSubmitError extends EtcdConsensusError {
  override readonly name = 'EtcdSubmitError';
}

/** Bytes read from etcd or from the local state file do not decode (bad log entry, snapshot). */
export class EtcdDecodeError extends EtcdConsensusError {
  override readonly name = 'EtcdDecodeError';
}

/**
 * The revisions this replica needs were compacted and no usable checkpoint (with enough matching
 * digests, newer than the compaction point) is available in etcd yet; retried until one is.
 */
export class EtcdStateTransferUnavailableError extends EtcdConsensusError {
  override readonly name = 'EtcdStateTransferUnavailableError';
}

/** The local checkpoint belongs to another (e.g. wiped and recreated) etcd cluster; it is ignored. */
export class EtcdStaleStateError extends EtcdConsensusError {
  override readonly name = 'EtcdStaleStateError';
}
