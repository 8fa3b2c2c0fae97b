/**
 * `cart bench` (also `npm run bench`) — the YCSB benchmark of issues 5 and 8: the protocol's own
 * client without CART (the built-in PBFT's native client; BFT-SMaRt's ServiceProxy) against CART
 * with all optimisations off, each alone, and all on, side by side in one run, over PBFT, etcd
 * and/or BFT-SMaRt, each mode on a fresh local cluster; throughput and HDR latency percentiles per
 * client count; a markdown table, a JSON file and two SVG plots in `--out`; ratios measured in
 * the same run. Progress goes to stderr; with `--json` the last stdout line is
 * `{"results":[{"mode","clients","throughputOpsPerSec","latencyP50Ms","latencyP90Ms","latencyP99Ms",...}]}`.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BENCH_CONSENSUS, BENCH_MODES, DEFAULT_MODES, modeSpec, parseClientCounts, parseConsensusList, parseModes, type BenchConsensus, type BenchModeName } from '../bench/cart/modes.ts';
import { computeRatios, defaultOutDir, jsonLine, markdownReport, writeReport } from '../bench/cart/report.ts';
import { runBench, type BenchRun } from '../bench/cart/runner.ts';
import { parseIntArg } from './cluster.ts';

/** Parsed flags of `cart bench`. */
interface BenchCliOptions {
  readonly workload: string;
  readonly property: string[];
  readonly modes: BenchModeName[];
  readonly consensus: BenchConsensus[];
  readonly clients: number[];
  readonly duration: number;
  readonly warmup: number;
  readonly operations?: number;
  readonly records?: number;
  readonly fieldlength?: number;
  readonly faults: number;
  readonly seed: number;
  readonly out?: string;
  readonly json?: boolean;
  readonly byzantineBadSharesRate?: number;
  readonly bftsmartHome?: string;
}

const log = (m: string): void => void process.stderr.write(m + '\n');

/** Parse `--byzantine-bad-shares-rate`: a fraction in (0, 1]. */
function parseRate(s: string): number {
  const v = Number(s);
  if (!(v > 0 && v <= 1)) throw new InvalidArgumentError('must be a fraction in (0, 1], e.g. 0.1 for 10 % of batches');
  return v;
}

function parseSeconds(name: string): (s: string) => number {
  return (s) => {
    const v = Number(s);
    if (!Number.isFinite(v) || v < 0 || v > 86_400) throw new Error(`${name} must be a number of seconds 0..86400`);
    return v;
  };
}

/**
 * Run `cart bench` with parsed options: runs the modes, writes the report folder, prints the
 * markdown table (stdout, or stderr with `--json`) and the JSON line. Ctrl-C stops the current
 * measurement, cleans up every process and still writes the partial report; a second Ctrl-C exits
 * at once (the replica processes are killed on exit).
 * @returns the run (also written to the output folder)
 */
export async function runBenchCommand(o: BenchCliOptions): Promise<BenchRun> {
  if (o.consensus.includes('bftsmart') && !o.bftsmartHome) {
    throw new Error('--consensus bftsmart needs --bftsmart-home DIR (your BFT-SMaRt build: jar, lib/, config/) or BFTSMART_HOME; see docs/bftsmart.md');
  }
  let modes = o.modes;
  if (o.byzantineBadSharesRate !== undefined && !modes.includes('cart-all-byzantine')) {
    log(`note: --byzantine-bad-shares-rate ${o.byzantineBadSharesRate} adds the mode cart-all-byzantine`);
    modes = [...modes, 'cart-all-byzantine'];
  }
  const outDir = resolve(o.out ?? defaultOutDir());
  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts === 1) {
      log(`\n${sig}: stopping after the current measurement, cleaning up (again to exit at once) ...`);
      abort.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let run: BenchRun;
  try {
    log(`cart bench: modes ${modes.join(', ')}; consensus ${o.consensus.join(', ')}; clients ${o.clients.join(', ')}; ${o.warmup} s warm-up + ${o.duration} s per point; output ${outDir}`);
    run = await runBench({
      workload: o.workload,
      properties: o.property,
      ...(o.records !== undefined ? { records: o.records } : {}),
      ...(o.fieldlength !== undefined ? { fieldLength: o.fieldlength } : {}),
      ...(o.operations !== undefined ? { operations: o.operations } : {}),
      modes,
      consensus: o.consensus,
      ...(o.bftsmartHome ? { bftsmartHome: o.bftsmartHome } : {}),
      ...(o.byzantineBadSharesRate !== undefined ? { byzantineBadSharesRate: o.byzantineBadSharesRate } : {}),
      clients: o.clients,
      durationSec: o.duration,
      warmupSec: o.warmup,
      f: o.faults,
      seed: o.seed,
      progress: log,
      signal: abort.signal,
      workDir: join(outDir, 'deployments'),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // empty unless a mode failed (then it holds that mode's deployment and replica logs)
  await rmdir(join(outDir, 'deployments')).catch(() => {});
  const files = await writeReport(run, outDir);
  const md = markdownReport(run, computeRatios(run.results));
  if (o.json) {
    log(md);
    log(`written: ${files.markdown}, ${files.json}, ${files.throughputLatencySvg}, ${files.throughputByModeSvg}`);
    process.stdout.write(jsonLine(run) + '\n');
  } else {
    process.stdout.write(md + '\n');
    process.stdout.write(`written: ${files.markdown}\n         ${files.json}\n         ${files.throughputLatencySvg}\n         ${files.throughputByModeSvg}\n`);
  }
  return run;
}

/** Adds the `bench` command. */
export function register(program: Command): void {
  const modeHelp = BENCH_MODES.map((m) => `  ${m.padEnd(20)} ${modeSpec(m).description}`).join('\n');
  program
    .command('bench')
    .description("YCSB benchmark: the protocol's own client (PBFT, BFT-SMaRt) vs CART with each optimisation off/on, side by side; markdown, JSON and SVG plots")
    .option('-w, --workload <file|a..f>', 'YCSB workload property file or built-in core workload letter', 'a')
    .option('-p, --property <name=value>', 'override a workload property (repeatable), e.g. -p requestdistribution=uniform', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .addOption(new Option('--modes <list>', 'comma-separated modes (see Modes below)').argParser(parseModes).default([...DEFAULT_MODES], DEFAULT_MODES.join(',')))
    .addOption(
      new Option('--consensus <list>', `consensus under CART: ${BENCH_CONSENSUS.join(' | ')} or several, comma-separated (native runs under pbft and bftsmart)`)
        .argParser(parseConsensusList)
        .default(['pbft'], 'pbft'),
    )
    .addOption(
      new Option('-c, --clients <n|list>', 'closed-loop clients (one outstanding operation each), or a list to sweep, e.g. 1,10,50')
        .argParser((v: string) => parseClientCounts(v))
        .default([10], '10'),
    )
    .option('-d, --duration <seconds>', 'measured seconds per (mode, clients) point', parseSeconds('--duration'), 10)
    .option('--warmup <seconds>', 'warm-up seconds before each measured point', parseSeconds('--warmup'), 2)
    .option('--operations <n>', 'also stop a point after this many measured operations', parseIntArg('--operations', 1))
    .option('--records <n>', 'record count (YCSB recordcount; default from the workload, 1000 for A)', parseIntArg('--records', 1))
    .option('--fieldlength <bytes>', 'bytes per field (YCSB fieldlength; default 100: 10 fields = 1 KiB records)', parseIntArg('--fieldlength', 1, 1 << 20))
    .option('-f, --faults <f>', 'tolerated faults f (n = 3f+1 replica processes)', parseIntArg('--faults', 1, 3), 1)
    .option('--seed <n>', 'workload random seed (the same operation stream in every mode)', parseIntArg('--seed', 0), 1)
    .option('-o, --out <dir>', 'output folder (default bench-results/<timestamp>/)')
    .option('--bftsmart-home <dir>', 'your BFT-SMaRt build (jar, lib/, config/), for --consensus bftsmart (default $BFTSMART_HOME)', process.env['BFTSMART_HOME'])
    .option('--byzantine-bad-shares-rate <rate>', 'cart-all-byzantine: fraction of batches (0..1] with bad shares from replica n (default 1 = every batch; adds the mode if missing)', parseRate)
    .option('--json', 'print {"results":[...]} as the last stdout line (the report goes to stderr)')
    .addHelpText(
      'after',
      `
Modes:
${modeHelp}

Each mode runs on a fresh local cluster (load phase, then per client count: warm-up, measure).
Output folder: results.md, results.json (with ratios), throughput-latency.svg, throughput-by-mode.svg.

Examples:
  cart bench                                             # YCSB A, 10 clients, all modes, PBFT
  cart bench --clients 1,10,50 --duration 20             # client sweep: throughput-latency curves
  cart bench --workload ../shared/ycsb/workloadb --modes native,cart-none,cart-all
  cart bench --consensus pbft,etcd --modes cart-none,cart-all   # CART over etcd beside CART over PBFT
  cart bench --modes cart-all,cart-all-byzantine --byzantine-bad-shares-rate 0.1   # bad shares for 10 % of batches
  cart bench --consensus bftsmart --bftsmart-home DIR --modes native,cart-none,cart-all   # BFT-SMaRt's own client vs CART over it
  npm run bench -- --duration 5 --json | tail -1 | jq .`,
    )
    .action(async (o: BenchCliOptions) => {
      const run = await runBenchCommand(o);
      if (run.results.length === 0 || run.failures.length > 0 || run.results.some((r) => r.integrityErrors > 0)) process.exitCode = 1;
    });
}
