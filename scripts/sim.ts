/**
 * Runner of the whole-cluster CART simulation (issue 6).
 *
 *   npm run sim -- --seeds 1000            seeds 1..1000, summary + `violations: N`
 *   npm run sim -- --seeds 50 --from 7000  seeds 7000..7049
 *   npm run sim -- --seed 42 --trace       replay one seed with a readable trace
 *
 * Exit code 1 if any run violated an oracle; each failing seed prints its replay command.
 */
import { Command, InvalidArgumentError } from 'commander';
import { BYZANTINE_MODES, runClusterSimulation, type ByzantineMode, type ClusterSimOptions, type ClusterSimResult } from '../src/sim/cluster/index.ts';

const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return n;
};
const byzantineArg = (v: string): string => {
  if (v !== 'none' && !(BYZANTINE_MODES as readonly string[]).includes(v)) throw new InvalidArgumentError(`one of none, ${BYZANTINE_MODES.join(', ')}`);
  return v;
};

const program = new Command()
  .name('sim')
  .description('Deterministic whole-cluster CART simulation: CART clients + replicas + PBFT under seeded faults')
  .option('--seeds <n>', 'number of seeds to run', int('--seeds'), 10)
  .option('--from <seed>', 'first seed', int('--from'), 1)
  .option('--seed <seed>', 'run exactly this seed (overrides --seeds/--from)', int('--seed'))
  .option('--clients <n>', 'CART clients per run', int('--clients'))
  .option('--ops <n>', 'operations per client', int('--ops'))
  .option('--keys <n>', 'distinct keys of the workload', int('--keys'))
  .option('--byzantine <mode>', `force a Byzantine mode (none, ${BYZANTINE_MODES.join(', ')})`, byzantineArg)
  .option('--colluders <ids>', 'comma-separated replica ids (0-based) running wrong-execution together: more than f faulty, oracle self-check', (v: string) => v.split(',').map(int('--colluders')))
  .option('--no-read-only', 'order every read instead of using the read-only path')
  .option('--trace', 'print the readable trace of every run', false)
  .option('--quiet', 'print only the summary', false);
program.parse();
const o = program.opts<{ seeds: number; from: number; seed?: number; clients?: number; ops?: number; keys?: number; byzantine?: string; colluders?: number[]; readOnly: boolean; trace: boolean; quiet: boolean }>();

const seeds = o.seed !== undefined ? [o.seed] : Array.from({ length: o.seeds }, (_, i) => o.from + i);
const faults: Record<string, number> = {};
let completed = 0;
let invoked = 0;
let linUnknown = 0;
let rejected = 0;
let roVerified = 0;
let roFallbacks = 0;
const failing: ClusterSimResult[] = [];
const started = performance.now();
for (const seed of seeds) {
  const opts: ClusterSimOptions = {
    seed,
    trace: o.trace,
    ...(o.readOnly === false ? { readOnly: false } : {}),
    ...(o.clients !== undefined ? { clients: o.clients } : {}),
    ...(o.ops !== undefined ? { opsPerClient: o.ops } : {}),
    ...(o.keys !== undefined ? { keys: o.keys } : {}),
    ...(o.byzantine !== undefined ? { byzantine: o.byzantine === 'none' ? null : (o.byzantine as ByzantineMode) } : {}),
    ...(o.colluders !== undefined ? { colluders: o.colluders } : {}),
  };
  const r = await runClusterSimulation(opts);
  for (const [k, v] of Object.entries(r.faults)) faults[k] = (faults[k] ?? 0) + v;
  completed += r.completed;
  invoked += r.invoked;
  rejected += r.rejectedReplies;
  roVerified += r.readOnly.verified;
  roFallbacks += r.readOnly.fallbacks;
  if (r.linearizable === 'unknown') linUnknown++;
  if (r.violations.length > 0) failing.push(r);
  if (!o.quiet) {
    const byz = r.plan.byzantine ? ` byzantine=${r.plan.byzantine.mode}@${r.plan.byzantine.replica}` : '';
    console.log(`seed ${seed}: ${r.violations.length === 0 ? 'ok' : 'VIOLATION'} ${r.completed}/${r.invoked} ops, ${r.virtualTimeMs} virtual ms${byz}`);
  }
  if (o.trace) console.log(r.trace.map((l) => `  ${l}`).join('\n'));
  for (const v of r.violations) console.log(`  ${v}`);
  if (r.violations.length > 0) for (const st of r.replicaStates) console.log(`  ${st}`);
  if (r.violations.length > 0) console.log(`  replay: ${r.replay}`);
}
console.log('--- summary');
console.log(`runs: ${seeds.length} (seeds ${seeds[0]}..${seeds[seeds.length - 1]}), wall ${((performance.now() - started) / 1000).toFixed(1)} s`);
console.log(`faults injected: ${Object.entries(faults).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(' ')}`);
console.log(`requests completed: ${completed}/${invoked}`);
console.log(`read-only path: ${roVerified} answered unordered, ${roFallbacks} fell back to ordering`);
console.log(`replies rejected by clients: ${rejected}`);
console.log(`linearizability: ${seeds.length - linUnknown} checked, ${linUnknown} over budget (unknown)`);
console.log(`violations: ${failing.length}`);
for (const r of failing) console.log(`  seed ${r.seed}: ${r.replay}`);
process.exitCode = failing.length > 0 ? 1 : 0;
