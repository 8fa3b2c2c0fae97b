/**
 * Deterministic discrete-event scheduler with a virtual clock (milliseconds). Events at equal
 * times run in scheduling order, so a run is a pure function of its seed and inputs.
 */

/** Handle of a scheduled event, for cancellation. */
export interface EventHandle {
  readonly id: number;
}

interface Ev {
  time: number;
  id: number;
  fn: () => void;
  cancelled: boolean;
}

/** Thrown by {@link Scheduler.runUntil} when an event callback throws (wraps the cause). */
export class SimulationError extends Error {
  override readonly name = 'SimulationError';
}

/** Virtual-time event queue (binary min-heap on (time, id)). */
export class Scheduler {
  private heap: Ev[] = [];
  private nextId = 0;
  private readonly byId = new Map<number, Ev>();
  /** Current virtual time (ms). */
  now = 0;
  /** Number of events executed so far. */
  steps = 0;

  /** Run `fn` at absolute virtual time `time` (≥ now). */
  at(time: number, fn: () => void): EventHandle {
    const ev: Ev = { time: Math.max(time, this.now), id: this.nextId++, fn, cancelled: false };
    this.push(ev);
    this.byId.set(ev.id, ev);
    return { id: ev.id };
  }

  /** Run `fn` after `delayMs` of virtual time. */
  after(delayMs: number, fn: () => void): EventHandle {
    return this.at(this.now + Math.max(0, delayMs), fn);
  }

  /** Cancel a scheduled event (no-op if it already ran). */
  cancel(h: EventHandle): void {
    const ev = this.byId.get(h.id);
    if (ev) {
      ev.cancelled = true;
      this.byId.delete(h.id);
    }
  }

  /** Number of pending (not cancelled) events. */
  get pending(): number {
    return this.byId.size;
  }

  /**
   * Run events in time order until `done()` is true (checked after every event), the queue is
   * empty, virtual time would pass `maxTime`, or `maxSteps` events ran. On `'time'` the clock is
   * advanced to `maxTime`; on `'idle'` it stays at the last event's time.
   * @returns why it stopped
   * @throws {SimulationError} if an event callback throws
   */
  runUntil(done: () => boolean, maxTime: number, maxSteps = Number.MAX_SAFE_INTEGER): 'done' | 'idle' | 'time' | 'steps' {
    if (done()) return 'done';
    for (;;) {
      const ev = this.pop();
      if (!ev) return 'idle';
      if (ev.cancelled) continue;
      if (ev.time > maxTime) {
        this.push(ev);
        this.now = maxTime;
        return 'time';
      }
      this.byId.delete(ev.id);
      this.now = ev.time;
      this.steps++;
      try {
        ev.fn();
      } catch (e) {
        throw new SimulationError(`event at t=${ev.time}ms failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      }
      if (done()) return 'done';
      if (this.steps >= maxSteps) return 'steps';
    }
  }

  private less(a: Ev, b: Ev): boolean {
    return a.time < b.time || (a.time === b.time && a.id < b.id);
  }
  private push(ev: Ev): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  private pop(): Ev | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** Named timers of one simulated node on a {@link Scheduler}: setting a name replaces it. */
export class SimTimers<K extends string | bigint | number> {
  private readonly handles = new Map<K, EventHandle>();
  constructor(private readonly scheduler: Scheduler) {}
  /** Arm (or re-arm) timer `name` to call `fn` after `afterMs`. */
  set(name: K, afterMs: number, fn: () => void): void {
    this.cancel(name);
    const h = this.scheduler.after(afterMs, () => {
      this.handles.delete(name);
      fn();
    });
    this.handles.set(name, h);
  }
  /** Disarm timer `name`. */
  cancel(name: K): void {
    const h = this.handles.get(name);
    if (h) {
      this.scheduler.cancel(h);
      this.handles.delete(name);
    }
  }
  /** Disarm all timers (crash). */
  cancelAll(): void {
    for (const h of this.handles.values()) this.scheduler.cancel(h);
    this.handles.clear();
  }
}
