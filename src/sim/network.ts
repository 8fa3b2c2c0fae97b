/**
 * Simulated message network on a {@link Scheduler}: per-message random delay (hence
 * reordering), drops, duplicates, partitions that can heal, and crashed nodes — all driven by
 * a seeded {@link SimRandom}, so every run is reproducible from its seed. Generic over the
 * message type and usable for any protocol (PBFT replicas, CART replicas, clients).
 */
import type { SimRandom } from './rng.ts';
import type { Scheduler } from './scheduler.ts';

/** Fault model of the links (applied independently per message). */
export interface LinkFaults {
  /** Probability a message is lost. */
  readonly dropRate: number;
  /** Probability a message is delivered twice (independent delays). */
  readonly duplicateRate: number;
  /** Delay bounds (ms, inclusive); a random delay per message reorders messages. */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

/** A clean network: no loss, no duplicates, 1–5 ms delay. */
export const RELIABLE: LinkFaults = { dropRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 5 };

/** Counters of a {@link SimNetwork}. */
export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  partitioned: number;
}

/** The simulated network; node ids are numbers chosen by the caller. */
export class SimNetwork<M> {
  private readonly handlers = new Map<number, (from: number, msg: M) => void>();
  private readonly crashed = new Set<number>();
  private readonly extraDelay = new Map<number, number>();
  private group = new Map<number, number>();
  private faults: LinkFaults;
  /** Optional filter (e.g. a Byzantine node rewriting its messages); return [] to drop. */
  interceptor: ((from: number, to: number, msg: M) => M[]) | undefined;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, partitioned: 0 };

  constructor(
    private readonly scheduler: Scheduler,
    private readonly rng: SimRandom,
    faults: LinkFaults = RELIABLE,
  ) {
    this.faults = faults;
  }

  /** Register (or replace, on restart) the delivery callback of `node`. */
  register(node: number, deliver: (from: number, msg: M) => void): void {
    this.handlers.set(node, deliver);
  }

  /** Change the link fault model from now on. */
  setFaults(f: LinkFaults): void {
    this.faults = f;
  }

  /**
   * Partition the listed nodes into groups that cannot reach each other; nodes not listed
   * (e.g. clients) reach everyone. Replaces any previous partition.
   */
  partition(groups: readonly (readonly number[])[]): void {
    this.group = new Map();
    groups.forEach((g, i) => g.forEach((n) => this.group.set(n, i)));
  }

  /** Remove all partitions. */
  heal(): void {
    this.group = new Map();
  }

  /** Crash `node`: it neither sends nor receives (in-flight messages to it are lost). */
  crash(node: number): void {
    this.crashed.add(node);
  }

  /** Undo {@link crash}. */
  recover(node: number): void {
    this.crashed.delete(node);
  }

  /** Add `ms` of delay to every message sent by `node` (a slow node); 0 removes it. */
  setSlow(node: number, ms: number): void {
    if (ms > 0) this.extraDelay.set(node, ms);
    else this.extraDelay.delete(node);
  }

  /** Whether `node` is crashed. */
  isCrashed(node: number): boolean {
    return this.crashed.has(node);
  }

  /** Whether `a` and `b` can currently communicate. */
  connected(a: number, b: number): boolean {
    const ga = this.group.get(a);
    const gb = this.group.get(b);
    return ga === undefined || gb === undefined || ga === gb;
  }

  /** Send `msg` from `from` to `to` subject to the fault model. */
  send(from: number, to: number, msg: M): void {
    if (this.crashed.has(from)) return;
    const msgs = this.interceptor ? this.interceptor(from, to, msg) : [msg];
    for (const m of msgs) this.sendOne(from, to, m);
  }

  private sendOne(from: number, to: number, msg: M): void {
    this.stats.sent++;
    if (!this.connected(from, to)) {
      this.stats.partitioned++;
      return;
    }
    if (this.rng.chance(this.faults.dropRate)) {
      this.stats.dropped++;
      return;
    }
    const copies = this.rng.chance(this.faults.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      const delay = this.rng.range(this.faults.minDelayMs, this.faults.maxDelayMs) + (this.extraDelay.get(from) ?? 0);
      this.scheduler.after(delay, () => {
        if (this.crashed.has(to) || !this.connected(from, to)) {
          this.stats.partitioned++;
          return;
        }
        const h = this.handlers.get(to);
        if (!h) return;
        this.stats.delivered++;
        h(from, msg);
      });
    }
  }
}
