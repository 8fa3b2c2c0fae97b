import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyRecorder, ThroughputMeter, throughputOpsPerSec } from '../../src/bench/stats.ts';

test('latency recorder: percentiles in ms within HDR precision, merge and encode', () => {
  const r = new LatencyRecorder();
  assert.deepEqual(r.summary().count, 0);
  for (let i = 1; i <= 1000; i++) r.record(i / 10); // 0.1 .. 100 ms
  const s = r.summary();
  assert.equal(s.count, 1000);
  const close = (a: number, b: number) => Math.abs(a - b) / b < 0.002;
  assert.ok(close(s.p50Ms, 50), `p50 ${s.p50Ms}`);
  assert.ok(close(s.p90Ms, 90), `p90 ${s.p90Ms}`);
  assert.ok(close(s.p99Ms, 99), `p99 ${s.p99Ms}`);
  assert.ok(close(s.maxMs, 100), `max ${s.maxMs}`);
  assert.ok(close(s.meanMs, 50.05), `mean ${s.meanMs}`);
  const other = new LatencyRecorder();
  for (let i = 0; i < 1000; i++) other.record(1000);
  r.merge(other);
  assert.equal(r.count, 2000);
  assert.ok(close(r.percentileMs(75), 1000));
  const copy = LatencyRecorder.decode(r.encode());
  const cs = copy.summary();
  const rs = r.summary();
  assert.equal(cs.count, rs.count);
  assert.equal(cs.p50Ms, rs.p50Ms);
  assert.equal(cs.p99Ms, rs.p99Ms);
  assert.ok(close(cs.maxMs, rs.maxMs), `decoded max ${cs.maxMs} vs ${rs.maxMs}`);
  assert.throws(() => r.record(-1), RangeError);
  assert.throws(() => r.record(NaN), RangeError);
  r.reset();
  assert.equal(r.count, 0);
});

test('throughput meter uses the injected clock', () => {
  let now = 1000;
  const m = new ThroughputMeter(() => now);
  m.add(500);
  now += 250;
  assert.equal(m.opsPerSec(), 2000);
  m.reset();
  assert.equal(m.operations, 0);
  assert.equal(m.opsPerSec(), 0);
  assert.equal(throughputOpsPerSec(10, 0), 0);
});
