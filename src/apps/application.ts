/**
 * The replicated application interface: any deterministic state machine served by CART.
 *
 * Determinism (Schneider, "Implementing Fault-Tolerant Services Using the State Machine
 * Approach", ACM CSUR 1990): the same operations in the same order from the same state give
 * byte-identical results and snapshots at every replica. No clocks, randomness, or iteration
 * over unordered containers in results or snapshots.
 */
export interface Application {
  /** Short name, e.g. `"kv"` or `"counter"`. */
  readonly name: string;
  /**
   * Execute an ordered operation (may change state). Operation and result are opaque bytes in
   * the application's own encoding. Must not throw: a malformed operation returns an error
   * result in the application's encoding.
   */
  execute(operation: Uint8Array): Uint8Array;
  /**
   * Execute a read-only operation against the current state without changing it. Returns
   * `undefined` if the operation is not read-only (the caller then orders it instead).
   */
  executeReadOnly(operation: Uint8Array): Uint8Array | undefined;
  /** Deterministic serialisation of the whole state. */
  snapshot(): Uint8Array;
  /**
   * Replace the state by a snapshot from {@link snapshot}.
   * @throws {Error} on malformed bytes; state is then left unchanged.
   */
  restore(snapshot: Uint8Array): void;
}
