/**
 * Whole-cluster CART simulation (issue 6): CART clients, CART replicas and the built-in PBFT
 * in one process, on a simulated network and virtual clock driven by one seed
 * (TigerBeetle-style deterministic simulation; Byzantine modes after Twins, Bano et al. 2020).
 *
 * Determinism: every event runs from the seeded {@link Scheduler}; between two events the
 * driver yields once to the event loop so that promise continuations (in-thread BLS crypto, the
 * CART client's async reply handling) run "at" the event's virtual time. Nothing does real I/O
 * and the client's global timers are virtualised ({@link installVirtualTimers}), so a run is a
 * pure function of its options. Replay a failing seed with the printed command.
 */
import { decodeKvResult, encodeKvOperation, kvRecordFromStrings, type KvOperation, type KvResult } from '../../apps/kv.ts';
import { CartClient } from '../../client/client.ts';
import { createClientIdentity } from '../../client/identity.ts';
import { simConfig } from '../../consensus/pbft/simulation.ts';
import { batchDigest, decodeMessage, encodeMessage, signedBytes } from '../../consensus/pbft/codec.ts';
import { SimAuthenticator } from '../../consensus/pbft/auth.ts';
import type { PrePrepareMsg } from '../../consensus/pbft/messages.ts';
import { createCryptoService, dealKeySets, defaultKeySetSpecs, loadThresholdBls } from '../../crypto/index.ts';
import { HistoryRecorder } from '../../check/history.ts';
import { checkKvHistory } from '../../check/kv-model.ts';
import { RELIABLE, SimNetwork } from '../network.ts';
import { SimRandom } from '../rng.ts';
import { Scheduler } from '../scheduler.ts';
import { planFaults } from './faults.ts';
import { ClusterOracle } from './oracles.ts';
import { ADAPTER_BASE, CLIENT_BASE, SimCartReplica, type SimMsg } from './replica.ts';
import { SimClientTransport } from './transport.ts';
import type { ByzantineMode, ClusterSimOptions, ClusterSimResult, FaultCounts } from './types.ts';
import { installVirtualTimers } from './virtual-timers.ts';

const F = 1;
const N = 3 * F + 1;
const TABLE = 'usertable';

/** Builds the shell command that replays a run with a readable trace. */
export function replayCommand(o: ClusterSimOptions): string {
  const parts = [`npm run sim -- --seed ${o.seed} --trace`];
  if (o.clients !== undefined) parts.push(`--clients ${o.clients}`);
  if (o.opsPerClient !== undefined) parts.push(`--ops ${o.opsPerClient}`);
  if (o.keys !== undefined) parts.push(`--keys ${o.keys}`);
  if (o.byzantine !== undefined) parts.push(`--byzantine ${o.byzantine ?? 'none'}`);
  if (o.readOnly === false) parts.push('--no-read-only');
  if (o.colluders !== undefined && o.colluders.length > 0) parts.push(`--colluders ${o.colluders.join(',')}`);
  return parts.join(' ');
}

/** A random YCSB operation on few keys (values unique per client and op). */
function randomOp(rng: SimRandom, keys: number, c: number, i: number): KvOperation {
  const key = `k${rng.int(keys)}`;
  const values = kvRecordFromStrings({ f0: `c${c}-${i}`, ...(rng.chance(0.3) ? { f1: `x${c}-${i}` } : {}) });
  switch (rng.int(7)) {
    case 0:
    case 1:
      return { type: 'read', table: TABLE, key };
    case 2:
      return { type: 'update', table: TABLE, key, values };
    case 3:
      return { type: 'insert', table: TABLE, key, values };
    case 4:
      return { type: 'delete', table: TABLE, key };
    case 5:
      return { type: 'readModifyWrite', table: TABLE, key, fields: ['f0'], values };
    default:
      return { type: 'scan', table: TABLE, startKey: key, count: rng.range(1, 3) };
  }
}

/**
 * Run one seeded simulation. Never throws for protocol failures: they are reported as
 * `violations` in the result.
 */
export async function runClusterSimulation(opts: ClusterSimOptions): Promise<ClusterSimResult> {
  const rng = new SimRandom(opts.seed);
  const nClients = opts.clients ?? 3;
  const opsPerClient = opts.opsPerClient ?? 8;
  const keys = opts.keys ?? 4;
  const maxTime = opts.maxTimeMs ?? 120_000;
  const plan = opts.plan ?? planFaults(rng.fork('plan'), N, opts.byzantine);
  const byz = plan.byzantine;
  const trace: string[] = [];
  const sched = new Scheduler();
  const log = (line: string): void => {
    if (opts.trace) trace.push(`t=${sched.now}ms ${line}`);
  };
  const faults: FaultCounts = {};
  const count = (k: string): void => {
    faults[k] = (faults[k] ?? 0) + 1;
  };

  const keyRng = rng.fork('keys');
  const { publicKeySets, shares } = dealKeySets(N, defaultKeySetSpecs(F), { randomBytes: (k) => Uint8Array.from({ length: k }, () => keyRng.int(256)) });
  const ordered = publicKeySets.find((k) => k.name === 'ordered')!;
  const readonlySet = publicKeySets.find((k) => k.name === 'readonly')!;
  const readOnlyPath = opts.readOnly ?? true;
  const crypto = await createCryptoService({ workers: 0 });
  const bls = await loadThresholdBls();
  const config = simConfig(F, { checkpointInterval: 8, watermarkWindow: 32, clientWindow: 64 });
  const net = new SimNetwork<SimMsg>(sched, rng.fork('net'), plan.links);
  const authSeed = `cart-sim-${opts.seed}`;
  const colluders = new Set(opts.colluders ?? []);
  const isCorrect = (r: number): boolean => byz?.replica !== r && !colluders.has(r);
  const modeOf = (r: number): ByzantineMode | undefined => (colluders.has(r) ? 'wrong-execution' : byz?.replica === r ? byz.mode : undefined);
  for (const r of colluders) count('byzantine:colluding-wrong-execution');
  const oracle = new ClusterOracle(isCorrect);

  // ---- replicas (a twin is a second instance behind the same node id)
  const instances: SimCartReplica[][] = Array.from({ length: N }, () => []);
  const incarnation = new Array<number>(N).fill(0);
  const twinRng = rng.fork('twin');
  const boot = (r: number): void => {
    const make = (inc: number): SimCartReplica =>
      new SimCartReplica({
        id: r,
        n: N,
        f: F,
        config,
        keySet: ordered,
        keyShare: shares[r]!.find((s) => s.keySet === 'ordered')!,
        ...(readOnlyPath ? { readOnlyKeys: { keySet: readonlySet, keyShare: shares[r]!.find((s) => s.keySet === 'readonly')! } } : {}),
        crypto,
        net,
        scheduler: sched,
        authSeed,
        skew: plan.clockSkew[r] ?? 1,
        incarnation: inc,
        byzantine: modeOf(r),
        maxBatches: 256,
        onDelivered: (id, seq, reqs, results) => oracle.delivered(id, seq, reqs, results),
        onEvent: (id, what) => {
          if (what.startsWith('PBFT internal error') && isCorrect(id)) oracle.violation(`replica ${id}: ${what}`);
          log(`replica ${id}: ${what}`);
        },
      });
    const list = [make(incarnation[r]!)];
    if (byz?.replica === r && byz.mode === 'twin') list.push(make(1000 + incarnation[r]!));
    instances[r] = list;
    const twin = list.length > 1;
    net.register(r, (from, msg) => {
      for (const x of list) if (!twin || twinRng.chance(0.75)) x.deliver(from, msg);
    });
    net.register(ADAPTER_BASE + r, (from, msg) => {
      for (const x of list) x.deliverToAdapter(from, msg);
    });
    for (const x of list) x.start();
  };
  for (let r = 0; r < N; r++) boot(r);

  // ---- Byzantine network behaviour
  if (byz?.mode === 'silent') {
    count('byzantine:silent');
    net.interceptor = (from, _to, msg) => (from === byz.replica || from === ADAPTER_BASE + byz.replica ? [] : [msg]);
  } else if (byz?.mode === 'equivocate') {
    const auth = new SimAuthenticator(authSeed, byz.replica, N);
    net.interceptor = (from, to, msg) => {
      if (from !== byz.replica || msg.ch !== 'pbft' || to % 2 === 0) return [msg];
      let m;
      try {
        m = decodeMessage(msg.bytes);
      } catch {
        return [msg];
      }
      if (m.type !== 'pre-prepare' || m.batch.length === 0) return [msg];
      // A different proposal for the same (view, seq): the batch reversed, or the null request.
      const batch = m.batch.length >= 2 ? [...m.batch].reverse() : [];
      const forged: PrePrepareMsg = { ...m, batch, digest: batchDigest(batch) };
      count('byzantine:equivocate');
      log(`replica ${from} equivocates at seq ${m.seq} towards ${to}`);
      return [{ ch: 'pbft', bytes: encodeMessage({ ...forged, sig: auth.sign(signedBytes(forged)) }) }];
    };
  }
  if (byz && byz.mode !== 'silent' && byz.mode !== 'equivocate') count(`byzantine:${byz.mode}`);

  // ---- fault schedule
  const crashed = new Set<number>();
  const crash = (r: number): void => {
    if (crashed.has(r)) return;
    crashed.add(r);
    for (const x of instances[r]!) x.stop();
    net.crash(r);
    net.crash(ADAPTER_BASE + r);
    count('crash');
    log(`CRASH replica ${r}`);
  };
  const restart = (r: number): void => {
    if (!crashed.has(r)) return;
    crashed.delete(r);
    incarnation[r]!++;
    net.recover(r);
    net.recover(ADAPTER_BASE + r);
    boot(r);
    count('restart');
    log(`RESTART replica ${r} (fresh state, catches up by state transfer)`);
  };
  for (const ev of plan.events) {
    sched.at(ev.atMs, () => {
      switch (ev.kind) {
        case 'crash':
          crash(ev.replica);
          break;
        case 'restart':
          restart(ev.replica);
          break;
        case 'partition':
          net.partition(ev.groups.map((g) => [...g, ...g.map((r) => ADAPTER_BASE + r)]));
          count('partition');
          log(`PARTITION ${JSON.stringify(ev.groups)}`);
          break;
        case 'heal':
          net.heal();
          log('partition healed');
          break;
      }
    });
  }
  sched.at(plan.healAtMs, () => {
    net.setFaults(RELIABLE);
    net.heal();
    for (const r of [...crashed]) restart(r);
    log('NETWORK HEALED (reliable links from now on)');
  });
  for (const s of plan.clockSkew) if (s !== 1) count('clock-skew');

  // ---- clients
  const recorder = new HistoryRecorder<KvOperation, KvResult>();
  const clientRng = rng.fork('clients');
  const clients: CartClient[] = [];
  let completed = 0;
  let finished = 0;
  const allCorrect = byz === undefined && colluders.size === 0;
  const runClient = async (c: number, client: CartClient, transport: SimClientTransport, ops: KvOperation[], think: number[], readOnly: boolean[]): Promise<void> => {
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      // Think time spreads the workload over the fault period.
      await new Promise<void>((resolve) => sched.after(think[i]!, resolve));
      const id = String(i + 1);
      const ro = readOnly[i]!;
      // Read-only results are checked for linearizability only when every replica is correct.
      const recorded = !ro || allCorrect;
      if (recorded) recorder.invoke(`c${c}`, id, op, sched.now);
      log(`client ${c} invokes #${id}: ${op.type} ${'key' in op ? op.key : op.startKey}${ro ? ' (read-only path)' : ''}`);
      try {
        const res = await (ro ? client.invokeReadOnly(encodeKvOperation(op)) : client.invoke(encodeKvOperation(op)));
        // The answered request: the last one sent (a read-only fallback is ordered under a new id).
        const answered = transport.lastRequest;
        if (answered && !answered.readOnly) oracle.accept(client.clientId, answered.requestId, res);
        else if (answered) oracle.acceptReadOnly(`client ${c} #${id} (${op.type})`, encodeKvOperation(op), res);
        let out: KvResult | undefined;
        try {
          out = decodeKvResult(res);
        } catch {
          oracle.violation(`client ${c} accepted an undecodable result for #${id}`);
        }
        if (recorded) recorder.complete(`c${c}`, id, out, sched.now);
        completed++;
        log(`client ${c} completes #${id}: ${out?.type ?? '?'}`);
      } catch (e) {
        if (recorded) recorder.complete(`c${c}`, id, undefined, sched.now);
        log(`client ${c} gives up #${id}: ${(e as Error).message}`);
      }
    }
    finished++;
  };
  const restoreTimers = installVirtualTimers(sched);
  let stop = 'done';
  try {
    for (let c = 0; c < nClients; c++) {
      const node = CLIENT_BASE + c;
      const transport = new SimClientTransport(net, node);
      const client = new CartClient(
        {
          replicas: Array.from({ length: N }, (_, r) => ({ host: 'sim', port: r })),
          publicKeySets: readOnlyPath ? [ordered, readonlySet] : [ordered],
          readOnlyPath,
          timeoutMs: 600,
          maxAttempts: 100_000,
          maxOutstanding: 1,
          contact: clientRng.int(N),
          identity: createClientIdentity(Uint8Array.from({ length: 32 }, () => clientRng.int(256))),
          verifier: { verify: (pk, domain, msg, sig) => bls.verify(pk, domain, msg, sig) },
        },
        transport,
      );
      clients.push(client);
      const ops = Array.from({ length: opsPerClient }, (_, i) => randomOp(clientRng, keys, c, i));
      const think = ops.map(() => clientRng.range(0, Math.round((2 * plan.healAtMs) / opsPerClient)));
      const readOnly = ops.map((op) => readOnlyPath && (op.type === 'read' || op.type === 'scan') && clientRng.chance(0.5));
      sched.after(clientRng.range(0, 20), () => void runClient(c, client, transport, ops, think, readOnly));
    }
    // Event loop: one virtual event, then let promise continuations run.
    for (;;) {
      if (finished === nClients) break;
      const r = sched.runUntil(() => false, maxTime, sched.steps + 1);
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (r === 'idle' || r === 'time') {
        stop = r;
        break;
      }
    }
    // Catch-up: after the workload, every correct replica must reach the same last executed
    // sequence (state transfer / status gossip) and then hold byte-identical replicated state.
    if (finished === nClients) {
      const live = [...Array(N).keys()].filter((r) => isCorrect(r) && !crashed.has(r));
      const last = (r: number): bigint => instances[r]![0]!.core.metrics().lastExecuted;
      const caughtUp = (): boolean => live.every((r) => last(r) === last(live[0]!)) && live.every((r) => instances[r]![0]!.core.metrics().lastExecuted >= oracle.maxSequence);
      const deadline = Math.max(sched.now, plan.healAtMs) + 30_000;
      while (!caughtUp() && sched.now < deadline) {
        const r = sched.runUntil(() => false, deadline, sched.steps + 1);
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (r === 'idle' || r === 'time') break;
      }
      if (!caughtUp()) {
        oracle.violation(`CATCH-UP: correct replicas did not converge within 30 s after the workload: ${live.map((r) => `${r}@${last(r)}`).join(' ')} (highest delivered ${oracle.maxSequence})`);
      } else {
        const snap = (r: number): string => Buffer.from(instances[r]![0]!.proxy.snapshot()).toString('hex');
        const ref = snap(live[0]!);
        for (const r of live.slice(1)) if (snap(r) !== ref) oracle.violation(`STATE: replicas ${live[0]} and ${r} hold different replicated state at sequence ${last(r)}`);
        log(`all correct replicas converged at sequence ${last(live[0]!)}`);
      }
    }
  } catch (e) {
    oracle.violation(`simulation error: ${e instanceof Error ? e.message : String(e)}`);
    stop = 'error';
  } finally {
    for (const c of clients) await c.close();
    restoreTimers();
    await crypto.close();
  }

  // ---- oracles
  const invoked = nClients * opsPerClient;
  if (completed !== invoked) oracle.violation(`LIVENESS: ${completed}/${invoked} operations completed after the network healed at ${plan.healAtMs} ms (stopped: ${stop})`);
  oracle.checkSequential();
  let linearizable: true | false | 'unknown' = 'unknown';
  try {
    const lin = checkKvHistory(recorder.operations(), { maxSteps: 300_000 });
    linearizable = lin.ok;
    if (lin.ok === false) oracle.violation(`LINEARIZABILITY: ${lin.counterexample.message.split('\n').slice(0, 12).join(' | ')}`);
  } catch (e) {
    oracle.violation(`history error: ${(e as Error).message}`);
  }
  const bound = 4 * config.watermarkWindow + 4 * N;
  for (let r = 0; r < N; r++) {
    if (!isCorrect(r) || crashed.has(r)) continue;
    for (const x of instances[r]!) {
      const s = x.sizes();
      if (s.pbftLog > bound) oracle.violation(`MEMORY: replica ${r} holds ${s.pbftLog} PBFT log entries (bound ${bound})`);
      if (s.backlog + s.inflight > config.clientWindow * 4) oracle.violation(`MEMORY: replica ${r} has ${s.backlog + s.inflight} requests queued for ordering`);
    }
  }
  faults.drop = net.stats.dropped;
  faults.duplicate = net.stats.duplicated;
  faults['partitioned-message'] = net.stats.partitioned;
  const rejectedReplies = clients.reduce((sum, c) => {
    const st = c.stats();
    return sum + Object.entries(st.rejected).reduce((a, [k, v]) => (k === 'late' ? a : a + v), 0);
  }, 0);
  return {
    seed: opts.seed,
    violations: oracle.violations,
    completed,
    invoked,
    linearizable,
    faults,
    plan,
    network: { ...net.stats },
    virtualTimeMs: sched.now,
    steps: sched.steps,
    rejectedReplies,
    replicaStates: instances.map((list, r) => `replica ${r}${crashed.has(r) ? ' (crashed)' : ''}${isCorrect(r) ? '' : ' (Byzantine)'}: ${list.map((x) => x.core.describe()).join(' | twin: ')}`),
    readOnly: {
      verified: clients.reduce((sum, c) => sum + c.stats().readOnlyVerified, 0),
      fallbacks: clients.reduce((sum, c) => sum + c.stats().readOnlyFallbacks, 0),
    },
    trace,
    replay: replayCommand(opts),
  };
}
