/**
 * Test harness for the etcd adapter: a 3-member etcd cluster (started by the test, own ports and
 * temp data dirs) plus one etcd adapter per CART replica, as a {@link ConformanceCluster}.
 * If etcd is not installed, `start` throws EtcdNotInstalledError ("install Debian's etcd-server"),
 * so the tests fail with that message instead of being skipped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdapterEvent, ApplicationProxy } from '../../src/consensus/adapter.ts';
import {
  configureEtcdAuth,
  createEtcdAdapter,
  type EtcdAuthSetup,
  startEtcdCluster,
  type EtcdAdapter,
  type EtcdAdapterOptions,
  type EtcdCluster,
} from '../../src/consensus/etcd/index.ts';
import type { ConformanceCluster } from '../consensus/conformance.ts';

/** Adapter options the harness passes to every replica's adapter (besides endpoints/replicaId). */
export type HarnessAdapterOptions = Omit<EtcdAdapterOptions, 'endpoints' | 'replicaId'>;

/** A running etcd cluster + CART replica adapters. */
export interface EtcdHarness extends ConformanceCluster {
  readonly etcd: EtcdCluster;
  /** Per-replica local state folders (inside a temp folder removed by `close`). */
  readonly stateDirs: readonly string[];
  /** Credentials, when started `withAuth`. */
  readonly auth: EtcdAuthSetup | undefined;
  adapter(i: number): EtcdAdapter;
  /**
   * Restart replica `i` with a fresh adapter; `keepState` keeps its stateDir (a CART replica
   * restart), else it is wiped; `onEvent` is subscribed before `start`.
   */
  restart(i: number, proxy: ApplicationProxy, opts?: { keepState?: boolean; onEvent?: (e: AdapterEvent) => void }): Promise<void>;
}

/**
 * Start an etcd cluster (3 members unless `members` says otherwise) and one adapter per proxy.
 * @param useStateDir give each replica a stateDir (restarts resume from the local checkpoint);
 *   `restartReplica` (the conformance suite's "empty state" restart) wipes it first.
 */
export async function startEtcdHarness(
  proxies: readonly ApplicationProxy[],
  options: HarnessAdapterOptions & { useStateDir?: boolean; withAuth?: boolean; etcdArgs?: readonly string[]; members?: number } = {},
): Promise<EtcdHarness> {
  const { useStateDir, withAuth, etcdArgs, members, ...adapterOptions } = options;
  const root = await mkdtemp(join(tmpdir(), 'cart-etcd-test-'));
  const etcd = await startEtcdCluster({ members: members ?? 3, ...(etcdArgs ? { extraArgs: etcdArgs } : {}) }).catch(async (e: unknown) => {
    await rm(root, { recursive: true, force: true });
    throw e;
  });
  const stateDirs = proxies.map((_, i) => join(root, `replica-${i}`));
  const auth =
    withAuth === true
      ? await configureEtcdAuth(etcd.endpoints, { replicaIds: proxies.map((_, i) => i) }).catch(async (e: unknown) => {
          await etcd.close();
          await rm(root, { recursive: true, force: true });
          throw e;
        })
      : undefined;
  const make = (i: number): EtcdAdapter =>
    createEtcdAdapter({
      endpoints: etcd.endpoints,
      replicaId: i,
      ...(useStateDir === true ? { stateDir: stateDirs[i]! } : {}),
      ...(auth !== undefined ? { auth: auth.replicas.get(i)! } : {}),
      ...adapterOptions,
    });
  const adapters = proxies.map((_, i) => make(i));
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.allSettled(adapters.map((a) => a.stop()));
    await etcd.close();
    await rm(root, { recursive: true, force: true });
  };
  try {
    await Promise.all(adapters.map((a, i) => a.start(proxies[i]!)));
  } catch (e) {
    await close();
    throw e;
  }
  const restart = restarter(adapters, stateDirs, make);
  return {
    etcd,
    stateDirs,
    auth,
    adapter: (i) => adapters[i]!,
    stopReplica: (i) => adapters[i]!.stop(),
    restartReplica: (i, proxy) => restart(i, proxy),
    restart: (i, proxy, opts) => restart(i, proxy, opts),
    close,
  };
}

/** See {@link startEtcdHarness}: restarts replica `i` of `adapters` with a fresh adapter. */
function restarter(
  adapters: EtcdAdapter[],
  stateDirs: readonly string[],
  make: (i: number) => EtcdAdapter,
): EtcdHarness['restart'] {
  return async (i, proxy, opts = {}) => {
    await adapters[i]!.stop();
    if (opts.keepState !== true) await rm(stateDirs[i]!, { recursive: true, force: true });
    adapters[i] = make(i);
    if (opts.onEvent !== undefined) adapters[i]!.onEvent(opts.onEvent);
    await adapters[i]!.start(proxy);
  };
}

/** Poll `cond` every 10 ms until true; fail with `label` after `timeoutMs`. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, label: string | (() => string)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${typeof label === 'string' ? label : label()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
