/**
 * Client histories for linearizability checking (Herlihy & Wing, "Linearizability: A Correctness
 * Condition for Concurrent Objects", ACM TOPLAS 12(3), 1990, §2).
 *
 * A history is a sequence of invoke and return events. Each completed operation occupies the
 * real-time interval [call, ret]; an operation whose outcome is unknown (the client crashed or
 * gave up, or it returned an error that does not say whether the operation took effect) has no
 * return and may take effect at any point after its invocation — or never. Times are numbers in
 * any monotonic unit (the simulator uses simulated milliseconds); only their order matters.
 */

/** Thrown for malformed histories (return without invoke, duplicate ids, time going backwards). */
export class HistoryError extends Error {
  override readonly name = 'HistoryError';
  /** Machine-readable reason. */
  readonly reason: 'duplicate-invoke' | 'unknown-return' | 'duplicate-return' | 'time-order' | 'bad-time';
  constructor(reason: HistoryError['reason'], message: string) {
    super(message);
    this.reason = reason;
  }
}

/** An invocation: client `client` starts operation `id` (unique per client) with input `input`. */
export interface InvokeEvent<I> {
  readonly type: 'invoke';
  readonly client: string;
  /** Operation id, unique per client (e.g. the CART request id). */
  readonly id: string;
  readonly input: I;
  readonly time: number;
}

/**
 * The response to an invocation. `output === undefined` means the outcome is unknown (an error
 * that does not tell whether the operation took effect); the operation is then treated like one
 * that never returned.
 */
export interface ReturnEvent<O> {
  readonly type: 'return';
  readonly client: string;
  readonly id: string;
  readonly output: O | undefined;
  readonly time: number;
}

/** One history event. */
export type HistoryEvent<I, O> = InvokeEvent<I> | ReturnEvent<O>;

/**
 * One operation of a history, the unit the checker works on. `ret === undefined` (and then
 * `output === undefined`) means the operation never returned or its outcome is unknown: it may
 * take effect at any time after `call`, or not at all.
 */
export interface Operation<I, O> {
  readonly client: string;
  readonly id: string;
  readonly input: I;
  readonly output: O | undefined;
  /** Invocation time. */
  readonly call: number;
  /** Return time; `undefined` if the operation never returned or its outcome is unknown. */
  readonly ret: number | undefined;
}

/**
 * Pairs invoke and return events into {@link Operation}s, in invocation order.
 * Events must be given in non-decreasing time order (as recorded).
 * @throws {HistoryError} on a return without invoke, a second return, a duplicate invoke id per
 *   client, a non-finite time, or a return earlier than its invoke / time going backwards.
 */
export function eventsToOperations<I, O>(events: readonly HistoryEvent<I, O>[]): Operation<I, O>[] {
  interface Open {
    client: string;
    id: string;
    input: I;
    call: number;
    output: O | undefined;
    ret: number | undefined;
    returned: boolean;
  }
  const byKey = new Map<string, Open>();
  const order: Open[] = [];
  let last = -Infinity;
  for (const e of events) {
    if (!Number.isFinite(e.time)) throw new HistoryError('bad-time', `event time ${e.time} is not finite`);
    if (e.time < last) throw new HistoryError('time-order', `event at ${e.time} recorded after one at ${last}`);
    last = e.time;
    const k = `${e.client.length}:${e.client}/${e.id}`;
    if (e.type === 'invoke') {
      if (byKey.has(k)) throw new HistoryError('duplicate-invoke', `client ${e.client} invoked id ${e.id} twice`);
      const o: Open = { client: e.client, id: e.id, input: e.input, call: e.time, output: undefined, ret: undefined, returned: false };
      byKey.set(k, o);
      order.push(o);
    } else {
      const o = byKey.get(k);
      if (o === undefined) throw new HistoryError('unknown-return', `client ${e.client} returned id ${e.id} never invoked`);
      if (o.returned) throw new HistoryError('duplicate-return', `client ${e.client} returned id ${e.id} twice`);
      o.returned = true;
      if (e.output !== undefined) {
        o.output = e.output;
        o.ret = e.time;
      }
    }
  }
  return order.map((o) => ({ client: o.client, id: o.id, input: o.input, output: o.output, call: o.call, ret: o.ret }));
}

/**
 * Records a history as it happens (used by the simulator's clients). Not thread-safe; one per
 * simulation.
 */
export class HistoryRecorder<I, O> {
  private readonly events: HistoryEvent<I, O>[] = [];

  /** Records an invocation at `time`. */
  invoke(client: string, id: string, input: I, time: number): void {
    this.events.push({ type: 'invoke', client, id, input, time });
  }

  /** Records a return at `time`; `output === undefined` marks an unknown outcome. */
  complete(client: string, id: string, output: O | undefined, time: number): void {
    this.events.push({ type: 'return', client, id, output, time });
  }

  /** The events recorded so far (a copy). */
  history(): HistoryEvent<I, O>[] {
    return this.events.slice();
  }

  /**
   * The recorded operations. @throws {HistoryError} if the recorded events are malformed.
   */
  operations(): Operation<I, O>[] {
    return eventsToOperations(this.events);
  }
}
