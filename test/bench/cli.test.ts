/**
 * Real-process runs of `cart bench`: a tiny run (2 modes, 1 client, ~1 s points, few records) and
 * an interrupted run. Each bench process runs in its own process group (detached), so every
 * replica process it starts is killed in `finally` even if the bench itself hangs or crashes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitWithin, groupMembers, killGroup, startBench } from './bench-process.ts';

test('cart bench --json: a tiny run (native, cart-all, and cart-all-byzantine added by the bad-shares rate) writes the report files and a {"results":[...]} last line', { timeout: 200_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'cart-bench-test-'));
  // rate 0.5: bad batches are chosen by sequence number in runs of 6 good, 6 bad (see
  // share-exchange.ts). Each point measures a fixed 40 operations (~20 ordered writes, so always
  // some bad ones) rather than a fixed time, which a slow machine would fill with only a few
  // writes; the duration is only an upper bound.
  const b = startBench(['--modes', 'native,cart-all', '--byzantine-bad-shares-rate', '0.5', '--clients', '1', '--operations', '40', '--duration', '60', '--warmup', '1', '--records', '12', '--out', out, '--json']);
  try {
    const code = await exitWithin(b, 190_000);
    assert.equal(code, 0, b.stderr.slice(-30).join('\n'));
    const last = JSON.parse(b.stdout[b.stdout.length - 1]!) as { results: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(last), ['results']);
    assert.deepEqual(last.results.map((r) => [r['mode'], r['clients']]), [['native', 1], ['cart-all', 1], ['cart-all-byzantine', 1]]);
    for (const r of last.results) {
      for (const k of ['throughputOpsPerSec', 'latencyP50Ms', 'latencyP90Ms', 'latencyP99Ms']) assert.equal(typeof r[k], 'number', k);
      assert.ok((r['throughputOpsPerSec'] as number) > 0, 'some operations completed');
      assert.ok((r['latencyP50Ms'] as number) <= (r['latencyP99Ms'] as number));
      assert.equal(r['integrityErrors'], 0, 'no wrong result accepted');
    }
    assert.equal(last.results[0]!['pairingChecksPerReply'], null, 'native: no BLS');
    assert.ok((last.results[1]!['pairingChecksPerReply'] as number) <= 1, 'CART client: at most one pairing check per reply');
    for (const f of ['results.md', 'results.json', 'throughput-latency.svg', 'throughput-by-mode.svg']) assert.ok((await stat(join(out, f))).size > 0, f);
    const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { results: unknown[]; ratios: { name: string }[]; partial: boolean };
    assert.equal(json.results.length, 3);
    assert.equal(json.partial, false);
    assert.ok(json.ratios.some((q) => q.name === 'cart-all ÷ native'));
    assert.ok(json.ratios.some((q) => q.name === 'cart-all-byzantine (bad shares for 50 % of batches) ÷ cart-all'));
    // the rate reached the Byzantine replica: the honest ones caught bad shares, and no accepted
    // reply was wrong (checked above); cart-all had none
    assert.equal(last.results[1]!['badSharesDetected'], 0);
    assert.ok((last.results[2]!['badSharesDetected'] as number) > 0, 'bad shares detected');
    assert.equal(last.results[2]!['byzantineBadSharesRate'], 0.5);
    assert.match(await readFile(join(out, 'results.md'), 'utf8'), /\| pbft \| cart-all \| 1 \|/);
    assert.deepEqual(groupMembers(b.child.pid!), [], 'no replica process left behind');
  } finally {
    killGroup(b);
    await rm(out, { recursive: true, force: true });
  }
});

test('cart bench: SIGINT mid-measurement stops, cleans up every replica and writes a partial report', { timeout: 150_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'cart-bench-int-'));
  const b = startBench(['--modes', 'cart-none,cart-all', '--clients', '1', '--duration', '600', '--warmup', '0', '--records', '8', '--out', out, '--json']);
  try {
    await b.waitFor(/cart-none clients=1 \[\d+ s measuring\]/, 120_000);
    b.child.kill('SIGINT');
    const code = await exitWithin(b, 60_000);
    assert.equal(code, 0, b.stderr.slice(-30).join('\n'));
    const last = JSON.parse(b.stdout[b.stdout.length - 1]!) as { results: { mode: string }[] };
    assert.deepEqual(last.results.map((r) => r.mode), ['cart-none'], 'the interrupted point is reported, the next mode never started');
    const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { partial: boolean };
    assert.equal(json.partial, true);
    assert.deepEqual(groupMembers(b.child.pid!), [], 'no replica process left behind');
  } finally {
    killGroup(b);
    await rm(out, { recursive: true, force: true });
  }
});
