import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeXml, modeColour, niceTicks, throughputByModeSvg, throughputLatencySvg, type PlotPoint } from '../../src/bench/cart/svg.ts';

const pt = (consensus: string, mode: string, clients: number, ops: number, p50: number): PlotPoint => ({
  consensus,
  mode,
  clients,
  throughputOpsPerSec: ops,
  latencyP50Ms: p50,
  latencyP99Ms: p50 * 3,
});

/** Attribute values of every `<tag ... name="v">` in `svg`. */
function attrs(svg: string, tag: string, name: string): string[] {
  return [...svg.matchAll(new RegExp(`<${tag}\\b[^>]*\\s${name}="([^"]*)"`, 'g'))].map((m) => m[1]!);
}

test('niceTicks: 1/2/5 steps from 0, last tick covers the maximum', () => {
  assert.deepEqual(niceTicks(10), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(73), [0, 20, 40, 60, 80]);
  assert.deepEqual(niceTicks(0.33), [0, 0.1, 0.2, 0.3, 0.4]);
  assert.deepEqual(niceTicks(0), [0, 1]);
  assert.deepEqual(niceTicks(Number.NaN), [0, 1]);
  for (const max of [1, 7, 99, 1234, 56789]) {
    const t = niceTicks(max);
    assert.ok(t[t.length - 1]! >= max, `covers ${max}`);
    assert.ok(t.length >= 3 && t.length <= 12, `tick count for ${max}: ${t.length}`);
  }
});

test('escapeXml escapes markup characters', () => {
  assert.equal(escapeXml(`a<b>&"c'`), 'a&lt;b&gt;&amp;&quot;c&apos;');
});

test('throughputLatencySvg: one series per (consensus, mode), points ordered by clients and placed by value', () => {
  const points = [pt('pbft', 'native', 50, 1000, 50), pt('pbft', 'native', 1, 200, 5), pt('pbft', 'cart-all', 1, 100, 10), pt('pbft', 'cart-all', 50, 500, 100)];
  const svg = throughputLatencySvg(points);
  assert.match(svg, /^<\?xml[\s\S]*<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>\n$/);
  assert.deepEqual(attrs(svg, 'g', 'data-series'), ['pbft/native', 'pbft/cart-all']);
  const lines = attrs(svg, 'polyline', 'points');
  assert.equal(lines.length, 2);
  // native: 1 client (200 ops/s) first, then 50 clients (1000 ops/s): x increases, y (latency up) decreases
  const [a, b] = lines[0]!.split(' ').map((s) => s.split(',').map(Number)) as [number[], number[]];
  assert.ok(a[0]! < b[0]!, 'x grows with throughput');
  assert.ok(a[1]! > b[1]!, 'higher latency is higher up (smaller y)');
  // the native line uses the native colour; the legend names both modes; axis titles present
  assert.match(svg, new RegExp(`<polyline[^>]*stroke="${modeColour('native')}"`));
  assert.match(svg, />native<\/text>/);
  assert.match(svg, />cart-all<\/text>/);
  assert.match(svg, /throughput \(operations \/ s\)/);
  assert.match(svg, /p50 latency \(ms\)/);
  assert.match(svg, />50 c<\/text>/);
});

test('throughputLatencySvg: etcd series are dashed and named with their consensus; empty input says so', () => {
  const svg = throughputLatencySvg([pt('pbft', 'cart-all', 1, 100, 10), pt('pbft', 'cart-all', 10, 300, 30), pt('etcd', 'cart-all', 1, 50, 20), pt('etcd', 'cart-all', 10, 150, 60)]);
  assert.match(svg, />cart-all \(etcd\)<\/text>/);
  assert.equal(attrs(svg, 'polyline', 'stroke-dasharray').length, 1);
  const empty = throughputLatencySvg([]);
  assert.match(empty, /no results/);
  assert.doesNotMatch(empty, /<polyline/);
});

test('throughputByModeSvg: one bar per point, heights proportional to throughput, labelled with the value', () => {
  const points = [pt('pbft', 'native', 10, 1000, 10), pt('pbft', 'cart-none', 10, 250, 40), pt('pbft', 'cart-all', 10, 500, 20)];
  const svg = throughputByModeSvg(points);
  const bars = [...svg.matchAll(/<rect x="[^"]*" y="[^"]*" width="[^"]*" height="([^"]*)" fill="([^"]*)"[^>]*><title>/g)];
  assert.equal(bars.length, 3);
  const h = bars.map((m) => Number(m[1]));
  assert.ok(Math.abs(h[0]! / h[1]! - 4) < 0.01, `native bar 4x cart-none: ${h}`);
  assert.ok(Math.abs(h[2]! / h[1]! - 2) < 0.01, `cart-all bar 2x cart-none: ${h}`);
  assert.deepEqual(bars.map((m) => m[2]), [modeColour('native'), modeColour('cart-none'), modeColour('cart-all')]);
  assert.match(svg, />1000<\/text>/);
  assert.match(svg, />250<\/text>/);
  assert.match(svg, />10 clients<\/text>/);
});

test('throughputByModeSvg: groups per client count; a missing point leaves no bar', () => {
  const svg = throughputByModeSvg([pt('pbft', 'native', 1, 100, 1), pt('pbft', 'native', 50, 900, 9), pt('pbft', 'cart-all', 50, 800, 9)]);
  assert.match(svg, />1 client<\/text>/);
  assert.match(svg, />50 clients<\/text>/);
  assert.equal([...svg.matchAll(/<rect [^>]*><title>/g)].length, 3);
});

test('modeColour: fixed per mode, stable fallback for unknown modes', () => {
  assert.notEqual(modeColour('native'), modeColour('cart-all'));
  assert.equal(modeColour('some-new-mode'), modeColour('some-new-mode'));
  assert.match(modeColour('some-new-mode'), /^#[0-9a-f]{6}$/);
});
