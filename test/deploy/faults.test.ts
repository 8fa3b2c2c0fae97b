/**
 * Real-process fault test (issue 6): 4 `cart replica` processes on loopback (built-in PBFT), a
 * YCSB workload A run through CART clients while one replica is killed with SIGKILL and
 * restarted, and later another is paused with SIGSTOP for many operations and resumed with
 * SIGCONT. Every operation must complete with a verified reply, every read must return what was
 * written (YCSB dataintegrity), and the paused replica must catch up afterwards.
 *
 * CART_FAULT_TEST_OPS scales the run (default 400 operations; developers: e.g. 5000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchLocalDeployment } from '../../src/deploy/launch.ts';
import { connectToCluster } from '../../src/deploy/client.ts';
import { decodeKvResult, encodeKvOperation, type KvOperation, type KvResult } from '../../src/apps/kv-codec.ts';
import { CoreWorkload, builtinWorkload, seededRandom } from '../../src/bench/ycsb/index.ts';
import { runClosedLoop, runLoadPhase } from '../../src/bench/ycsb/runner.ts';
import type { CartClient } from '../../src/client/index.ts';

const OPS = Number(process.env['CART_FAULT_TEST_OPS'] ?? 400);

async function lastSequence(host: string, port: number): Promise<bigint | undefined> {
  try {
    const res = await fetch(`http://${host}:${port}/status`, { signal: AbortSignal.timeout(2000) });
    return BigInt(((await res.json()) as { lastSequence: string }).lastSequence);
  } catch {
    return undefined;
  }
}

async function until(what: string, timeoutMs: number, cond: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test(`YCSB A with kill -9 + restart of one replica and SIGSTOP/SIGCONT of another: all ${OPS} operations verified, paused replica catches up`, async (t) => {
  const running = await launchLocalDeployment({ f: 1, protocol: 'pbft', logLevel: 'warn', pbftProtocol: { checkpointInterval: 32, watermarkWindow: 64 } });
  t.after(() => running.close());
  const replicas = running.deployment.cluster.replicas;
  const seqOf = (i: number) => lastSequence(replicas[i - 1]!.host, replicas[i - 1]!.metricsPort);
  const clients: CartClient[] = [];
  t.after(() => Promise.all(clients.map((c) => c.close())));
  for (let i = 0; i < 4; i++) clients.push(await connectToCluster(running.deployment.clusterFile, { contact: i, timeoutMs: 2000, maxAttempts: 1000 }));
  const workload = new CoreWorkload(builtinWorkload('a', new Map([['recordcount', '100'], ['dataintegrity', 'true']])), seededRandom(11));
  const execute = async (op: KvOperation, client: number): Promise<KvResult> => {
    const r = decodeKvResult(await clients[client]!.invoke(encodeKvOperation(op)));
    if (r.type === 'error') throw new Error(`${r.code}: ${r.message}`);
    return r;
  };
  const load = await runLoadPhase({ workload, execute, concurrency: 4 });
  assert.equal(load.errors, 0);

  let done = 0;
  const reached = (n: number) => until(`${n} operations`, 120_000, () => done >= n);
  const faults = (async () => {
    await reached(OPS * 0.15);
    await running.cluster.kill(2, 'SIGKILL');
    await reached(OPS * 0.3);
    await running.cluster.restart(2);
    // replica 2 must be back in the agreement before another replica stops (at most f = 1 faulty)
    await until('replica 2 to catch up after restart', 60_000, async () => {
      const [s1, s2] = [await seqOf(1), await seqOf(2)];
      return s1 !== undefined && s2 !== undefined && s2 > 0n && s2 + 64n >= s1;
    });
    await reached(Math.max(done, OPS * 0.4));
    running.cluster.pause(3);
    const pausedAt = done;
    await reached(Math.min(OPS, pausedAt + OPS * 0.4));
    running.cluster.resume(3);
  })();
  const run = await runClosedLoop({ workload, execute, clients: 4, operations: OPS, onComplete: () => void done++ });
  await faults;
  assert.equal(run.errors, 0, 'every operation completed');
  assert.equal(run.operations, OPS);
  assert.equal(run.integrityErrors, 0, `wrong results accepted: ${run.integrityFailures.join('; ')}`);
  const verified = clients.reduce((a, c) => a + c.stats().verified, 0);
  assert.equal(verified, 100 + OPS, 'one verified reply per operation');

  // the resumed replica catches up with the others (state transfer / log replay), bounded
  const target = (await seqOf(1)) ?? 0n;
  await until('paused replica 3 to catch up', 60_000, async () => ((await seqOf(3)) ?? 0n) >= target);
  // and serves a verified read as contact replica
  const c3 = await connectToCluster(running.deployment.clusterFile, { contact: 2, timeoutMs: 5000, maxAttempts: 10 });
  t.after(() => c3.close());
  const r = decodeKvResult(await c3.invoke(encodeKvOperation({ type: 'read', table: 'usertable', key: workload.keyName(0) })));
  assert.equal(r.type, 'record');
});
