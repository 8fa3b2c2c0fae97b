/**
 * Whole-cluster PBFT simulation in one process: n = 3f+1 {@link PbftReplica} cores and native
 * {@link PbftClientCore}s on a seeded {@link SimNetwork} (drops, duplicates, delays/reordering,
 * partitions, crashes/restarts) with one optional Byzantine replica (`sim-byzantine.ts`). Safety is checked on
 * every execution; liveness is "every client request completes before `maxTimeMs`".
 *
 * A run is a pure function of its {@link PbftSimOptions}: a failing seed is replayed by
 * calling {@link runPbftSimulation} with the same options (printed in `result.replay`).
 */
import type { PbftConfig, PbftMetrics, ReplicaOutput } from './api.ts';
import { defaultPbftConfig } from './api.ts';
import { Ed25519Authenticator, Ed25519ClientSigner, SimAuthenticator, ed25519FromSeed } from './auth.ts';
import type { Authenticator, ClientSigner } from './api.ts';
import { PbftClientCore } from './client-core.ts';
import { sha256, toHex } from './codec.ts';
import { PbftReplica } from './replica.ts';
import { HashChainApp } from './sim-app.ts';
import { byzantineInterceptor, type ByzantineSpec } from './sim-byzantine.ts';
export type { ByzantineBehaviour, ByzantineSpec } from './sim-byzantine.ts';

export { HashChainApp } from './sim-app.ts';
import { RELIABLE, SimNetwork, type LinkFaults, type NetworkStats } from '../../sim/network.ts';
import { SimRandom } from '../../sim/rng.ts';
import { Scheduler, SimTimers } from '../../sim/scheduler.ts';

/** A scheduled fault-injection event. */
export type SimEvent =
  | { readonly atMs: number; readonly action: 'crash'; readonly replica: number }
  | { readonly atMs: number; readonly action: 'restart'; readonly replica: number }
  | { readonly atMs: number; readonly action: 'partition'; readonly groups: readonly (readonly number[])[] }
  | { readonly atMs: number; readonly action: 'heal' }
  /** Every message `replica` sends takes `extraDelayMs` longer (0 = back to normal). */
  | { readonly atMs: number; readonly action: 'slow'; readonly replica: number; readonly extraDelayMs: number }
  | { readonly atMs: number; readonly action: 'faults'; readonly faults: LinkFaults };

/** Options of {@link runPbftSimulation}; everything but `seed` has defaults. */
export interface PbftSimOptions {
  readonly seed: number;
  /** Tolerated faults: n = 3f+1. Default 1. */
  readonly f?: number;
  /** Protocol parameter overrides (defaults tuned for simulation: K=8, L=16, 500 ms timeout). */
  readonly config?: Partial<PbftConfig>;
  readonly clients?: number;
  readonly requestsPerClient?: number;
  readonly outstandingPerClient?: number;
  /** Link faults from t=0 until `healAtMs`. Default reliable. */
  readonly faults?: LinkFaults;
  /** At this time the network becomes reliable and partitions heal. Default 0. */
  readonly healAtMs?: number;
  readonly events?: readonly SimEvent[];
  readonly byzantine?: ByzantineSpec;
  /** Virtual-time bound for completing all requests. Default 120 000 ms. */
  readonly maxTimeMs?: number;
  /**
   * After all requests complete, keep running (within `maxTimeMs`) until every live correct
   * replica executed up to the same sequence number — e.g. a restarted replica caught up by
   * state transfer — and fail otherwise. Default false.
   */
  readonly requireConvergence?: boolean;
  /** `sim` (fast keyed hash, default) or `ed25519` (real signatures from seeded keys). */
  readonly authenticator?: 'sim' | 'ed25519';
}

/** Outcome of a simulation run. */
export interface PbftSimResult {
  readonly seed: number;
  /** True iff no safety violation and every request completed in time. */
  readonly ok: boolean;
  /** First safety violation or liveness failure. */
  readonly failure: string | undefined;
  readonly completed: number;
  readonly expected: number;
  readonly virtualTimeMs: number;
  readonly steps: number;
  /** Metrics of the replica instances at the end (latest incarnation). */
  readonly replicas: readonly PbftMetrics[];
  /** One line per replica (view, watermark, executed). */
  readonly states: readonly string[];
  readonly network: NetworkStats;
  readonly clientRetransmissions: number;
  /** Peak of {@link PbftReplica.logSize} over all replicas during the run (memory bound check). */
  readonly peakLogSize: number;
  /** How to replay this exact run. */
  readonly replay: string;
}

const CLIENT_BASE = 1000;

/** Simulation defaults for the protocol parameters (fast virtual timeouts, small windows). */
export function simConfig(f: number, overrides: Partial<PbftConfig> = {}): PbftConfig {
  return defaultPbftConfig(f, {
    checkpointInterval: 8,
    watermarkWindow: 16,
    batchMaxSize: 8,
    batchMaxDelayMs: 2,
    requestTimeoutMs: 500,
    maxViewChangeTimeoutMs: 8000,
    statusIntervalMs: 200,
    clientWindow: 64,
    ...overrides,
  });
}

/**
 * Run one seeded simulation. Never throws for protocol failures: they are reported in the
 * result (`ok = false`, `failure`).
 */
export function runPbftSimulation(opts: PbftSimOptions): PbftSimResult {
  const f = opts.f ?? 1;
  const config = simConfig(f, opts.config);
  const n = config.n;
  const nClients = opts.clients ?? 2;
  const perClient = opts.requestsPerClient ?? 20;
  const window = Math.min(opts.outstandingPerClient ?? 4, config.clientWindow);
  const maxTime = opts.maxTimeMs ?? 120_000;
  const rng = new SimRandom(opts.seed);
  const sched = new Scheduler();
  const net = new SimNetwork<Uint8Array>(sched, rng.fork('net'), opts.faults ?? RELIABLE);
  const authSeed = `sim-${opts.seed}`;
  const useEd = opts.authenticator === 'ed25519';
  const edKey = (label: string) => ed25519FromSeed(sha256(new TextEncoder().encode(`${authSeed}/${label}`)));
  const replicaKeys = Array.from({ length: n }, (_, r) => edKey(`replica/${r}`));
  const clientKeys = new Map<string, ReturnType<typeof edKey>>();
  const clientKey = (id: string): ReturnType<typeof edKey> => {
    let k = clientKeys.get(id);
    if (!k) clientKeys.set(id, (k = edKey(`client/${id}`)));
    return k;
  };
  const replicaAuth = (r: number): Authenticator =>
    useEd
      ? new Ed25519Authenticator({
          privateKey: replicaKeys[r]!.privateKey,
          replicaKeys: replicaKeys.map((k) => k.publicKey),
          clientKey: (id) => clientKey(id).publicKey,
        })
      : new SimAuthenticator(authSeed, r, n);
  const clientSigner = (id: string): ClientSigner =>
    useEd ? new Ed25519ClientSigner(clientKey(id).privateKey) : SimAuthenticator.clientSigner(authSeed, id);
  const byz = opts.byzantine;
  let failure: string | undefined;
  const fail = (msg: string): void => {
    failure ??= `t=${sched.now}ms: ${msg}`;
  };

  // ---- safety bookkeeping (correct replicas only)
  const decided = new Map<bigint, string>(); // seq → digest of the executed payload list
  const resultOf = new Map<string, string>(); // payload hex → result hex
  const correct = (r: number): boolean => byz?.replica !== r;
  const onExecute = (r: number) => (seq: bigint, payloads: readonly Uint8Array[], results: readonly Uint8Array[]) => {
    if (!correct(r)) return;
    const d = toHex(sha256(Buffer.concat(payloads.map((p) => Buffer.concat([Buffer.from(String(p.length) + ':'), p])))));
    const prev = decided.get(seq);
    if (prev === undefined) decided.set(seq, d);
    else if (prev !== d) fail(`SAFETY: replica ${r} executed a different batch at seq ${seq}`);
    payloads.forEach((p, i) => {
      const key = toHex(p);
      const res = toHex(results[i]!);
      const had = resultOf.get(key);
      if (had === undefined) resultOf.set(key, res);
      else if (had !== res) fail(`SAFETY: replica ${r} computed a different result for ${key}`);
    });
  };

  // ---- replicas
  const replicas: PbftReplica[] = [];
  const apps: HashChainApp[] = [];
  const timers: SimTimers<string>[] = [];
  const clientNode = new Map<string, number>();
  let peakLogSize = 0;
  const perform = (r: number, outs: readonly ReplicaOutput[]): void => {
    const size = replicas[r]!.logSize();
    if (size > peakLogSize) peakLogSize = size;
    for (const o of outs) {
      switch (o.kind) {
        case 'send':
          if (o.to === 'all') {
            for (let j = 0; j < n; j++) if (j !== r) net.send(r, j, o.bytes);
          } else net.send(r, o.to, o.bytes);
          break;
        case 'reply': {
          const c = clientNode.get(o.clientId);
          if (c !== undefined) net.send(r, c, o.bytes);
          break;
        }
        case 'set-timer':
          timers[r]!.set(o.timer, o.afterMs, () => perform(r, replicas[r]!.handle({ kind: 'timer', timer: o.timer })));
          break;
        case 'cancel-timer':
          timers[r]!.cancel(o.timer);
          break;
        default:
          break;
      }
    }
  };
  const boot = (r: number): void => {
    const app = new HashChainApp(onExecute(r));
    const rep = new PbftReplica(r, config, app, replicaAuth(r), {
      onDrop: (reason, detail) => {
        if (reason === 'internal-error') fail(`replica ${r} internal error: ${detail}`);
      },
    });
    apps[r] = app;
    replicas[r] = rep;
    timers[r] ??= new SimTimers<string>(sched);
    net.register(r, (from, bytes) => {
      const input = from >= CLIENT_BASE ? ({ kind: 'request', bytes } as const) : ({ kind: 'message', from, bytes } as const);
      perform(r, rep.handle(input));
    });
    perform(r, rep.start());
  };
  for (let r = 0; r < n; r++) boot(r);

  // ---- Byzantine behaviour
  if (byz) net.interceptor = byzantineInterceptor(byz, replicaAuth(byz.replica), rng.fork('byzantine'));

  // ---- clients
  const clients: PbftClientCore[] = [];
  const clientTimers: SimTimers<bigint>[] = [];
  let completed = 0;
  const expected = nClients * perClient;
  const submitted = new Array<number>(nClients).fill(0);
  const payloadOf = new Map<string, string>(); // `${client}#${id}` → payload hex
  const performClient = (c: number, outs: ReturnType<PbftClientCore['handle']>): void => {
    const node = CLIENT_BASE + c;
    for (const o of outs) {
      switch (o.kind) {
        case 'send':
          if (o.to === 'all') for (let j = 0; j < n; j++) net.send(node, j, o.bytes);
          else net.send(node, o.to, o.bytes);
          break;
        case 'set-timer':
          clientTimers[c]!.set(o.requestId, o.afterMs, () => performClient(c, clients[c]!.handle({ kind: 'timer', requestId: o.requestId })));
          break;
        case 'cancel-timer':
          clientTimers[c]!.cancel(o.requestId);
          break;
        case 'complete': {
          completed++;
          const payload = payloadOf.get(`${c}#${o.requestId}`)!;
          const want = resultOf.get(payload);
          if (want === undefined) fail(`client ${c} accepted request ${o.requestId} that no correct replica executed`);
          else if (want !== toHex(o.result)) fail(`SAFETY: client ${c} accepted a wrong result for request ${o.requestId}`);
          submitNext(c);
          break;
        }
      }
    }
  };
  const submitNext = (c: number): void => {
    const cl = clients[c]!;
    while (submitted[c]! < perClient && cl.outstandingCount < window && cl.canSubmit()) {
      const payload = new TextEncoder().encode(`c${c}-r${submitted[c]}-${rng.nextU32()}`);
      submitted[c]!++;
      const { requestId, outputs } = cl.submit(payload);
      payloadOf.set(`${c}#${requestId}`, toHex(payload));
      performClient(c, outputs);
    }
  };
  for (let c = 0; c < nClients; c++) {
    const id = `client-${c}`;
    clientNode.set(id, CLIENT_BASE + c);
    const verify = replicaAuth(0);
    clients[c] = new PbftClientCore(
      id,
      { n, f, retransmitTimeoutMs: config.requestTimeoutMs * 2, clientWindow: config.clientWindow },
      clientSigner(id),
      // Unsigned replies: the simulated link already tells the client which replica sent it.
      (replica, bytes, sig) => config.signReplies === false || verify.verify(replica, bytes, sig),
    );
    clientTimers[c] = new SimTimers<bigint>(sched);
    net.register(CLIENT_BASE + c, (from, bytes) => performClient(c, clients[c]!.handle({ kind: 'reply', from, bytes })));
    sched.after(rng.range(0, 20), () => submitNext(c));
  }

  // ---- fault schedule
  if ((opts.healAtMs ?? 0) > 0)
    sched.at(opts.healAtMs!, () => {
      net.setFaults(RELIABLE);
      net.heal();
    });
  for (const ev of opts.events ?? []) {
    sched.at(ev.atMs, () => {
      switch (ev.action) {
        case 'crash':
          net.crash(ev.replica);
          timers[ev.replica]!.cancelAll();
          break;
        case 'restart':
          timers[ev.replica]!.cancelAll();
          net.recover(ev.replica);
          boot(ev.replica); // state is lost: fresh app and core
          break;
        case 'partition':
          net.partition(ev.groups);
          break;
        case 'heal':
          net.heal();
          break;
        case 'slow':
          net.setSlow(ev.replica, ev.extraDelayMs);
          break;
        case 'faults':
          net.setFaults(ev.faults);
          break;
      }
    });
  }

  let stop: string;
  try {
    stop = sched.runUntil(() => failure !== undefined || completed === expected, maxTime, 5_000_000);
  } catch (e) {
    stop = 'error';
    fail(`simulation error: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!failure && completed !== expected) fail(`LIVENESS: ${completed}/${expected} requests completed (stopped: ${stop})`);
  if (!failure && opts.requireConvergence) {
    const live = replicas.filter((_, r) => correct(r) && !net.isCrashed(r));
    const converged = (): boolean => {
      const top = live.reduce((m, r) => (r.metrics().lastExecuted > m ? r.metrics().lastExecuted : m), 0n);
      return live.every((r) => r.metrics().lastExecuted === top);
    };
    try {
      stop = sched.runUntil(() => failure !== undefined || converged(), maxTime, 5_000_000);
    } catch (e) {
      fail(`simulation error: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!failure && !converged()) fail(`CONVERGENCE: live replicas did not reach the same sequence number (stopped: ${stop})`);
  }
  for (let r = 0; r < n; r++) if (correct(r)) for (const v of apps[r]!.violations) fail(`replica ${r}: ${v}`);
  return {
    seed: opts.seed,
    ok: failure === undefined,
    failure,
    completed,
    expected,
    virtualTimeMs: sched.now,
    steps: sched.steps,
    replicas: replicas.map((r) => r.metrics()),
    states: replicas.map((r) => r.describe()),
    network: { ...net.stats },
    clientRetransmissions: clients.reduce((s, c) => s + c.metrics().retransmissions, 0),
    peakLogSize,
    replay: `runPbftSimulation(${JSON.stringify(opts)})`,
  };
}
