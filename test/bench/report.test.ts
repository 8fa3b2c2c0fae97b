import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeRatios, defaultOutDir, jsonLine, markdownReport, writeReport } from '../../src/bench/cart/report.ts';
import type { BenchResult, BenchRun } from '../../src/bench/cart/runner.ts';
import type { BenchConsensus, BenchModeName } from '../../src/bench/cart/modes.ts';

function result(consensus: BenchConsensus, mode: BenchModeName, clients: number, ops: number, extra: Partial<BenchResult> = {}): BenchResult {
  return {
    consensus,
    mode,
    clients,
    throughputOpsPerSec: ops,
    latencyP50Ms: 1000 / Math.max(ops, 1),
    latencyP90Ms: 2000 / Math.max(ops, 1),
    latencyP99Ms: 3000 / Math.max(ops, 1),
    latencyMeanMs: 1,
    latencyMaxMs: 10,
    operations: ops * 10,
    errors: 0,
    integrityErrors: 0,
    measuredMs: 10_000,
    byKind: { read: { operations: ops * 5, errors: 0, latencyP50Ms: 1, latencyP99Ms: 2 } },
    client: { verified: ops * 10, pairingChecks: ops * 5, processPairings: ops * 2, cacheHits: 0, batchChecks: 0, readOnlyVerified: 3, readOnlyFallbacks: 1, failovers: 0, timeouts: 0, rejected: {} },
    pairingChecksPerReply: mode === 'native' ? null : 0.5,
    processPairingsPerReply: mode === 'native' ? null : 0.2,
    badSharesDetected: 0,
    readOnlyMeanBatch: mode === 'cart-all' ? 2.5 : null,
    viewChanges: 0,
    byzantineBadSharesRate: mode === 'cart-all-byzantine' ? 1 : null,
    ...extra,
  };
}

function run(results: BenchResult[]): BenchRun {
  return {
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    partial: false,
    failures: [],
    environment: { node: 'v20', cpus: 2, cpuModel: 'test cpu', loadAvgStart: [1, 1, 1], loadAvgEnd: [2, 2, 2] },
    settings: {
      workload: 'a',
      recordCount: 100,
      fieldCount: 10,
      fieldLength: 100,
      readProportion: 0.5,
      updateProportion: 0.5,
      requestDistribution: 'zipfian',
      replicas: 4,
      f: 1,
      durationSec: 10,
      warmupSec: 2,
      clients: [1, 50],
      modes: ['native', 'cart-none', 'cart-all'],
      consensus: ['pbft', 'etcd'],
      byzantineBadSharesRate: 0.1,
    },
    results,
  };
}

test('computeRatios: cart-all ÷ native and ÷ cart-none at the same client count, with targets', () => {
  const rs = [
    result('pbft', 'native', 50, 1000),
    result('pbft', 'cart-none', 50, 100),
    result('pbft', 'cart-all', 50, 950),
    result('pbft', 'native', 1, 200),
    result('pbft', 'cart-all', 1, 100),
  ];
  const ratios = computeRatios(rs);
  const vsNative50 = ratios.find((r) => r.name === 'cart-all ÷ native' && r.clients === 50)!;
  assert.equal(vsNative50.value, 0.95);
  assert.equal(vsNative50.met, true);
  assert.equal(vsNative50.target, '≥ 0.9');
  const vsNative1 = ratios.find((r) => r.name === 'cart-all ÷ native' && r.clients === 1)!;
  assert.equal(vsNative1.value, 0.5);
  assert.equal(vsNative1.met, false);
  const speedup = ratios.find((r) => r.name === 'cart-all ÷ cart-none' && r.clients === 50)!;
  assert.equal(speedup.value, 9.5);
  assert.equal(speedup.met, true);
  // no cart-none at 1 client: no ratio invented
  assert.equal(ratios.some((r) => r.name === 'cart-all ÷ cart-none' && r.clients === 1), false);
});

test('computeRatios: the 5x target applies only at 50 clients; etcd ÷ pbft per mode; zero denominators give null', () => {
  const rs = [
    result('pbft', 'cart-none', 10, 100),
    result('pbft', 'cart-all', 10, 200),
    result('etcd', 'cart-none', 10, 0),
    result('etcd', 'cart-all', 10, 50),
    result('pbft', 'cart-batch', 10, 150),
  ];
  const ratios = computeRatios(rs);
  const s = ratios.find((r) => r.name === 'cart-all ÷ cart-none' && r.consensus === 'pbft')!;
  assert.equal(s.value, 2);
  assert.equal(s.target, undefined);
  assert.equal(s.met, null);
  assert.equal(ratios.find((r) => r.name === 'cart-all ÷ cart-none' && r.consensus === 'etcd')!.value, null);
  assert.equal(ratios.find((r) => r.name === 'cart-all: etcd ÷ pbft')!.value, 0.25);
  assert.equal(ratios.find((r) => r.name === 'cart-batch ÷ cart-none')!.value, 1.5);
  assert.equal(ratios.some((r) => r.name.startsWith('cart-all ÷ native')), false);
});

test('computeRatios: BFT-SMaRt cart modes ÷ its own native client (no PBFT target), bftsmart ÷ pbft per mode incl. native', () => {
  const rs = [
    result('pbft', 'native', 10, 100),
    result('pbft', 'cart-all', 10, 40),
    result('bftsmart', 'native', 10, 300),
    result('bftsmart', 'cart-none', 10, 30),
    result('bftsmart', 'cart-all', 10, 60),
  ];
  const ratios = computeRatios(rs);
  const bft = ratios.find((r) => r.name === 'cart-all ÷ native' && r.consensus === 'bftsmart')!;
  assert.equal(bft.value, 0.2);
  assert.equal(bft.target, undefined, 'the 0.9 target is stated for PBFT');
  assert.equal(bft.met, null);
  assert.equal(ratios.find((r) => r.name === 'cart-none ÷ native' && r.consensus === 'bftsmart')!.value, 0.1);
  assert.equal(ratios.find((r) => r.name === 'cart-all ÷ native' && r.consensus === 'pbft')!.met, false);
  assert.equal(ratios.find((r) => r.name === 'native: bftsmart ÷ pbft')!.value, 3);
  assert.equal(ratios.find((r) => r.name === 'cart-all: bftsmart ÷ pbft')!.value, 1.5);
  // never a ratio across protocols for the native baseline of another protocol
  assert.equal(ratios.some((r) => r.name === 'cart-all ÷ native' && r.numerator.consensus !== r.denominator.consensus), false);
});

test('computeRatios: the Byzantine target (≥ 0.8) is judged at a 10 % bad-share rate, only reported at 100 %', () => {
  const at = (rate: number, byzOps: number) =>
    computeRatios([result('pbft', 'cart-all', 10, 100), result('pbft', 'cart-all-byzantine', 10, byzOps, { byzantineBadSharesRate: rate })]).find((r) =>
      r.name.startsWith('cart-all-byzantine'),
    )!;
  const ten = at(0.1, 85);
  assert.equal(ten.name, 'cart-all-byzantine (bad shares for 10 % of batches) ÷ cart-all');
  assert.equal(ten.value, 0.85);
  assert.equal(ten.target, '≥ 0.8');
  assert.equal(ten.met, true);
  assert.equal(at(0.1, 70).met, false);
  const all = at(1, 60);
  assert.equal(all.value, 0.6);
  assert.equal(all.met, null, 'bad shares for every batch is an upper bound, not the issue condition');
  assert.match(all.target!, /here 100 %/);
});

test('jsonLine: one JSON object {"results":[...]} with the headline fields', () => {
  const line = jsonLine(run([result('pbft', 'native', 1, 10), result('pbft', 'cart-all', 1, 12)]));
  assert.equal(line.includes('\n'), false);
  const parsed = JSON.parse(line) as { results: Record<string, unknown>[] };
  assert.deepEqual(Object.keys(parsed), ['results']);
  assert.equal(parsed.results.length, 2);
  for (const k of ['mode', 'clients', 'throughputOpsPerSec', 'latencyP50Ms', 'latencyP90Ms', 'latencyP99Ms']) assert.ok(k in parsed.results[0]!, k);
  assert.equal(parsed.results[1]!['mode'], 'cart-all');
  assert.equal(parsed.results[1]!['throughputOpsPerSec'], 12);
});

test('markdownReport: one table row per result, ratios and failures sections', () => {
  const r = run([result('pbft', 'native', 50, 1000), result('pbft', 'cart-all', 50, 950)]);
  const md = markdownReport({ ...r, partial: true, failures: [{ consensus: 'etcd', mode: 'cart-all', error: 'Error: etcd | not found' }] });
  const rows = md.split('\n').filter((l) => l.startsWith('| pbft |'));
  assert.equal(rows.length, 2);
  assert.match(rows[0]!, /\| native \| 50 \| 1000\.0 \|/);
  assert.match(rows[1]!, /\| 0\.500 \| 0\.200 \| 3 \/ 1 \(2\.5\) \|/); // client checks, process pairings, read-only verified / fallbacks (mean batch)
  assert.match(md, /\| cart-all ÷ native \| pbft \| 50 \| 0\.950 \| ≥ 0\.9 \| yes \|/);
  assert.match(md, /## Failures/);
  assert.match(md, /etcd \\\| not found/); // pipes escaped inside cells
  assert.match(md, /Partial run/);
  assert.match(md, /load average 1 1 1 at start/);
});

test('writeReport writes the four files; results.json carries the run and the ratios', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bench-report-'));
  try {
    const r = run([result('pbft', 'cart-none', 1, 10), result('pbft', 'cart-all', 1, 30)]);
    const files = await writeReport(r, join(dir, 'out'));
    const json = JSON.parse(await readFile(files.json, 'utf8')) as BenchRun & { ratios: { name: string; value: number }[] };
    assert.equal(json.results.length, 2);
    assert.equal(json.ratios.find((q) => q.name === 'cart-all ÷ cart-none')!.value, 3);
    assert.match(await readFile(files.markdown, 'utf8'), /^# cart bench/);
    for (const svg of [files.throughputLatencySvg, files.throughputByModeSvg]) assert.match(await readFile(svg, 'utf8'), /<svg[\s\S]*<\/svg>\n$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('defaultOutDir: bench-results/<UTC timestamp without colons>', () => {
  assert.equal(defaultOutDir(new Date('2026-11-30T14:05:09.123Z')), join('bench-results', '2026-11-30T140509Z'));
});
