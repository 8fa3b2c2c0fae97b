/**
 * `runBench` sequencing with in-process fake targets (a real KvStore per "cluster", no processes):
 * fresh target per mode, load phase, one result per (mode, clients), read-only invocations,
 * counters, a failed start retried once, a failing mode recorded while the run continues, every
 * target closed, abort.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore } from '../../src/apps/kv.ts';
import { decodeKvResult, encodeKvOperation, type KvOperation } from '../../src/apps/kv-codec.ts';
import { runBench, type BenchOptions } from '../../src/bench/cart/runner.ts';
import type { BenchTarget, TargetOptions } from '../../src/bench/cart/targets.ts';

interface FakeLog {
  started: string[];
  closed: string[];
  /** Operations executed per mode, by kind; reads through the read-only path counted apart. */
  ops: Map<string, { ordered: number; readOnly: number; clients: Set<number> }>;
}

function fakeStarter(log: FakeLog, opts: { failFirstStartOf?: string; alwaysFail?: string; failExecuteOf?: string } = {}): (o: TargetOptions) => Promise<BenchTarget> {
  const attempts = new Map<string, number>();
  return async (o) => {
    const key = `${o.consensus}/${o.mode.name}`;
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    if (opts.alwaysFail === o.mode.name || (opts.failFirstStartOf === o.mode.name && n === 1)) throw new Error(`cannot start ${key} (attempt ${n})`);
    log.started.push(key);
    const kv = new KvStore();
    const stats = { ordered: 0, readOnly: 0, clients: new Set<number>() };
    log.ops.set(key, stats);
    let connected = 0;
    let verified = 0;
    return {
      async ensureClients(count) {
        connected = Math.max(connected, count);
      },
      async execute(op: KvOperation, client) {
        if (client >= connected) throw new RangeError(`client ${client} not connected`);
        await new Promise((r) => setImmediate(r));
        if (opts.failExecuteOf === o.mode.name) throw new Error('replica crashed');
        stats.clients.add(client);
        const ro = o.mode.readOnlyInvocations && (op.type === 'read' || op.type === 'scan');
        const bytes = encodeKvOperation(op);
        const out = ro ? kv.executeReadOnly(bytes)! : kv.execute(bytes);
        if (ro) stats.readOnly++;
        else stats.ordered++;
        verified++;
        return decodeKvResult(out);
      },
      clientStats: () => ({
        verified,
        pairingChecks: o.mode.kind === 'cart' ? verified : 0,
        processPairings: o.mode.kind === 'cart' ? Math.ceil(verified / 2) : 0,
        cacheHits: 0,
        batchChecks: 0,
        readOnlyVerified: stats.readOnly,
        readOnlyFallbacks: 0,
        failovers: 0,
        timeouts: 0,
        rejected: {},
      }),
      replicaCounters: async () => ({ misbehaviour: 0, readOnlyBatches: stats.readOnly > 0 ? 1 : 0, readOnlyBatchedRequests: stats.readOnly }),
      viewChanges: () => 0,
      async close() {
        log.closed.push(key);
      },
    };
  };
}

const base = (log: FakeLog, over: Partial<BenchOptions> = {}): BenchOptions => ({
  workload: 'a',
  records: 20,
  fieldLength: 10,
  modes: ['native', 'cart-none', 'cart-all'],
  consensus: ['pbft'],
  clients: [1, 3],
  durationSec: 0.15,
  warmupSec: 0.02,
  startTarget: fakeStarter(log),
  ...over,
});

const newLog = (): FakeLog => ({ started: [], closed: [], ops: new Map() });

test('runBench: a fresh target per mode, one result per (mode, clients), every target closed', async () => {
  const log = newLog();
  const run = await runBench(base(log));
  assert.deepEqual(log.started, ['pbft/native', 'pbft/cart-none', 'pbft/cart-all']);
  assert.deepEqual(log.closed, log.started);
  assert.deepEqual(run.results.map((r) => `${r.mode}:${r.clients}`), ['native:1', 'native:3', 'cart-none:1', 'cart-none:3', 'cart-all:1', 'cart-all:3']);
  assert.equal(run.partial, false);
  assert.deepEqual(run.failures, []);
  for (const r of run.results) {
    assert.ok(r.operations > 0, `${r.mode}: operations measured`);
    assert.equal(r.errors, 0);
    assert.equal(r.integrityErrors, 0, 'reads return what was loaded / updated');
    assert.ok(r.latencyP50Ms <= r.latencyP99Ms);
  }
  assert.equal(run.results[0]!.pairingChecksPerReply, null, 'native has no BLS figures');
  assert.equal(run.results[2]!.pairingChecksPerReply, 1);
  assert.ok(run.results[2]!.processPairingsPerReply! <= 1);
  assert.equal(run.settings.recordCount, 20);
  assert.equal(run.settings.fieldLength, 10);
  // load phase ran on each target (20 inserts) and at least 8 loader clients were connected
  for (const s of log.ops.values()) assert.ok(s.ordered >= 20);
  // the 3-client point used clients 0..2
  assert.ok(log.ops.get('pbft/native')!.clients.has(2));
});

test('runBench: reads go through the read-only path exactly in read-only modes', async () => {
  const log = newLog();
  const run = await runBench(base(log, { modes: ['cart-none', 'cart-readonly'], clients: [2] }));
  assert.equal(log.ops.get('pbft/cart-none')!.readOnly, 0);
  assert.ok(log.ops.get('pbft/cart-readonly')!.readOnly > 0);
  const ro = run.results.find((r) => r.mode === 'cart-readonly')!;
  assert.ok(ro.client.readOnlyVerified > 0);
});

test('runBench: a failed start is retried once; a mode that keeps failing is recorded and the run goes on', async () => {
  const log = newLog();
  const run = await runBench(base(log, { startTarget: fakeStarter(log, { failFirstStartOf: 'cart-none', alwaysFail: 'cart-all' }), clients: [1] }));
  assert.deepEqual(log.started, ['pbft/native', 'pbft/cart-none']);
  assert.deepEqual(run.results.map((r) => r.mode), ['native', 'cart-none']);
  assert.equal(run.partial, true);
  assert.equal(run.failures.length, 1);
  assert.equal(run.failures[0]!.mode, 'cart-all');
  assert.match(run.failures[0]!.error, /attempt 2/);
});

test('runBench: operations failing in the measured phase are counted as errors, the target still closed', async () => {
  const log = newLog();
  const run = await runBench(base(log, { modes: ['cart-none'], startTarget: fakeStarter(log, { failExecuteOf: 'cart-none' }), clients: [1] }));
  // the load phase failed entirely: recorded as a failure, no result, target closed
  assert.deepEqual(run.results, []);
  assert.match(run.failures[0]!.error, /load phase failed/);
  assert.deepEqual(log.closed, ['pbft/cart-none']);
});

test('runBench: native is skipped under etcd; CART modes run under both', async () => {
  const log = newLog();
  const run = await runBench(base(log, { consensus: ['pbft', 'etcd'], modes: ['native', 'cart-all'], clients: [1] }));
  assert.deepEqual(log.started, ['pbft/native', 'pbft/cart-all', 'etcd/cart-all']);
  assert.deepEqual(run.results.map((r) => `${r.consensus}/${r.mode}`), log.started);
});

test('runBench: bftsmart runs native too and gets the BFT-SMaRt home; the bad-share rate reaches only the Byzantine mode', async () => {
  const log = newLog();
  const seen: TargetOptions[] = [];
  const starter = fakeStarter(log);
  const run = await runBench(
    base(log, {
      consensus: ['bftsmart'],
      modes: ['native', 'cart-all', 'cart-all-byzantine'],
      clients: [1],
      bftsmartHome: '/opt/bft-smart',
      byzantineBadSharesRate: 0.1,
      startTarget: (o) => (seen.push(o), starter(o)),
    }),
  );
  assert.deepEqual(log.started, ['bftsmart/native', 'bftsmart/cart-all', 'bftsmart/cart-all-byzantine']);
  assert.deepEqual(seen.map((o) => o.bftsmartHome), ['/opt/bft-smart', '/opt/bft-smart', '/opt/bft-smart']);
  assert.deepEqual(seen.map((o) => o.byzantineBadShareFraction), [undefined, undefined, 0.1]);
  assert.deepEqual(run.results.map((r) => r.byzantineBadSharesRate), [null, null, 0.1]);
  assert.equal(run.settings.byzantineBadSharesRate, 0.1);
});

test('runBench: bftsmart without a BFT-SMaRt home, or a bad-share rate outside (0, 1], is refused before anything starts', async () => {
  const log = newLog();
  await assert.rejects(runBench(base(log, { consensus: ['pbft', 'bftsmart'] })), /--bftsmart-home/);
  for (const rate of [0, -0.1, 1.5, Number.NaN]) await assert.rejects(runBench(base(log, { byzantineBadSharesRate: rate })), RangeError, String(rate));
  assert.deepEqual(log.started, []);
});

test('runBench: an aborted signal stops before the next mode; started targets are closed', async () => {
  const log = newLog();
  const ac = new AbortController();
  const starter = fakeStarter(log);
  const run = await runBench(
    base(log, {
      durationSec: 3600,
      clients: [1],
      startTarget: async (o) => {
        const t = await starter(o);
        let n = 0;
        // abort once the transaction phase is under way (the load phase is exactly 20 inserts)
        return { ...t, execute: (op, c) => (++n === 30 && ac.abort(), t.execute(op, c)) };
      },
      signal: ac.signal,
    }),
  );
  assert.deepEqual(log.started, ['pbft/native']);
  assert.deepEqual(log.closed, ['pbft/native']);
  assert.equal(run.partial, true);
  assert.equal(run.results.length, 1, 'the interrupted point is still reported');
});
