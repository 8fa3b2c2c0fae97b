/**
 * YCSB CoreWorkload engine: workload properties, generators and the operation stream for the
 * KV application. Everything here except `loadWorkloadFile` (in `file.ts`) is browser-safe.
 *
 * ```ts
 * const cfg = builtinWorkload('a', new Map([['recordcount', '10000']]));
 * const w = new CoreWorkload(cfg, seededRandom(42));
 * for (const op of w.loadOperations()) kv.apply(op);           // load phase
 * const t = w.nextTransaction(); await run(t.operation); t.complete(); // transaction phase
 * ```
 */
export { parseProperties, PropertiesSyntaxError } from './properties.ts';
export { seededRandom, type Random } from './random.ts';
export * from './generators.ts';
export * from './config.ts';
export { CoreWorkload, deterministicValue, type YcsbTransaction, type YcsbOperationKind } from './workload.ts';
export {
  runLoadPhase,
  runClosedLoop,
  type KvExecutor,
  type LoadPhaseOptions,
  type LoadPhaseResult,
  type ClosedLoopOptions,
  type ClosedLoopResult,
  type KindStats,
} from './runner.ts';
