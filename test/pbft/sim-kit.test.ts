/** The generic simulation kit in src/sim: seeded randomness, virtual-time scheduler, network. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimRandom } from '../../src/sim/rng.ts';
import { Scheduler, SimTimers, SimulationError } from '../../src/sim/scheduler.ts';
import { SimNetwork } from '../../src/sim/network.ts';

test('SimRandom: same seed, same sequence; different seeds differ; ranges respected', () => {
  const a = new SimRandom(42);
  const b = new SimRandom(42);
  const c = new SimRandom('42');
  const xs = Array.from({ length: 50 }, () => a.nextU32());
  assert.deepEqual(Array.from({ length: 50 }, () => b.nextU32()), xs);
  assert.notDeepEqual(Array.from({ length: 50 }, () => c.nextU32()), xs);
  const r = new SimRandom(1);
  const counts = new Array<number>(6).fill(0);
  for (let i = 0; i < 6000; i++) {
    const v = r.range(1, 6);
    assert.ok(v >= 1 && v <= 6);
    counts[v - 1]!++;
  }
  assert.ok(counts.every((k) => k > 800 && k < 1200), `roughly uniform: ${counts}`);
  assert.equal(r.chance(0), false);
  assert.throws(() => r.pick([]), RangeError);
});

test('Scheduler: time order, FIFO at equal times, cancellation, bounds, errors wrapped', () => {
  const s = new Scheduler();
  const log: string[] = [];
  s.after(10, () => log.push('b'));
  s.after(5, () => log.push('a'));
  s.after(10, () => log.push('c'));
  const h = s.after(7, () => log.push('cancelled'));
  s.cancel(h);
  s.after(100, () => log.push('late'));
  assert.equal(s.runUntil(() => false, 50), 'time');
  assert.deepEqual(log, ['a', 'b', 'c']);
  assert.equal(s.now, 50);
  assert.equal(s.runUntil(() => log.length === 4, 1000), 'done');
  assert.equal(s.now, 100);
  assert.equal(s.runUntil(() => false, 1000), 'idle');
  s.after(1, () => {
    throw new Error('boom');
  });
  assert.throws(() => s.runUntil(() => false, 2000), SimulationError);
});

test('SimTimers: re-arming replaces, cancelAll disarms', () => {
  const s = new Scheduler();
  const t = new SimTimers<string>(s);
  const fired: string[] = [];
  t.set('x', 10, () => fired.push('x1'));
  t.set('x', 20, () => fired.push('x2'));
  t.set('y', 5, () => fired.push('y'));
  t.cancel('y');
  t.set('z', 30, () => fired.push('z'));
  s.runUntil(() => false, 25);
  t.cancelAll();
  s.runUntil(() => false, 100);
  assert.deepEqual(fired, ['x2']);
});

test('SimNetwork: delivery, partitions, crashes, drops and duplicates follow the fault model', () => {
  const s = new Scheduler();
  const net = new SimNetwork<string>(s, new SimRandom(3), { dropRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 9 });
  const got: string[] = [];
  for (const n of [0, 1, 2]) net.register(n, (from, m) => got.push(`${from}->${n}:${m}`));
  net.send(0, 1, 'hello');
  net.partition([[0], [1, 2]]);
  net.send(0, 2, 'cut');
  net.send(1, 2, 'same side');
  s.runUntil(() => false, 100);
  assert.deepEqual(got.sort(), ['1->2:same side']); // 'hello' was in flight when the partition started
  net.heal();
  net.crash(2);
  net.send(0, 2, 'to crashed');
  net.send(2, 0, 'from crashed');
  s.runUntil(() => false, 120);
  assert.deepEqual(got, ['1->2:same side'], 'nothing to or from a crashed node');
  net.recover(2);
  net.setSlow(0, 50);
  const t0 = s.now;
  net.send(0, 1, 'slow');
  s.runUntil(() => false, t0 + 50);
  assert.equal(got.length, 1, 'slow message not yet delivered');
  s.runUntil(() => false, t0 + 60);
  assert.deepEqual(got.slice(1), ['0->1:slow']);

  const lossy = new SimNetwork<number>(s, new SimRandom(4), { dropRate: 0.3, duplicateRate: 0.2, minDelayMs: 0, maxDelayMs: 50 });
  let delivered = 0;
  const order: number[] = [];
  lossy.register(1, (_f, m) => {
    delivered++;
    order.push(m);
  });
  for (let i = 0; i < 2000; i++) lossy.send(0, 1, i);
  s.runUntil(() => false, 10_000);
  assert.equal(delivered, lossy.stats.delivered);
  assert.ok(lossy.stats.dropped > 450 && lossy.stats.dropped < 750, `drops ${lossy.stats.dropped}`);
  assert.ok(lossy.stats.duplicated > 200, `duplicates ${lossy.stats.duplicated}`);
  assert.ok(order.some((m, i) => i > 0 && m < order[i - 1]!), 'random delays reorder messages');
});
