/**
 * In-memory reference consensus adapter: see {@link MemorySequencer}.
 *
 * ```ts
 * const seq = new MemorySequencer({ replicas: 4, batchSize: 8 });
 * const adapters = [0, 1, 2, 3].map((i) => seq.adapter(i));
 * await adapters[0].start(proxy0); // ... one ApplicationProxy per replica
 * await adapters[0].submit(bytes);   // ordered, then delivered to every running replica
 * ```
 */
export { MemorySequencer, MemoryAdapter } from './sequencer.ts';
export type { MemorySequencerOptions, MemoryAdapterOptions } from './sequencer.ts';
export {
  MemoryConsensusError,
  AdapterStoppedError,
  RequestTooLargeError,
  ReplicaIndexError,
  StateTransferUnavailableError,
} from './errors.ts';
