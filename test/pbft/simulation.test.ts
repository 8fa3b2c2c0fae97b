/**
 * Seeded whole-cluster simulations of the PBFT core (4 and 7 replicas). Safety (no two correct
 * replicas execute different batches at one sequence number; clients accept only results a
 * correct replica computed; nothing executes twice) is checked inside every run; liveness
 * (all requests complete after the network heals) is each run's `ok`.
 *
 * Replay one failing run:  PBFT_SIM_SCENARIO=<name> PBFT_SIM_SEED=<seed> node scripts/run-tests.mjs test/pbft/simulation
 * More seeds:              PBFT_SIM_SEEDS=200 node scripts/run-tests.mjs test/pbft/simulation
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPbftSimulation, type PbftSimOptions, type PbftSimResult } from '../../src/consensus/pbft/simulation.ts';
import type { LinkFaults } from '../../src/sim/network.ts';

const lossy: LinkFaults = { dropRate: 0.05, duplicateRate: 0.05, minDelayMs: 1, maxDelayMs: 30 };

interface Scenario {
  readonly opts: Omit<PbftSimOptions, 'seed'>;
  readonly seeds: number;
  /** Extra per-run assertions (beyond safety + liveness). */
  readonly check?: (r: PbftSimResult) => void;
  /** Assertions over all runs of the scenario. */
  readonly checkAll?: (rs: readonly PbftSimResult[]) => void;
}

const correctViews = (r: PbftSimResult, skip: number): bigint[] => r.replicas.filter((_, i) => i !== skip).map((m) => m.view);

const scenarios: Record<string, Scenario> = {
  'n=4 drops, duplicates, reordering until healed': { opts: { faults: lossy, healAtMs: 3000 }, seeds: 8 },
  'n=4 partition 2|2 that heals': {
    opts: { faults: lossy, healAtMs: 1500, events: [{ atMs: 100, action: 'partition', groups: [[0, 1], [2, 3]] }, { atMs: 1500, action: 'heal' }] },
    seeds: 6,
  },
  'n=4 primary partitioned away, then healed (all converge)': {
    opts: { faults: lossy, healAtMs: 2500, requireConvergence: true, events: [{ atMs: 100, action: 'partition', groups: [[0], [1, 2, 3]] }, { atMs: 2500, action: 'heal' }] },
    seeds: 5,
    check: (r) => assert.ok(correctViews(r, -1).every((v) => v > 0n), 'the isolated primary was replaced'),
  },
  'n=4 f crashed backup': { opts: { faults: lossy, healAtMs: 2000, events: [{ atMs: 0, action: 'crash', replica: 3 }] }, seeds: 6 },
  'n=4 crashed primary': {
    opts: { faults: lossy, healAtMs: 2000, events: [{ atMs: 200, action: 'crash', replica: 0 }] },
    seeds: 6,
    check: (r) => assert.ok(correctViews(r, 0).every((v) => v > 0n), 'view changed away from the crashed primary'),
  },
  'n=4 silent primary': {
    opts: { byzantine: { replica: 0, behaviour: 'silent' } },
    seeds: 5,
    check: (r) => assert.ok(correctViews(r, 0).every((v) => v > 0n), 'view changed away from the silent primary'),
  },
  'n=4 slow primary (every message 3 s late)': {
    opts: { events: [{ atMs: 0, action: 'slow', replica: 0, extraDelayMs: 3000 }] },
    seeds: 3,
    check: (r) => assert.ok(correctViews(r, 0).every((v) => v > 0n), 'view changed away from the slow primary'),
  },
  'n=4 equivocating primary': {
    opts: { byzantine: { replica: 0, behaviour: 'equivocate' }, clients: 3, outstandingPerClient: 8, faults: lossy, healAtMs: 1000 },
    seeds: 6,
    checkAll: (rs) => assert.ok(rs.some((r) => correctViews(r, 0).every((v) => v > 0n)), 'equivocation led to a view change in some run'),
  },
  'n=4 lying backup (validly signed wrong results, digests, checkpoints, state, status)': {
    opts: { byzantine: { replica: 3, behaviour: 'liar' }, faults: lossy, healAtMs: 1500, clients: 3, requestsPerClient: 30 },
    seeds: 4,
  },
  'n=4 lying backup with unsigned replies (transport-authenticated)': {
    opts: { byzantine: { replica: 1, behaviour: 'liar' }, config: { signReplies: false }, clients: 3, requestsPerClient: 20 },
    seeds: 2,
  },
  'n=4 lying primary': { opts: { byzantine: { replica: 0, behaviour: 'liar' }, faults: lossy, healAtMs: 1500 }, seeds: 3 },
  'n=4 garbling backup (bit flips, truncation, junk frames)': {
    opts: { byzantine: { replica: 2, behaviour: 'garble' }, faults: lossy, healAtMs: 1500 },
    seeds: 4,
    check: (r) => assert.ok(r.replicas.some((m, i) => i !== 2 && m.dropped.malformed + m.dropped['bad-signature'] > 0), 'garbage was seen and counted'),
  },
  'n=4 replica crashed for many checkpoints restarts and catches up by state transfer': {
    opts: {
      clients: 3,
      requestsPerClient: 120,
      requireConvergence: true,
      events: [{ atMs: 10, action: 'crash', replica: 2 }, { atMs: 400, action: 'restart', replica: 2 }],
    },
    seeds: 4,
    check: (r) => {
      assert.ok(r.replicas[2]!.stateTransfers >= 1, 'the restarted replica installed a checkpoint');
      assert.ok(r.replicas[2]!.stableCheckpoint >= 16n, `restarted replica's stable checkpoint is ${r.replicas[2]!.stableCheckpoint}`);
    },
  },
  'n=4 backup partitioned past the watermarks catches up after healing': {
    opts: {
      clients: 3,
      requestsPerClient: 100,
      requireConvergence: true,
      events: [{ atMs: 5, action: 'partition', groups: [[0, 1, 2], [3]] }, { atMs: 300, action: 'heal' }],
    },
    seeds: 3,
    check: (r) => assert.ok(r.replicas[3]!.stateTransfers >= 1, 'replica 3 installed a checkpoint'),
  },
  'n=4 restart under lossy links converges': {
    opts: {
      clients: 3,
      requestsPerClient: 80,
      faults: lossy,
      healAtMs: 1000,
      requireConvergence: true,
      events: [{ atMs: 10, action: 'crash', replica: 1 }, { atMs: 400, action: 'restart', replica: 1 }],
    },
    seeds: 3,
  },
  'n=4 steady load keeps the log bounded': {
    opts: { clients: 4, requestsPerClient: 150, outstandingPerClient: 8 },
    seeds: 2,
    check: (r) => {
      // K=8, L=16: slots, prepared certs, executed batches, checkpoint votes, fetched, own checkpoints.
      assert.ok(r.peakLogSize <= 5 * 16 + 8, `peak log size ${r.peakLogSize}`);
      assert.ok(r.replicas.every((m) => m.stableCheckpoint >= m.lastExecuted - 16n), 'checkpoints keep up');
    },
  },
  'n=7 drops, duplicates, reordering with 2 crashes (incl. primary)': {
    opts: { f: 2, faults: lossy, healAtMs: 2000, events: [{ atMs: 100, action: 'crash', replica: 1 }, { atMs: 300, action: 'crash', replica: 0 }] },
    seeds: 3,
  },
  'n=7 equivocating primary plus a crashed backup': {
    opts: { f: 2, byzantine: { replica: 0, behaviour: 'equivocate' }, clients: 3, outstandingPerClient: 8, events: [{ atMs: 0, action: 'crash', replica: 5 }] },
    seeds: 3,
  },
  'n=7 partition 3|4 that heals': {
    opts: { f: 2, faults: lossy, healAtMs: 1500, events: [{ atMs: 50, action: 'partition', groups: [[0, 1, 2], [3, 4, 5, 6]] }, { atMs: 1500, action: 'heal' }] },
    seeds: 3,
  },
};

const onlyScenario = process.env.PBFT_SIM_SCENARIO;
const onlySeed = process.env.PBFT_SIM_SEED ? Number(process.env.PBFT_SIM_SEED) : undefined;
const seedOverride = process.env.PBFT_SIM_SEEDS ? Number(process.env.PBFT_SIM_SEEDS) : undefined;

for (const [name, sc] of Object.entries(scenarios)) {
  if (onlyScenario && onlyScenario !== name) continue;
  test(`pbft simulation: ${name}`, () => {
    const seeds = onlySeed !== undefined ? [onlySeed] : Array.from({ length: seedOverride ?? sc.seeds }, (_, i) => i + 1);
    const results: PbftSimResult[] = [];
    for (const seed of seeds) {
      const r = runPbftSimulation({ seed, ...sc.opts });
      const replay = `replay: PBFT_SIM_SCENARIO='${name}' PBFT_SIM_SEED=${seed} node scripts/run-tests.mjs test/pbft/simulation`;
      try {
        assert.ok(r.ok, r.failure);
        assert.equal(r.completed, r.expected);
        sc.check?.(r);
      } catch (e) {
        console.error(`FAILED seed ${seed}: ${(e as Error).message}\n${r.states.join('\n')}\n${replay}\n${r.replay}`);
        throw e;
      }
      results.push(r);
    }
    sc.checkAll?.(results);
  });
}

test('pbft simulation: runs are reproducible from the seed', () => {
  const opts: PbftSimOptions = { seed: 7, faults: lossy, healAtMs: 1000, events: [{ atMs: 100, action: 'crash', replica: 0 }] };
  const a = runPbftSimulation(opts);
  const b = runPbftSimulation(opts);
  assert.equal(a.steps, b.steps);
  assert.equal(a.virtualTimeMs, b.virtualTimeMs);
  assert.deepEqual(a.network, b.network);
  assert.deepEqual(a.states, b.states);
  const c = runPbftSimulation({ ...opts, seed: 8 });
  assert.notDeepEqual([c.steps, c.network], [a.steps, a.network], 'a different seed gives a different run');
});
