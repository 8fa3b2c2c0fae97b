/**
 * `cart demo` — the main job: generate keys, start n = 3f+1 replica processes on 127.0.0.1
 * (built-in PBFT by default), load YCSB records and run a YCSB workload (built-in core workload
 * A unless `--workload FILE`) through several CART clients that verify every reply; halfway,
 * kill -9 the replica that is currently primary; print progress and a summary.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { launchLocalDeployment } from '../deploy/launch.ts';
import { connectToCluster } from '../deploy/client.ts';
import type { ByzantineFlag } from '../deploy/local-cluster.ts';
import { decodeKvResult, encodeKvOperation, type KvOperation, type KvResult } from '../apps/kv-codec.ts';
import { CoreWorkload, builtinWorkload, parseOverrides, seededRandom } from '../bench/ycsb/index.ts';
import { resolveWorkload } from '../bench/ycsb/file.ts';
import { runClosedLoop, runLoadPhase } from '../bench/ycsb/runner.ts';
import type { CartClient } from '../client/index.ts';
import { CONSENSUS_PROTOCOLS, type ConsensusProtocol } from '../deploy/config.ts';
import { parseIntArg, parseProtocol } from './cluster.ts';

/** Options of {@link runDemo} (the CLI flags). */
export interface DemoOptions {
  readonly workload?: string;
  readonly records?: number;
  readonly operations?: number;
  readonly clients: number;
  readonly faults: number;
  readonly consensus: ConsensusProtocol;
  readonly bftsmartHome?: string;
  readonly byzantine: number;
  readonly kill: boolean;
  readonly json: boolean;
  readonly dir?: string;
  readonly seed: number;
  readonly property: string[];
}

/** The demo's summary (also the `--json` object). */
export interface DemoSummary {
  readonly consensus: string;
  readonly replicas: number;
  readonly f: number;
  readonly clients: number;
  readonly recordsLoaded: number;
  /** Transaction-phase operations completed (the load phase's inserts are in `recordsLoaded`). */
  readonly operations: number;
  /** Verified replies accepted over the whole demo (load + transaction phase). */
  readonly verified: number;
  readonly rejected: number;
  readonly rejectedByReason: Record<string, number>;
  /** Correct replies that arrived after the operation had completed (e.g. after a failover); dropped. */
  readonly lateDuplicates: number;
  /** Accepted read results whose field values differ from what was written (YCSB dataintegrity); must be 0. */
  readonly integrityErrors: number;
  readonly failed: number;
  readonly failovers: number;
  readonly pairingChecks: number;
  readonly throughputOpsPerSec: number;
  readonly latencyP50Ms: number;
  readonly latencyP90Ms: number;
  readonly latencyP99Ms: number;
  readonly killedReplica: number | null;
  readonly byzantineReplicas: number[];
  readonly badSharesDetected: number;
  readonly elapsedMs: number;
}

const log = (m: string): void => void process.stderr.write(m + '\n');

async function fetchMisbehaviour(hosts: { host: string; metricsPort: number }[]): Promise<number> {
  let total = 0;
  for (const h of hosts) {
    try {
      const res = await fetch(`http://${h.host}:${h.metricsPort}/metrics`, { signal: AbortSignal.timeout(2000) });
      const text = await res.text();
      for (const line of text.split('\n')) {
        if (line.startsWith('cart_signer_misbehaviour_total')) total += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
      }
    } catch {
      /* a killed replica does not answer */
    }
  }
  return total;
}

/**
 * Run the demo end to end; always stops every process it started.
 * @throws if the cluster cannot start or no operation completes
 */
export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const started = performance.now();
  const n = 3 * o.faults + 1;
  if (o.byzantine > o.faults) throw new Error(`--byzantine ${o.byzantine} exceeds f = ${o.faults}: CART guarantees nothing beyond f faulty replicas`);
  const overrides = parseOverrides(o.property);
  if (o.records !== undefined) overrides.set('recordcount', String(o.records));
  if (o.operations !== undefined) overrides.set('operationcount', String(o.operations));
  // field values derived from key and field name, so every read result is checked (YCSB dataintegrity)
  if (!overrides.has('dataintegrity')) overrides.set('dataintegrity', 'true');
  const config = o.workload ? await resolveWorkload(o.workload, overrides).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT' && e.code !== 'EISDIR') throw e;
    throw new Error(`--workload ${o.workload}: no such file (${resolve(o.workload!)}); give a YCSB property file or a built-in core workload letter a..f`);
  }) : builtinWorkload('a', overrides);
  const workload = new CoreWorkload(config, seededRandom(o.seed));
  // Byzantine replicas are the highest indices; the primary (replica 1 in view 0) stays honest.
  const byzantine = new Map<number, ByzantineFlag[]>();
  for (let i = 0; i < o.byzantine; i++) byzantine.set(n - i, ['wrong-results', 'bad-shares']);
  const killAllowed = o.kill && o.byzantine + 1 <= o.faults;
  if (o.kill && !killAllowed) log(`note: not killing the primary — ${o.byzantine} Byzantine + 1 crashed replica would exceed f = ${o.faults}`);

  log(`CART demo: ${n} replicas (f = ${o.faults}), consensus ${o.consensus}, YCSB ${o.workload ?? 'workload A (built in)'}: ${config.recordCount} records, ${config.operationCount} operations, ${o.clients} clients`);
  // Ctrl-C / SIGTERM: stop the replicas (and etcd) and remove the temp deployment folder (it
  // holds secret key files) rather than dying and leaving them behind; a second signal exits now.
  let stopRunning: (() => Promise<void>) | undefined;
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`\n${sig}: stopping the replicas${o.dir ? '' : ' and removing the temp deployment folder'} ...`);
    // still starting: the launch below is stopped as soon as it returns
    if (stopRunning) void stopRunning().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const removeSignalHandlers = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const running = await launchLocalDeployment({
    f: o.faults,
    protocol: o.consensus,
    application: 'kv',
    ...(o.dir ? { dir: resolve(o.dir), overwrite: true } : {}),
    ...(o.bftsmartHome ? { bftsmartHome: o.bftsmartHome } : {}),
    byzantine,
    progress: log,
    onEvent: (i, ev) => {
      if (ev['event'] === 'view-change') log(`  replica ${i}: view change to view ${String(ev['view'])}`);
    },
  }).catch((e: unknown) => {
    if (interrupted) process.exit(130); // launch stopped what it had started; its error is the signal's
    removeSignalHandlers();
    throw e;
  });
  // (the clients stay open: closing them would end the run early and print a bogus summary)
  stopRunning = () => running.close();
  if (interrupted) await stopRunning().finally(() => process.exit(130));
  const clients: CartClient[] = [];
  try {
    for (let i = 0; i < o.clients; i++) {
      clients.push(await connectToCluster(running.deployment.clusterFile, { contact: i % n, timeoutMs: 3000, maxAttempts: 100, maxOutstanding: 4 }));
    }
    const errorKinds = new Map<string, number>();
    const execute = async (op: KvOperation, client: number): Promise<KvResult> => {
      const c = clients[client % clients.length]!;
      try {
        const r = decodeKvResult(await c.invoke(encodeKvOperation(op)));
        if (r.type === 'error') throw new Error(`application error ${r.code}: ${r.message}`);
        return r;
      } catch (e) {
        const k = `${(e as Error).name}: ${(e as Error).message}`.slice(0, 160);
        if (!errorKinds.has(k)) log(`operation failed: ${k}`);
        errorKinds.set(k, (errorKinds.get(k) ?? 0) + 1);
        throw e;
      }
    };
    log(`loading ${config.recordCount} records ...`);
    const load = await runLoadPhase({ workload, execute, concurrency: o.clients });
    log(`loaded ${load.records} records in ${(load.elapsedMs / 1000).toFixed(1)} s (${load.throughputOpsPerSec.toFixed(0)} ops/s)${load.errors ? `, ${load.errors} errors` : ''}`);

    // counters cover the whole demo (load + transaction phase): every invocation is verified
    const base = clients.map(() => ({ verified: 0, failovers: 0, pairingChecks: 0, rejected: {} as Record<string, number> }));
    const total = config.operationCount;
    let done = 0;
    let killed: number | null = null;
    let killing: Promise<void> | undefined;
    const t0 = performance.now();
    const tty = process.stderr.isTTY === true;
    const stats = () => {
      let verified = 0;
      let rejected = 0;
      clients.forEach((c, i) => {
        const s = c.stats();
        verified += s.verified - base[i]!.verified;
        for (const [k, v] of Object.entries(s.rejected)) if (k !== 'late') rejected += v - (base[i]!.rejected[k] ?? 0);
      });
      return { verified, rejected };
    };
    const progress = (): void => {
      const s = stats();
      const secs = (performance.now() - t0) / 1000;
      const line = `[${secs.toFixed(1).padStart(5)} s] ${String(done).padStart(String(total).length)}/${total} ops  ${(done / Math.max(secs, 1e-3)).toFixed(0).padStart(5)} ops/s  verified ${s.verified}  rejected ${s.rejected}${killed ? `  (replica ${killed} killed)` : ''}`;
      if (tty) process.stderr.write(`\r${line}`);
      else log(line);
    };
    const ticker = setInterval(progress, tty ? 250 : 2000);
    let run;
    try {
      run = await runClosedLoop({
        workload,
        execute,
        clients: o.clients,
        operations: total,
        onComplete: () => {
          done++;
          if (killAllowed && killing === undefined && done >= total / 2) {
            const leader = running.cluster.leader() ?? 1;
            killed = leader;
            const role = o.consensus === 'pbft' ? ' (the current primary)' : '';
            killing = running.cluster.kill(leader, 'SIGKILL').then(async () => {
              if (tty) process.stderr.write('\n');
              log(`halfway: killed CART replica ${leader}${role} with SIGKILL; its clients fail over${o.consensus === 'pbft' ? ', PBFT changes view' : ''}`);
              if (running.etcd) {
                await running.etcd.stopMember(0);
                log('halfway: also killed etcd member 1 of 3 with SIGKILL; Raft keeps a majority');
              }
            });
          }
        },
      });
    } finally {
      clearInterval(ticker);
    }
    await killing;
    progress();
    if (tty) process.stderr.write('\n');
    let verified = 0;
    let failovers = 0;
    let pairingChecks = 0;
    let lateDuplicates = 0;
    const rejectedByReason: Record<string, number> = {};
    clients.forEach((c, i) => {
      const s = c.stats();
      const b = base[i]!;
      verified += s.verified - b.verified;
      failovers += s.failovers - b.failovers;
      pairingChecks += s.pairingChecks - b.pairingChecks;
      for (const [k, v] of Object.entries(s.rejected)) {
        const d = v - (b.rejected[k] ?? 0);
        if (d && k === 'late') lateDuplicates += d;
        else if (d) rejectedByReason[k] = (rejectedByReason[k] ?? 0) + d;
      }
    });
    const badSharesDetected = await fetchMisbehaviour(running.deployment.cluster.replicas.filter((r) => !byzantine.has(r.index) && r.index !== killed));
    return {
      consensus: o.consensus,
      replicas: n,
      f: o.faults,
      clients: o.clients,
      recordsLoaded: load.records,
      operations: run.operations,
      verified,
      rejected: Object.values(rejectedByReason).reduce((a, b) => a + b, 0),
      rejectedByReason,
      lateDuplicates,
      integrityErrors: run.integrityErrors,
      failed: run.errors + load.errors,
      failovers,
      pairingChecks,
      throughputOpsPerSec: Math.round(run.throughputOpsPerSec * 10) / 10,
      latencyP50Ms: run.latency.p50Ms,
      latencyP90Ms: run.latency.p90Ms,
      latencyP99Ms: run.latency.p99Ms,
      killedReplica: killed,
      byzantineReplicas: [...byzantine.keys()].sort(),
      badSharesDetected,
      elapsedMs: Math.round(performance.now() - started),
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await running.close();
    removeSignalHandlers();
  }
}

function printSummary(s: DemoSummary, out: (m: string) => void): void {
  out('');
  out(`Summary (${s.consensus}, ${s.replicas} replicas, f = ${s.f}, ${s.clients} clients)`);
  out(`  records loaded        ${s.recordsLoaded}`);
  out(`  operations completed  ${s.operations}`);
  out(`  verified replies      ${s.verified}   (load + transactions; each accepted reply carried a valid group signature)`);
  out(`  rejected replies      ${s.rejected}${s.rejected ? `   ${JSON.stringify(s.rejectedByReason)}` : ''}`);
  out(`  late duplicate replies ${s.lateDuplicates}   (correct, arrived after another replica answered; dropped)`);
  out(`  wrong results accepted ${s.integrityErrors}   (every read checked against the written values)`);
  out(`  failed operations     ${s.failed}`);
  out(`  client failovers      ${s.failovers}`);
  out(`  throughput            ${s.throughputOpsPerSec} ops/s`);
  out(`  latency p50 / p99     ${s.latencyP50Ms.toFixed(2)} ms / ${s.latencyP99Ms.toFixed(2)} ms`);
  if (s.killedReplica !== null) out(`  killed mid-run        replica ${s.killedReplica}${s.consensus === 'pbft' ? ' (primary)' : ''}`);
  if (s.byzantineReplicas.length) out(`  Byzantine replicas    ${s.byzantineReplicas.join(', ')}; bad shares detected by honest replicas: ${s.badSharesDetected}`);
}

/** Adds the `demo` command. */
export function register(program: Command): void {
  program
    .command('demo')
    .description('the main job: start a local cluster, run YCSB through verifying CART clients, kill the primary halfway, print a summary')
    .option('-w, --workload <file>', 'YCSB workload property file (or a letter a..f for a built-in core workload); default: built-in workload A')
    .option('-p, --property <name=value>', 'override a workload property (repeatable), e.g. -p recordcount=5000', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--records <n>', 'record count (overrides the workload)', parseIntArg('--records', 1))
    .option('--operations <n>', 'operation count (overrides the workload)', parseIntArg('--operations', 1))
    .option('-c, --clients <n>', 'closed-loop CART clients', parseIntArg('--clients', 1, 1000), 8)
    .option('-f, --faults <f>', 'tolerated faults f (n = 3f+1 replicas)', parseIntArg('--faults', 1, 5), 1)
    .option('--consensus <protocol>', `consensus protocol: ${CONSENSUS_PROTOCOLS.join(' | ')}`, parseProtocol, 'pbft')
    .option('--bftsmart-home <dir>', 'your BFT-SMaRt build, for --consensus bftsmart', process.env['BFTSMART_HOME'])
    .option('--byzantine <k>', 'make k replicas Byzantine (wrong results + bad signature shares)', parseIntArg('--byzantine', 0, 5), 0)
    .option('--no-kill', 'do not kill the primary halfway')
    .option('--seed <n>', 'workload random seed', parseIntArg('--seed', 0), 1)
    .option('--dir <dir>', 'keep the deployment (keys, configs, logs) in this folder (default: a temp folder, removed)')
    .option('--json', 'print the summary as one JSON object on the last line of stdout')
    .addHelpText('after', `
Examples:
  cart demo                                    # 4 replicas, PBFT, YCSB A, kill the primary halfway
  cart demo --byzantine 1                      # one replica lies; its replies and shares are rejected
  cart demo --workload ../shared/ycsb/workloadb --clients 16 --json
  cart demo --consensus etcd                   # same client, etcd underneath`)
    .action(async (o: DemoOptions) => {
      const summary = await runDemo(o);
      if (o.json) {
        printSummary(summary, log);
        process.stdout.write(JSON.stringify(summary) + '\n');
      } else {
        printSummary(summary, (m) => void process.stdout.write(m + '\n'));
      }
      if (summary.operations === 0 || summary.failed > 0 || summary.integrityErrors > 0) process.exitCode = 1;
    });
}
