/**
 * Node-only: read a YCSB workload property file (`-P file` in YCSB, `--workload FILE` in CART).
 */
import { readFile } from 'node:fs/promises';
import { parseWorkload, type CoreWorkloadConfig } from './config.ts';

/**
 * Read and parse a workload file, with optional property overrides.
 * @throws {Error} (ENOENT etc.) if the file cannot be read; `PropertiesSyntaxError` /
 *   `WorkloadConfigError` if it is not a valid CoreWorkload definition.
 */
export async function loadWorkloadFile(path: string, overrides?: ReadonlyMap<string, string>): Promise<CoreWorkloadConfig> {
  return parseWorkload(await readFile(path, 'utf8'), overrides);
}
