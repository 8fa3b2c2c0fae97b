/**
 * Seeded fault plans: link faults (drop, duplicate, delay/reorder), partitions that heal,
 * crash + restart of one replica (state transfer), clock skew, and at most f = 1 faulty
 * replica (Byzantine or crashing) per run.
 */
import type { SimRandom } from '../rng.ts';
import { BYZANTINE_MODES, type ByzantineMode, type FaultEvent, type FaultPlan } from './types.ts';

/**
 * Derive a fault plan for n replicas from `rng`. The network heals at `healAtMs` (every
 * partition healed, every crashed replica restarted before it).
 * @param byzantine force a mode (`null` = no Byzantine replica, `undefined` = seeded choice)
 */
export function planFaults(rng: SimRandom, n: number, byzantine?: ByzantineMode | null): FaultPlan {
  const healAtMs = rng.range(2_000, 8_000);
  const links = {
    dropRate: rng.pick([0, 0, 0.02, 0.05, 0.1]),
    duplicateRate: rng.pick([0, 0.02, 0.1]),
    minDelayMs: 1,
    maxDelayMs: rng.pick([5, 20, 60]),
  };
  const clockSkew = Array.from({ length: n }, () => rng.pick([1, 1, 0.75, 1.25, 1.5]));
  const events: FaultEvent[] = [];
  let faulty = rng.int(n);
  let byz: FaultPlan['byzantine'];
  const mode = byzantine === undefined ? (rng.chance(0.6) ? rng.pick(BYZANTINE_MODES) : undefined) : (byzantine ?? undefined);
  // Equivocation needs the primary of view 0.
  if (mode === 'equivocate') faulty = 0;
  if (mode !== undefined) byz = { replica: faulty, mode };
  // Crash and restart the faulty replica (it is then the one faulty replica of the run).
  if (byz === undefined && rng.chance(0.6)) {
    const at = rng.range(200, Math.max(300, healAtMs - 1500));
    events.push({ atMs: at, kind: 'crash', replica: faulty });
    events.push({ atMs: rng.range(at + 100, healAtMs - 100), kind: 'restart', replica: faulty });
  }
  // Partitions: a random split of the replicas, healed before healAtMs.
  const partitions = rng.int(3);
  for (let i = 0; i < partitions; i++) {
    const at = rng.range(100, healAtMs - 200);
    const ids = [...Array(n).keys()];
    const a: number[] = [];
    const b: number[] = [];
    for (const r of ids) (rng.chance(0.5) ? a : b).push(r);
    events.push({ atMs: at, kind: 'partition', groups: [a, b] });
    events.push({ atMs: rng.range(at + 50, healAtMs), kind: 'heal' });
  }
  events.sort((x, y) => x.atMs - y.atMs);
  return { links, healAtMs, events, clockSkew, byzantine: byz };
}
