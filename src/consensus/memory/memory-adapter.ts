/**
 * One simulated replica's consensus adapter over a shared {@link MemorySequencer}: delivers the
 * sequencer's log in order to its {@link ApplicationProxy}, catching up by state transfer when the
 * log was truncated. See `sequencer.ts` for the behaviour of the whole.
 */
import type { AdapterEvent, ApplicationProxy, ConsensusAdapter } from '../adapter.ts';
import { AdapterStoppedError, ReplicaIndexError, StateTransferUnavailableError } from './errors.ts';
import type { MemorySequencer } from './sequencer.ts';

/**
 * One replica's view of a {@link MemorySequencer}; implements {@link ConsensusAdapter}.
 * Created by {@link MemorySequencer.adapter}.
 */
export class MemoryAdapter implements ConsensusAdapter {
  readonly protocol = 'memory';
  private proxy: ApplicationProxy | undefined;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private pumpScheduled = false;
  private failed = false;
  private waitingForSource = false;
  private readonly listeners: Array<(event: AdapterEvent) => void> = [];
  /** Sequence number of the last batch applied (or restored) at this replica. */
  applied: bigint;

  /** @internal use {@link MemorySequencer.adapter}. */
  constructor(
    private readonly sequencer: MemorySequencer,
    /** 0-based replica index. */
    readonly replica: number,
    resumeFrom: bigint,
  ) {
    this.applied = resumeFrom;
  }

  /** True while started and not stopped. */
  get isRunning(): boolean {
    return this.state === 'running';
  }

  /** @internal */
  get canServeSnapshot(): boolean {
    return this.state === 'running' && !this.failed && this.proxy !== undefined;
  }

  /**
   * Attach to the sequencer and begin delivering batches after `resumeFrom` to `proxy`.
   * @throws {ReplicaIndexError} if started twice, restarted after stop, or the slot is taken.
   */
  async start(proxy: ApplicationProxy): Promise<void> {
    if (this.state !== 'new') throw new ReplicaIndexError(`adapter of replica ${this.replica} cannot be started twice; create a new one`);
    this.sequencer.attach(this);
    this.proxy = proxy;
    this.state = 'running';
    this.schedule();
  }

  /**
   * Submit a request for ordering; resolves once it is ordered (has a sequence number).
   * @throws {AdapterStoppedError} (rejection) if this adapter is not running.
   * @throws {RequestTooLargeError} (rejection) if the request exceeds `maxRequestBytes`.
   */
  submit(request: Uint8Array): Promise<void> {
    if (this.state !== 'running') return Promise.reject(new AdapterStoppedError(this.replica));
    return this.sequencer.enqueue(request);
  }

  /** Subscribe to `state-transfer` and `error` events. */
  onEvent(listener: (event: AdapterEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Detach from the sequencer; no more deliveries. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.sequencer.detach(this);
  }

  /** @internal Ensure a delivery turn is scheduled. */
  schedule(): void {
    if (this.pumpScheduled || this.state !== 'running' || this.failed) return;
    if (this.applied >= this.sequencer.lastSequence) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const proxy = this.proxy;
    if (this.state !== 'running' || proxy === undefined) return;
    for (let n = 0; n < this.sequencer.deliverPerTurn && this.state === 'running'; n++) {
      const next = this.applied + 1n;
      if (next > this.sequencer.lastSequence) break;
      const batch = this.sequencer.batchAt(next);
      if (batch === undefined) {
        if (!this.stateTransfer(proxy)) return;
        continue;
      }
      try {
        proxy.executeBatch(batch);
      } catch (err) {
        // The proxy contract says executeBatch never throws; if it does, the replica's state is
        // unknown. Report it and stop delivering rather than diverge silently.
        this.failed = true;
        this.emit({ kind: 'error', error: asError(err) });
        return;
      }
      this.applied = next;
    }
    this.sequencer.truncate();
    this.schedule();
  }

  /** Install a running replica's snapshot; false if no source is available yet. */
  private stateTransfer(proxy: ApplicationProxy): boolean {
    const source = this.sequencer.snapshotSource(this, this.applied);
    if (source === undefined) {
      if (!this.waitingForSource) {
        this.waitingForSource = true; // reported once per wait, not on every retry
        this.emit({
          kind: 'error',
          error: new StateTransferUnavailableError(`replica ${this.replica} is behind the log (needs ${this.applied + 1n}) and no snapshot source is running`),
        });
      }
      return false; // retried when another replica attaches or the log grows
    }
    this.waitingForSource = false;
    const sequence = source.applied;
    try {
      proxy.restore(source.proxy!.snapshot(), sequence);
    } catch (err) {
      this.failed = true;
      this.emit({ kind: 'error', error: asError(err) });
      return false;
    }
    this.applied = sequence;
    this.emit({ kind: 'state-transfer', sequence });
    return true;
  }

  private emit(event: AdapterEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a listener's failure must not disturb delivery
      }
    }
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
