/**
 * Node-only: read a YCSB workload property file (`-P file` in YCSB, `--workload FILE` in CART).
 */
import { readFile } from 'node:fs/promises';
import { builtinWorkload, parseWorkload, type CoreWorkloadConfig } from './config.ts';

/**
 * Read and parse a workload file, with optional property overrides.
 * @throws {Error} (ENOENT etc.) if the file cannot be read; `PropertiesSyntaxError` /
 *   `WorkloadConfigError` if it is not a valid CoreWorkload definition.
 */
export async function loadWorkloadFile(path: string, overrides?: ReadonlyMap<string, string>): Promise<CoreWorkloadConfig> {
  return parseWorkload(await readFile(path, 'utf8'), overrides);
}

/**
 * A workload by letter (`a`..`f`, built in, no file needed) or by path to a property file.
 * @throws see {@link loadWorkloadFile} and `builtinWorkload`.
 */
export async function resolveWorkload(spec: string, overrides?: ReadonlyMap<string, string>): Promise<CoreWorkloadConfig> {
  return /^[a-f]$/i.test(spec) ? builtinWorkload(spec, overrides) : loadWorkloadFile(spec, overrides);
}
