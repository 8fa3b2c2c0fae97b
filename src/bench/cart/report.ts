/**
 * Reports of a `cart bench` run: the ratios issue 5 asks for (all measured in the same run), a
 * markdown report (settings, results table, ratios), the `--json` line, and the output folder
 * (`results.md`, `results.json`, `throughput-latency.svg`, `throughput-by-mode.svg`).
 * Pure functions except {@link writeReport}.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchResult, BenchRun } from './runner.ts';
import { throughputByModeSvg, throughputLatencySvg } from './svg.ts';

/** One throughput ratio numerator ÷ denominator at the same client count. */
export interface BenchRatio {
  /** What is compared, e.g. `cart-all ÷ native`. */
  readonly name: string;
  readonly clients: number;
  /** Consensus of the numerator / denominator. */
  readonly consensus: string;
  readonly numerator: { readonly consensus: string; readonly mode: string; readonly throughputOpsPerSec: number };
  readonly denominator: { readonly consensus: string; readonly mode: string; readonly throughputOpsPerSec: number };
  /** numerator ÷ denominator throughput; null if the denominator is 0. */
  readonly value: number | null;
  /** The issue's target for this ratio, if any (e.g. `≥ 0.9`). */
  readonly target?: string;
  /** Whether `value` meets the target (null: no target or no value). */
  readonly met: boolean | null;
}

const SINGLE = ['cart-batch', 'cart-tentative', 'cart-readonly', 'cart-workers', 'cart-leader'] as const;

function find(results: readonly BenchResult[], consensus: string, mode: string, clients: number): BenchResult | undefined {
  return results.find((r) => r.consensus === consensus && r.mode === mode && r.clients === clients);
}

function ratio(
  name: string,
  num: BenchResult | undefined,
  den: BenchResult | undefined,
  target?: { text: string; min: number; onlyAtClients?: number },
): BenchRatio | undefined {
  if (!num || !den) return undefined;
  const value = den.throughputOpsPerSec > 0 ? Math.round((num.throughputOpsPerSec / den.throughputOpsPerSec) * 1000) / 1000 : null;
  const applies = target !== undefined && (target.onlyAtClients === undefined || target.onlyAtClients === num.clients);
  return {
    name,
    clients: num.clients,
    consensus: num.consensus === den.consensus ? num.consensus : `${num.consensus} vs ${den.consensus}`,
    numerator: { consensus: num.consensus, mode: num.mode, throughputOpsPerSec: num.throughputOpsPerSec },
    denominator: { consensus: den.consensus, mode: den.mode, throughputOpsPerSec: den.throughputOpsPerSec },
    value,
    ...(applies ? { target: target.text } : {}),
    met: applies && value !== null ? value >= target.min : null,
  };
}

/** The issue's target for a Byzantine replica: bad shares for 10 % of its batches cost ≤ 20 % throughput. */
const BYZANTINE_TARGET_RATE = 0.1;

/**
 * The throughput ratios of issues 5 and 8 present in `results` (each only if both sides were
 * measured, at the same client count): per protocol with a native baseline, cart-all ÷ native
 * (target ≥ 0.9 for PBFT) and cart-none ÷ native; per protocol, cart-all ÷ cart-none (target ≥ 5
 * at 50 clients), each single optimisation ÷ cart-none, cart-all-byzantine ÷ cart-all (target
 * ≥ 0.8 when the Byzantine replica sent bad shares for at most 10 % of its batches; with a higher
 * rate the ratio is reported without a verdict); and per mode, each other protocol ÷ PBFT.
 */
export function computeRatios(results: readonly BenchResult[]): BenchRatio[] {
  const out: (BenchRatio | undefined)[] = [];
  const clientsList = [...new Set(results.map((r) => r.clients))].sort((a, b) => a - b);
  const consensusList = [...new Set(results.map((r) => r.consensus))];
  const modes = [...new Set(results.map((r) => r.mode))];
  for (const c of clientsList) {
    for (const k of consensusList) {
      out.push(ratio('cart-all ÷ native', find(results, k, 'cart-all', c), find(results, k, 'native', c), k === 'pbft' ? { text: '≥ 0.9', min: 0.9 } : undefined));
      out.push(ratio('cart-all-ordered-reads ÷ native', find(results, k, 'cart-all-ordered-reads', c), find(results, k, 'native', c)));
      out.push(ratio('cart-none ÷ native', find(results, k, 'cart-none', c), find(results, k, 'native', c)));
      out.push(ratio('cart-all ÷ cart-none', find(results, k, 'cart-all', c), find(results, k, 'cart-none', c), { text: '≥ 5 at 50 clients', min: 5, onlyAtClients: 50 }));
      for (const m of SINGLE) out.push(ratio(`${m} ÷ cart-none`, find(results, k, m, c), find(results, k, 'cart-none', c)));
      const byz = find(results, k, 'cart-all-byzantine', c);
      const rate = byz?.byzantineBadSharesRate ?? 1;
      const pct = `${Math.round(rate * 1000) / 10} %`;
      const byzRatio = ratio(`cart-all-byzantine (bad shares for ${pct} of batches) ÷ cart-all`, byz, find(results, k, 'cart-all', c), { text: '≥ 0.8', min: 0.8 });
      if (byzRatio && rate > BYZANTINE_TARGET_RATE) out.push({ ...byzRatio, target: `≥ 0.8 applies at ≤ 10 % bad batches; here ${pct}`, met: null });
      else out.push(byzRatio);
    }
    for (const k of consensusList) {
      if (k === 'pbft') continue;
      for (const m of modes) out.push(ratio(`${m}: ${k} ÷ pbft`, find(results, k, m, c), find(results, 'pbft', m, c)));
    }
  }
  return out.filter((r): r is BenchRatio => r !== undefined);
}

/** The `--json` object: exactly `{"results":[...]}` with the headline fields first. */
export function jsonLine(run: BenchRun): string {
  return JSON.stringify({
    results: run.results.map((r) => ({
      mode: r.mode,
      clients: r.clients,
      throughputOpsPerSec: r.throughputOpsPerSec,
      latencyP50Ms: r.latencyP50Ms,
      latencyP90Ms: r.latencyP90Ms,
      latencyP99Ms: r.latencyP99Ms,
      consensus: r.consensus,
      operations: r.operations,
      errors: r.errors,
      integrityErrors: r.integrityErrors,
      pairingChecksPerReply: r.pairingChecksPerReply,
      processPairingsPerReply: r.processPairingsPerReply,
      badSharesDetected: r.badSharesDetected,
      readOnlyMeanBatch: r.readOnlyMeanBatch,
      viewChanges: r.viewChanges,
      byzantineBadSharesRate: r.byzantineBadSharesRate,
    })),
  });
}

const fmt = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '–');

/** Escape `|` in markdown table cells. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** The markdown report (`results.md`): settings, environment, results, ratios, failures. */
export function markdownReport(run: BenchRun, ratios: readonly BenchRatio[] = computeRatios(run.results)): string {
  const s = run.settings;
  const e = run.environment;
  const lines: string[] = [];
  lines.push(`# cart bench — YCSB ${cell(s.workload)}`, '');
  lines.push(
    `${s.replicas} replicas (f = ${s.f}) on 127.0.0.1; ${s.recordCount} records of ${s.fieldCount} × ${s.fieldLength} B; ` +
      `read/update ${s.readProportion}/${s.updateProportion}, ${s.requestDistribution}; ` +
      `${s.warmupSec} s warm-up + ${s.durationSec} s measured per point; closed-loop clients, 1 operation outstanding each.` +
      (s.modes.includes('cart-all-byzantine') ? ` cart-all-byzantine: replica ${s.replicas} sends bad signature shares for ${Math.round((s.byzantineBadSharesRate ?? 1) * 1000) / 10} % of its batches.` : ''),
  );
  lines.push('', `Run ${run.startedAt} – ${run.finishedAt}. Node ${e.node}, ${e.cpus} × ${e.cpuModel}; load average ${e.loadAvgStart.join(' ')} at start, ${e.loadAvgEnd.join(' ')} at end.`);
  if (run.partial) lines.push('', '**Partial run** (aborted or a mode failed) — see Failures.');
  lines.push('', '## Results', '');
  lines.push('| consensus | mode | clients | ops/s | p50 ms | p90 ms | p99 ms | ops | errors | wrong results | client sig. checks / reply | process pairings / reply | read-only verified / fallbacks (mean batch) | bad shares detected | view changes |');
  lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of run.results) {
    lines.push(
      `| ${r.consensus} | ${r.mode} | ${r.clients} | ${fmt(r.throughputOpsPerSec, 1)} | ${fmt(r.latencyP50Ms)} | ${fmt(r.latencyP90Ms)} | ${fmt(r.latencyP99Ms)} | ${r.operations} | ${r.errors} | ${r.integrityErrors} | ` +
        `${r.pairingChecksPerReply === null ? '–' : fmt(r.pairingChecksPerReply, 3)} | ${r.processPairingsPerReply === null ? '–' : fmt(r.processPairingsPerReply, 3)} | ${r.mode === 'native' ? '–' : `${r.client.readOnlyVerified} / ${r.client.readOnlyFallbacks}${r.readOnlyMeanBatch === null ? '' : ` (${fmt(r.readOnlyMeanBatch, 1)})`}`} | ${r.mode === 'native' ? '–' : r.badSharesDetected} | ${r.viewChanges} |`,
    );
  }
  if (ratios.length) {
    lines.push('', '## Ratios (throughput, same run, same client count)', '');
    lines.push('| ratio | consensus | clients | value | target | met |');
    lines.push('|---|---|--:|--:|---|---|');
    for (const q of ratios) {
      lines.push(`| ${cell(q.name)} | ${cell(q.consensus)} | ${q.clients} | ${q.value === null ? '–' : fmt(q.value, 3)} | ${q.target ? cell(q.target) : ''} | ${q.met === null ? '' : q.met ? 'yes' : 'no'} |`);
    }
  }
  if (run.failures.length) {
    lines.push('', '## Failures', '');
    for (const f of run.failures) lines.push(`- ${f.mode} over ${f.consensus}: ${cell(f.error)}`);
  }
  lines.push(
    '',
    '*client sig. checks / reply*: signature checks each CART client asked for (single or batch, about one pairing check each) per accepted reply; ' +
      '*process pairings / reply*: BLS checks actually run in the benchmark process, whose clients share a verified-signature cache ' +
      '(k replies under one batch root cost one check). *wrong results*: accepted reads whose values differ from what was written (must be 0).',
  );
  lines.push('', 'Plots: `throughput-latency.svg` (p50 latency against throughput, one line per mode over the client counts), `throughput-by-mode.svg` (throughput per mode and client count).', '');
  return lines.join('\n');
}

/** Paths written by {@link writeReport}. */
export interface ReportFiles {
  readonly dir: string;
  readonly markdown: string;
  readonly json: string;
  readonly throughputLatencySvg: string;
  readonly throughputByModeSvg: string;
}

/**
 * Write `results.md`, `results.json` (the whole run plus ratios) and both SVG plots into `dir`
 * (created if missing).
 * @throws file-system errors
 */
export async function writeReport(run: BenchRun, dir: string): Promise<ReportFiles> {
  await mkdir(dir, { recursive: true });
  const ratios = computeRatios(run.results);
  const files: ReportFiles = {
    dir,
    markdown: join(dir, 'results.md'),
    json: join(dir, 'results.json'),
    throughputLatencySvg: join(dir, 'throughput-latency.svg'),
    throughputByModeSvg: join(dir, 'throughput-by-mode.svg'),
  };
  await writeFile(files.markdown, markdownReport(run, ratios));
  await writeFile(files.json, JSON.stringify({ ...run, ratios }, null, 2) + '\n');
  await writeFile(files.throughputLatencySvg, throughputLatencySvg(run.results));
  await writeFile(files.throughputByModeSvg, throughputByModeSvg(run.results));
  return files;
}

/** Default output folder: `bench-results/<UTC timestamp>/` (colons removed for portability). */
export function defaultOutDir(now: Date = new Date()): string {
  return join('bench-results', now.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z'));
}
