/**
 * Piscina worker entry: one threshold BLS backend per worker thread, loaded on first use.
 * Each task is a {@link CryptoOp} (with the backend name); the reply is an {@link OpResult}.
 */
import { loadThresholdBls } from './backends.ts';
import { runOp, type CryptoOp, type OpResult } from './ops.ts';

/** Task message posted by `service.ts`. */
export interface WorkerTask {
  readonly backend: string;
  readonly req: CryptoOp;
}

export default async function run(task: WorkerTask): Promise<OpResult> {
  const bls = await loadThresholdBls(task.backend);
  return runOp(bls, task.req);
}
