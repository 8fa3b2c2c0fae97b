/**
 * Test harness for the BFT-SMaRt adapter: n BFT-SMaRt replicas (one glue JVM each, own work
 * directory with a generated config, free local ports) behind n adapters, as a
 * {@link ConformanceCluster}. Needs `BFTSMART_HOME` (a BFT-SMaRt build); tests skip without it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AdapterEvent, ApplicationProxy } from '../../src/consensus/adapter.ts';
import {
  allocateBftSmartAddresses,
  createBftSmartAdapter,
  writeBftSmartConfig,
  type BftSmartAdapter,
  type BftSmartAdapterOptions,
} from '../../src/consensus/bftsmart/index.ts';
import type { ConformanceCluster } from '../consensus/conformance.ts';

/** The BFT-SMaRt build to test against, or undefined. */
export const BFTSMART_HOME = process.env['BFTSMART_HOME'];

/** Skip reason for node:test when no BFT-SMaRt build is available. */
export const SKIP_REASON =
  BFTSMART_HOME === undefined || BFTSMART_HOME === ''
    ? 'BFTSMART_HOME not set: point it at a BFT-SMaRt build (its jar, lib/, config/) to run these tests (docs/bftsmart.md)'
    : false;

/**
 * Set BFTSMART_TEST_LOG=/path/file to get every adapter's log (JVM stdout at debug, stderr at
 * warn, restarts) as pino JSON lines in that file, for debugging a failing run.
 */
const testLogger = process.env['BFTSMART_TEST_LOG'] ? pino({ level: 'debug' }, pino.destination(process.env['BFTSMART_TEST_LOG'])) : undefined;

/** Options of {@link startBftSmartHarness}. */
export interface HarnessOptions {
  /** Extra system.config properties (e.g. a small checkpoint period to force snapshot transfer). */
  readonly systemOverrides?: Readonly<Record<string, string>>;
  /** Extra adapter options. */
  readonly adapter?: Partial<BftSmartAdapterOptions>;
  /** Subscribed to every adapter (also restarted ones) before start, with the replica index. */
  readonly onEvent?: (replica: number, event: AdapterEvent) => void;
}

/** A running BFT-SMaRt cluster + adapters. */
export interface BftSmartHarness extends ConformanceCluster {
  adapter(i: number): BftSmartAdapter;
  /** Work directory (with the generated `config/`) of replica i. */
  workDir(i: number): string;
}

/** Start n = proxies.length BFT-SMaRt replicas (f = ⌊(n-1)/3⌋) in parallel. */
export async function startBftSmartHarness(proxies: readonly ApplicationProxy[], options: HarnessOptions = {}): Promise<BftSmartHarness> {
  const home = BFTSMART_HOME;
  if (home === undefined || home === '') throw new Error(String(SKIP_REASON));
  const root = await mkdtemp(join(tmpdir(), 'cart-bftsmart-test-'));
  const addresses = await allocateBftSmartAddresses(proxies.length);
  const workDirs = proxies.map((_, i) => join(root, `replica-${i}`));
  for (const workDir of workDirs) {
    writeBftSmartConfig({
      home,
      workDir,
      replicas: addresses,
      systemOverrides: { 'system.totalordermulticast.checkpoint_period': '4', ...options.systemOverrides },
    });
  }
  const make = (i: number): BftSmartAdapter => {
    const a = createBftSmartAdapter({ home, replicaId: i, workDir: workDirs[i]!, cacheDir: join(tmpdir(), 'cart-test-glue-cache'), logger: testLogger, ...options.adapter });
    if (options.onEvent !== undefined) a.onEvent((e) => options.onEvent!(i, e));
    return a;
  };
  const adapters = proxies.map((_, i) => make(i));
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.allSettled(adapters.map((a) => a.stop()));
    await rm(root, { recursive: true, force: true });
  };
  try {
    await Promise.all(adapters.map((a, i) => a.start(proxies[i]!)));
  } catch (err) {
    await close();
    throw err;
  }
  return {
    adapter: (i) => adapters[i]!,
    workDir: (i) => workDirs[i]!,
    async stopReplica(i) {
      await adapters[i]!.stop();
    },
    async restartReplica(i, proxy) {
      await adapters[i]!.stop();
      writeBftSmartConfig({ home, workDir: workDirs[i]!, replicas: addresses, systemOverrides: { 'system.totalordermulticast.checkpoint_period': '4', ...options.systemOverrides } });
      adapters[i] = make(i);
      await adapters[i]!.start(proxy);
    },
    close,
  };
}
