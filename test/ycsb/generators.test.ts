import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  seededRandom,
  fnvhash64,
  zeta,
  ZipfianGenerator,
  ScrambledZipfianGenerator,
  UniformGenerator,
  SkewedLatestGenerator,
  AcknowledgedCounterGenerator,
  AcknowledgementWindowError,
  DiscreteGenerator,
  HotspotGenerator,
  SCRAMBLED_ITEM_COUNT,
  SCRAMBLED_ZETAN,
} from '../../src/bench/ycsb/index.ts';

test('fnvhash64 matches YCSB (first hashed key is user6284781860667377211)', () => {
  assert.equal(fnvhash64(0), 6284781860667377211n);
  assert.equal(fnvhash64(1), 8517097267634966620n);
  for (let i = 0; i < 1000; i++) {
    const h = fnvhash64(i * 7919);
    assert.ok(h >= 0n && h < 1n << 63n);
  }
});

test('zeta: exact sum for small n; tail approximation reproduces YCSB ZETAN', () => {
  assert.equal(zeta(0, 3, 0.5), 1 + 1 / Math.sqrt(2) + 1 / Math.sqrt(3));
  assert.equal(zeta(2, 3, 0.5, 1 + 1 / Math.sqrt(2)), zeta(0, 3, 0.5));
  assert.ok(Math.abs(zeta(0, SCRAMBLED_ITEM_COUNT, 0.99) - SCRAMBLED_ZETAN) < 1e-9);
});

test('seeded random: deterministic, in range, roughly uniform', () => {
  const a = seededRandom(1);
  const b = seededRandom(1);
  const c = seededRandom(2);
  const xs = Array.from({ length: 10000 }, () => a.nextDouble());
  assert.deepEqual(xs.slice(0, 100), Array.from({ length: 100 }, () => b.nextDouble()));
  assert.notEqual(xs[0], c.nextDouble());
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
});

/** Frequencies of draws over [0, n). */
function histogram(draw: () => number, n: number, samples: number): number[] {
  const h = new Array<number>(n).fill(0);
  for (let i = 0; i < samples; i++) {
    const v = draw();
    assert.ok(v >= 0 && v < n, `value ${v} out of range`);
    h[v]!++;
  }
  return h;
}

test('zipfian: skew is real and follows rank^-0.99 (fixed seed, generous bounds)', () => {
  const n = 1000;
  const samples = 200_000;
  const z = new ZipfianGenerator(seededRandom(11), 0, n - 1);
  const h = histogram(() => z.nextValue(), n, samples);
  const zn = zeta(0, n, 0.99);
  // item 0 gets ~1/zeta(n) of the draws (≈13.4% for n=1000), item 1 ~ 2^-0.99/zeta(n)
  assert.ok(Math.abs(h[0]! / samples - 1 / zn) < 0.01, `p0 ${h[0]! / samples} vs ${1 / zn}`);
  assert.ok(Math.abs(h[1]! / samples - Math.pow(2, -0.99) / zn) < 0.01, `p1 ${h[1]! / samples}`);
  // top 10% of items receive the large majority of draws (uniform would give 10%)
  const top = h.slice(0, n / 10).reduce((s, x) => s + x, 0) / samples;
  assert.ok(top > 0.6, `top-10% share ${top}`);
  // monotone popularity on the head
  for (let i = 0; i < 5; i++) assert.ok(h[i]! > h[i + 5]!, `rank ${i} vs ${i + 5}`);
});

test('scrambled zipfian: same skew, but hot items spread over the key space', () => {
  const n = 1000;
  const samples = 100_000;
  const g = new ScrambledZipfianGenerator(seededRandom(5), 0, n - 1);
  const h = histogram(() => g.nextValue(), n, samples);
  const sorted = [...h].sort((x, y) => y - x);
  const top = sorted.slice(0, n / 10).reduce((s, x) => s + x, 0) / samples;
  // Over 1000 keys YCSB's scrambled zipfian is much flatter than a plain zipfian (its 10^10-item
  // tail wraps around the key space), but clearly skewed: uniform would give ~0.11 and ~0.2%.
  assert.ok(top > 0.2, `top-10% share ${top}`);
  assert.ok(sorted[0]! / samples > 0.02, `hottest key share ${sorted[0]! / samples}`);
  // the hottest keys are not simply the lowest numbers
  const hottest = h.indexOf(sorted[0]!);
  const hot10 = sorted.slice(0, 10).map((c) => h.indexOf(c));
  assert.ok(hot10.some((k) => k > n / 2), `hot keys ${hot10} all in the low half`);
  assert.ok(hottest >= 0);
});

test('uniform: flat (chi-square with a generous bound)', () => {
  const n = 50;
  const samples = 50_000;
  const u = new UniformGenerator(seededRandom(3), 0, n - 1);
  const h = histogram(() => u.nextValue(), n, samples);
  const e = samples / n;
  const chi2 = h.reduce((s, o) => s + ((o - e) * (o - e)) / e, 0);
  assert.ok(chi2 < 100, `chi2 ${chi2} (df 49)`); // p < 1e-5 for df=49 is ~ 100
});

test('latest: skewed towards the most recently acknowledged insert; window bound enforced', () => {
  const counter = new AcknowledgedCounterGenerator(1000);
  assert.equal(counter.lastValue(), 999);
  const g = new SkewedLatestGenerator(seededRandom(9), counter);
  const draws = Array.from({ length: 20000 }, () => g.nextValue());
  assert.ok(draws.every((d) => d <= 999 && d >= 0));
  const recent = draws.filter((d) => d >= 900).length / draws.length;
  assert.ok(recent > 0.6, `share of the newest 10% ${recent}`);
  // out-of-order acknowledgements advance lastValue only over contiguous values
  const a = counter.nextValue();
  const b = counter.nextValue();
  counter.acknowledge(b);
  assert.equal(counter.lastValue(), 999);
  counter.acknowledge(a);
  assert.equal(counter.lastValue(), 1001);
  assert.ok(Array.from({ length: 5000 }, () => g.nextValue()).some((d) => d > 999), 'new keys become choosable');
  const w = new AcknowledgedCounterGenerator(0);
  w.nextValue();
  assert.throws(() => w.acknowledge(AcknowledgedCounterGenerator.WINDOW_SIZE), AcknowledgementWindowError);
});

test('discrete and hotspot generators follow their weights', () => {
  const d = new DiscreteGenerator<string>(seededRandom(4)).add(0.7, 'x').add(0, 'never').add(0.3, 'y');
  const n = 20000;
  const xs = Array.from({ length: n }, () => d.next());
  assert.ok(!xs.includes('never'));
  assert.ok(Math.abs(xs.filter((x) => x === 'x').length / n - 0.7) < 0.02);
  const hs = new HotspotGenerator(seededRandom(8), 0, 999, 0.2, 0.8);
  const hv = Array.from({ length: n }, () => hs.nextValue());
  assert.ok(Math.abs(hv.filter((v) => v < 200).length / n - 0.8) < 0.02);
  assert.ok(hv.every((v) => v >= 0 && v <= 999));
});
