/**
 * Test harness: an in-process CART cluster — n replicas over the in-memory reference consensus
 * adapter (MemorySequencer) and an in-memory peer mesh (MemoryHub), each with a real TCP client
 * endpoint on 127.0.0.1 (port 0). One in-thread crypto service is shared.
 */
import { MemorySequencer } from '../../src/consensus/memory/index.ts';
import { MemoryHub } from '../../src/net/memory-peer-network.ts';
import { createCryptoService, dealKeySets, defaultKeySetSpecs, type CryptoService, type KeyShare, type PublicKeySet } from '../../src/crypto/index.ts';
import { startCartReplica, type CartReplica, type CartReplicaTuning } from '../../src/replica/index.ts';
import type { Application } from '../../src/apps/application.ts';
import type { AdapterEvent, ConsensusAdapter } from '../../src/consensus/adapter.ts';
import { connect, type CartClient, type CartClientOptions } from '../../src/client/index.ts';

export interface TestCluster {
  readonly n: number;
  readonly f: number;
  readonly replicas: (CartReplica | undefined)[];
  readonly apps: Application[];
  readonly publicKeySets: PublicKeySet[];
  readonly crypto: CryptoService;
  readonly sequencer: MemorySequencer;
  readonly hub: MemoryHub;
  /** A client of this cluster (closed by `close`). */
  client(opts?: Partial<CartClientOptions>): Promise<CartClient>;
  /** Stop replica i (1-based) — a crash. */
  kill(index: number): Promise<void>;
  /**
   * Start a fresh replica i (new application state, new adapter; it catches up by state transfer
   * or replay) on a new free port — clients created before keep the old endpoint.
   */
  restart(index: number): Promise<CartReplica>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  readonly n?: number;
  readonly app: () => Application;
  /** Tuning per replica index (1-based). */
  readonly tuning?: (index: number) => CartReplicaTuning | undefined;
  readonly batchSize?: number;
  /** Batches the memory sequencer retains (default: all); small values force state transfer. */
  readonly retainBatches?: number;
  /** Consensus adapter of replica index (1-based); default: the in-memory sequencer. */
  readonly adapter?: (index: number) => ConsensusAdapter;
  /** Crypto worker threads (default 0 = in-thread). */
  readonly workers?: number;
  /** Replica indices (1-based) NOT started; their mesh endpoint is left free for the test. */
  readonly skip?: readonly number[];
  /**
   * Every adapter reports this protocol leader (0-based, as adapters number replicas) once
   * started, as PBFT's does — the in-memory sequencer has no leader of its own.
   */
  readonly leader?: number | ((index: number) => number);
  /** Wrap replica i's (1-based) adapter, e.g. to hold its submissions. */
  readonly wrapAdapter?: (index: number, adapter: ConsensusAdapter) => ConsensusAdapter;
}

/** `a`, reporting `leader` as the protocol leader once started. */
function reportingLeader(a: ConsensusAdapter, leader: number): ConsensusAdapter {
  const listeners: ((e: AdapterEvent) => void)[] = [];
  return {
    protocol: a.protocol,
    async start(proxy) {
      await a.start(proxy);
      for (const l of listeners) l({ kind: 'leader', leader });
    },
    submit: (request) => a.submit(request),
    onEvent(listener) {
      listeners.push(listener);
      a.onEvent?.(listener);
    },
    stop: () => a.stop(),
  };
}

let shared: { keys: ReturnType<typeof dealKeySets>; n: number } | undefined;

/** Start a cluster; always `await cluster.close()` (t.after). */
export async function startTestCluster(opts: ClusterOptions): Promise<TestCluster> {
  const n = opts.n ?? 4;
  const f = Math.floor((n - 1) / 3);
  if (!shared || shared.n !== n) shared = { keys: dealKeySets(n, defaultKeySetSpecs(f)), n };
  const keys = shared.keys;
  const crypto = await createCryptoService({ workers: opts.workers ?? 0 });
  const sequencer = new MemorySequencer({ replicas: n, batchSize: opts.batchSize ?? 16, ...(opts.retainBatches ? { retainBatches: opts.retainBatches } : {}) });
  const hub = new MemoryHub(n);
  const apps: Application[] = [];
  const replicas: (CartReplica | undefined)[] = [];
  const clients: CartClient[] = [];
  // A read-only batch that times out at the contact makes its clients fall back to ordering:
  // correct, but it changes the read-only counters tests assert. The product default (1 s) is
  // tight for four replicas sharing one loaded CI core, so the tests use 5 s unless they set it.
  const tuningOf = (i: number): CartReplicaTuning => ({ readOnlyTimeoutMs: 5000, ...opts.tuning?.(i) });
  /** Replica i (1-based) on application `app`, with a fresh adapter. */
  const adapterOf = (i: number): ConsensusAdapter => {
    let a: ConsensusAdapter = opts.adapter ? opts.adapter(i) : sequencer.adapter(i - 1);
    if (opts.wrapAdapter) a = opts.wrapAdapter(i, a);
    const leader = typeof opts.leader === 'function' ? opts.leader(i) : opts.leader;
    return leader === undefined ? a : reportingLeader(a, leader);
  };
  const startReplica = (i: number, app: Application): Promise<CartReplica> =>
    startCartReplica({
      index: i,
      adapter: adapterOf(i),
      application: app,
      keys: { publicKeySets: keys.publicKeySets, shares: keys.shares[i - 1]! },
      network: hub.endpoint(i - 1),
      crypto,
      options: tuningOf(i),
    });
  try {
    for (let i = 1; i <= n; i++) {
      const app = opts.app();
      apps.push(app);
      if (opts.skip?.includes(i)) {
        replicas.push(undefined);
        continue;
      }
      replicas.push(await startReplica(i, app));
    }
  } catch (e) {
    await Promise.allSettled(replicas.map((r) => r?.close()));
    await crypto.close();
    throw e;
  }
  const first = replicas.find((r) => r !== undefined)!;
  const endpoints = replicas.map((r) => (r ?? first).address);
  return {
    n,
    f,
    replicas,
    apps,
    publicKeySets: keys.publicKeySets,
    crypto,
    sequencer,
    hub,
    async client(extra = {}) {
      const c = await connect({
        replicas: endpoints,
        publicKeySets: keys.publicKeySets,
        // generous: an in-process cluster on a loaded CI machine can take well over 1 s per
        // reply with many invocations pipelined; a spurious timeout changes the failover and
        // read-only counters that tests assert. Tests that need a timeout to happen pass their own.
        timeoutMs: 5000,
        verifier: { verify: (pk, d, m, s) => crypto.verify(pk, d, m, s), batchVerify: (items) => crypto.batchVerify(items) },
        ...extra,
      });
      clients.push(c);
      return c;
    },
    async kill(index) {
      const r = replicas[index - 1];
      replicas[index - 1] = undefined;
      await r?.close();
    },
    async restart(index) {
      const app = opts.app();
      apps[index - 1] = app;
      const r = await startReplica(index, app);
      replicas[index - 1] = r;
      return r;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await Promise.allSettled(replicas.map((r) => r?.close()));
      await crypto.close();
    },
  };
}

/** The key share of replica `index` (1-based) for key set `name`, from the shared dealing. */
export function dealtShares(index: number, name: string): KeyShare {
  const s = shared?.keys.shares[index - 1]?.find((k) => k.keySet === name);
  if (!s) throw new Error(`no dealt share ${name} for replica ${index}`);
  return s;
}

/** Poll `cond` every 10 ms until true; throws after `timeoutMs` (bounded wait, no fixed sleep). */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
