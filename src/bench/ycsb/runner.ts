/**
 * Drivers for a YCSB run against any KV executor (a CART client, a native protocol client, an
 * in-process store): the load phase with bounded concurrency, and the transaction phase with
 * closed-loop clients (each client issues its next operation when the previous one completed),
 * an optional warm-up, a fixed operation count and/or duration, and HDR latency statistics per
 * operation kind (Cooper et al., SoCC 2010, §3-4). The clock is injected.
 */
import type { KvOperation, KvResult } from '../../apps/kv-codec.ts';
import { LatencyRecorder, throughputOpsPerSec, type LatencySummary } from '../stats.ts';
import type { CoreWorkload, YcsbOperationKind } from './workload.ts';

/**
 * Executes one KV operation; resolves when it completed (e.g. a verified reply), rejects on
 * failure. Resolve with the decoded {@link KvResult} to have results checked (`dataintegrity`).
 */
export type KvExecutor = (operation: KvOperation, client: number) => Promise<KvResult | unknown>;

/** Options of {@link runLoadPhase}. */
export interface LoadPhaseOptions {
  readonly workload: CoreWorkload;
  readonly execute: KvExecutor;
  /** Inserts in flight at once (closed-loop loaders). Default 16. */
  readonly concurrency?: number;
  /** Monotonic clock in ms. Default `performance.now`. */
  readonly now?: () => number;
}

/** Outcome of a load phase. */
export interface LoadPhaseResult {
  readonly records: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly throughputOpsPerSec: number;
}

/** Insert every load-phase record of `workload` (those not yet produced by it). */
export async function runLoadPhase(options: LoadPhaseOptions): Promise<LoadPhaseResult> {
  const now = options.now ?? (() => performance.now());
  const start = now();
  let records = 0;
  let errors = 0;
  const loader = async (client: number): Promise<void> => {
    for (let op = options.workload.nextLoadOperation(); op !== undefined; op = options.workload.nextLoadOperation()) {
      try {
        await options.execute(op, client);
        records++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 16) }, (_, i) => loader(i)));
  const elapsedMs = now() - start;
  return { records, errors, elapsedMs, throughputOpsPerSec: throughputOpsPerSec(records, elapsedMs) };
}

/** Options of {@link runClosedLoop}. */
export interface ClosedLoopOptions {
  readonly workload: CoreWorkload;
  readonly execute: KvExecutor;
  /** Number of closed-loop clients. Default 1. */
  readonly clients?: number;
  /** Stop after this many measured operations (default: the workload's `operationcount`, or unbounded with `durationMs`). */
  readonly operations?: number;
  /** Stop issuing operations once this long (ms) has been measured (after the warm-up). */
  readonly durationMs?: number;
  /** Run this long (ms) first without recording. Default 0. */
  readonly warmupMs?: number;
  /** Monotonic clock in ms. Default `performance.now`. */
  readonly now?: () => number;
  /** Called after every completed measured operation (cheap; aggregate yourself for progress output). */
  readonly onComplete?: (kind: YcsbOperationKind, latencyMs: number, ok: boolean) => void;
  /** Stop early when aborted (in-flight operations are awaited). */
  readonly signal?: AbortSignal;
}

/** Statistics for one operation kind or for all. */
export interface KindStats extends LatencySummary {
  /** Failed operations (executor rejected). Not included in the latency figures. */
  readonly errors: number;
}

/** Outcome of a transaction phase. */
export interface ClosedLoopResult {
  /** Successfully completed measured operations. */
  readonly operations: number;
  readonly errors: number;
  /**
   * Completed operations whose result failed {@link CoreWorkload.verify} (only with
   * `dataintegrity=true` and an executor that resolves with the `KvResult`); counted in
   * `operations` too. Descriptions of the first few are in `integrityFailures`.
   */
  readonly integrityErrors: number;
  readonly integrityFailures: readonly string[];
  readonly elapsedMs: number;
  readonly throughputOpsPerSec: number;
  readonly clients: number;
  readonly latency: KindStats;
  readonly byKind: Partial<Record<YcsbOperationKind, KindStats>>;
  /** The merged latency recorder (e.g. to merge with other processes' results). */
  readonly recorder: LatencyRecorder;
}

/**
 * Run the transaction phase with closed-loop clients until `operations` measured operations were
 * issued (default: `operationcount` unless `durationMs` is given) or `durationMs` elapsed.
 * Executor rejections are counted as errors, never thrown.
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const now = options.now ?? (() => performance.now());
  const clients = Math.max(1, options.clients ?? 1);
  const limit = options.operations ?? (options.durationMs === undefined ? options.workload.config.operationCount : Infinity);
  const warmupEnd = now() + (options.warmupMs ?? 0);
  let measureStart: number | undefined = options.warmupMs ? undefined : now();
  let issued = 0;
  let ok = 0;
  let failed = 0;
  let integrityErrors = 0;
  const integrityFailures: string[] = [];
  const checking = options.workload.config.dataIntegrity;
  const recorders = new Map<YcsbOperationKind, { rec: LatencyRecorder; errors: number }>();

  const measuring = (t: number): boolean => {
    if (measureStart !== undefined) return true;
    if (t < warmupEnd) return false;
    measureStart = t;
    return true;
  };
  const done = (): boolean =>
    options.signal?.aborted === true ||
    issued >= limit ||
    (options.durationMs !== undefined && measureStart !== undefined && now() - measureStart >= options.durationMs);

  const client = async (id: number): Promise<void> => {
    while (!done()) {
      const t = options.workload.nextTransaction();
      const start = now();
      const measured = measuring(start);
      if (measured) issued++;
      let success = true;
      try {
        const result = await options.execute(t.operation, id);
        if (checking && measured && isKvResult(result)) {
          const bad = options.workload.verify(t.operation, result);
          if (bad !== undefined) {
            integrityErrors++;
            if (integrityFailures.length < 10) integrityFailures.push(bad);
          }
        }
      } catch {
        success = false;
      } finally {
        t.complete();
      }
      if (!measured) continue;
      const latency = now() - start;
      let r = recorders.get(t.kind);
      if (r === undefined) recorders.set(t.kind, (r = { rec: new LatencyRecorder(), errors: 0 }));
      if (success) {
        ok++;
        r.rec.record(Math.max(0, latency));
      } else {
        failed++;
        r.errors++;
      }
      options.onComplete?.(t.kind, latency, success);
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  const elapsedMs = measureStart === undefined ? 0 : now() - measureStart;
  const all = new LatencyRecorder();
  const byKind: Partial<Record<YcsbOperationKind, KindStats>> = {};
  for (const [kind, r] of [...recorders].sort(([a], [b]) => (a < b ? -1 : 1))) {
    all.merge(r.rec);
    byKind[kind] = { ...r.rec.summary(), errors: r.errors };
  }
  return {
    operations: ok,
    errors: failed,
    integrityErrors,
    integrityFailures,
    elapsedMs,
    throughputOpsPerSec: throughputOpsPerSec(ok, elapsedMs),
    clients,
    latency: { ...all.summary(), errors: failed },
    byKind,
    recorder: all,
  };
}

function isKvResult(x: unknown): x is KvResult {
  return typeof x === 'object' && x !== null && typeof (x as { type?: unknown }).type === 'string';
}
