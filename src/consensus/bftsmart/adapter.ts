/**
 * The BFT-SMaRt consensus adapter: {@link ConsensusAdapter} over a supervised glue JVM that
 * runs a BFT-SMaRt `ServiceReplica` (Bessani, Sousa, Alchieri, "State Machine Replication for
 * the Masses with BFT-SMART", DSN 2014) plus an `AsynchServiceProxy` relaying CART's requests.
 *
 * Mapping:
 *  - `submit(request)` → SUBMIT on the link → `AsynchServiceProxy.invokeAsynchRequest`; resolves
 *    when the reply quorum (f+1) of matching replies arrived, i.e. the request was ordered and
 *    executed by at least one correct replica.
 *  - BFT-SMaRt `appExecuteBatch` → EXECUTE → one {@link OrderedBatch} per consensus instance,
 *    `sequence = consensusId + 1` ({@link sequenceOfConsensus}); results go back as
 *    BFT-SMaRt's replies.
 *  - `getSnapshot` / `installSnapshot` (checkpoints every `checkpoint_period` consensus
 *    instances; state transfer) → SNAPSHOT / RESTORE → {@link ApplicationProxy.snapshot} /
 *    {@link ApplicationProxy.restore}, the snapshot framed with its sequence.
 *  - A change of BFT-SMaRt's regency (its leader-change round) is reported as a `view-change`
 *    event with `view = regency`, a new leader as a `leader` event.
 *
 * Failures: the JVM is restarted on crash with back-off (see {@link GlueProcess}); submissions
 * outstanding at the crash are rejected with {@link GlueProcessError}; the restarted replica
 * catches up through BFT-SMaRt's state transfer (RESTORE, then replay). CART's state survives
 * a JVM restart, so a transferred snapshot older than it is not installed (no roll-back) and
 * a batch that arrives again (sequence ≤ last applied, e.g. in the replay) is not executed
 * twice: it is answered with empty results and counted. After the application proxy failed
 * mid-batch, the next transferred snapshot is always installed.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { AdapterEvent, ApplicationProxy, ConsensusAdapter } from '../adapter.ts';
import type { BackoffOptions } from '../../net/backoff.ts';
import { checkBftSmartHome, readHostsConfig, readSystemProperty } from './config.ts';
import { compileGlue } from './compile.ts';
import {
  BftSmartConfigError,
  BftSmartOverloadedError,
  BftSmartRejectedError,
  BftSmartRequestTooLargeError,
  BftSmartStoppedError,
  BftSmartTimeoutError,
  GlueProcessError,
} from './errors.ts';
import { GlueProcess } from './process.ts';
import {
  MsgType,
  decodeSnapshot,
  encodeCancel,
  encodeRequest,
  encodeRestored,
  encodeResults,
  encodeSnapshot,
  encodeSnapshotData,
  sequenceOfConsensus,
  type GlueMessage,
} from './protocol.ts';

/** Bytes reserved for BFT-SMaRt's TOMMessage header and the glue's tag byte in `maxRequestSize`. */
export const REQUEST_OVERHEAD_BYTES = 256;

/** Options of {@link createBftSmartAdapter}. */
export interface BftSmartAdapterOptions {
  /** The user's BFT-SMaRt build (jar, `lib/`, `config/`). */
  readonly home: string;
  /** This replica's BFT-SMaRt id (0..n-1). */
  readonly replicaId: number;
  /**
   * Work directory of this replica's JVM; must contain `config/` written by
   * {@link ./config.ts writeBftSmartConfig}.
   */
  readonly workDir: string;
  /** BFT-SMaRt client id of the relay proxy; default `1000 + replicaId`. Unique per cluster. */
  readonly clientId?: number;
  /** Milliseconds until an unanswered submission is rejected with {@link BftSmartTimeoutError} (default 30 000). */
  readonly submitTimeoutMs?: number;
  /**
   * Submissions outstanding at once before {@link BftSmartOverloadedError}. Default: BFT-SMaRt's
   * `system.communication.useControlFlow` (its per-client pending limit; requests beyond it are
   * silently dropped by the replicas), else 1000.
   */
  readonly maxOutstanding?: number;
  /** Link output bytes pending before submissions are refused as overloaded (default 8 MiB). */
  readonly maxPendingSubmitBytes?: number;
  /**
   * Largest request (bytes); default BFT-SMaRt's `system.communication.maxRequestSize` (else
   * 100 000) minus {@link REQUEST_OVERHEAD_BYTES}.
   */
  readonly maxRequestBytes?: number;
  /** JVM options; default `['-Xmx384m', '-XX:+UseSerialGC']` (plus the security/logback properties). */
  readonly jvmArgs?: readonly string[];
  /** Java and javac executables (default from PATH). */
  readonly java?: string;
  readonly javac?: string;
  /** Cache for the compiled glue (default `~/.cache/cart`). */
  readonly cacheDir?: string;
  /** Milliseconds a JVM may take to become ready (default 120 000). */
  readonly readyTimeoutMs?: number;
  /** Milliseconds the JVM waits for the other replicas' ports before creating its client (default 30 000). */
  readonly peerWaitMs?: number;
  /**
   * Milliseconds a (re)starting replica may spend retrieving state before the glue orders a no-op
   * to move an idle cluster past its last checkpoint (then every 5 s; default 15 000).
   */
  readonly nudgeAfterMs?: number;
  /** Restart back-off. */
  readonly backoff?: BackoffOptions;
  /** Logger (pino); default silent. JVM stderr lines are logged at warn. */
  readonly logger?: Logger;
  /** Random source for back-off jitter (default `Math.random`). */
  readonly random?: () => number;
}

/** Counters of a {@link BftSmartAdapter}. */
export interface BftSmartAdapterStats {
  /** Ordered batches executed (consensus instances with at least one request). */
  batchesExecuted: number;
  /** Batches received again with a sequence already applied, not executed. */
  duplicateBatches: number;
  /** Batches re-executed from BFT-SMaRt's log during state transfer (EXECUTE with fromConsensus = 0). */
  replayedBatches: number;
  /** Snapshots installed by state transfer. */
  snapshotsInstalled: number;
  /**
   * Transferred snapshots not installed because this replica's state was already at or past
   * their sequence (a JVM restart while CART kept its state); the replay that follows skips
   * the batches already applied.
   */
  snapshotsSkipped: number;
  /** Snapshots rejected by the application proxy. */
  snapshotsRejected: number;
  submitted: number;
  ordered: number;
  rejected: number;
  timedOut: number;
}

interface Pending {
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** See the module documentation. Create with {@link createBftSmartAdapter}. */
export class BftSmartAdapter implements ConsensusAdapter {
  readonly protocol = 'bftsmart';
  readonly stats: BftSmartAdapterStats = {
    batchesExecuted: 0,
    duplicateBatches: 0,
    replayedBatches: 0,
    snapshotsInstalled: 0,
    snapshotsSkipped: 0,
    snapshotsRejected: 0,
    submitted: 0,
    ordered: 0,
    rejected: 0,
    timedOut: 0,
  };
  private readonly listeners: Array<(e: AdapterEvent) => void> = [];
  private readonly pending = new Map<number, Pending>();
  private nextSubmit = 1;
  private proxy: ApplicationProxy | undefined;
  private process: GlueProcess | undefined;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private lastApplied = 0n;
  /** Set when the proxy failed mid-batch: its state is unknown until a snapshot is installed. */
  private stateSuspect = false;
  private initialSnapshot: Uint8Array = new Uint8Array(0);
  private snapshotsThisIncarnation = 0;
  private regency = -1;
  private leader = -1;
  private readonly maxRequestBytes: number;
  private readonly maxOutstanding: number;
  private readonly configDir: string;

  /** @internal use {@link createBftSmartAdapter}. */
  constructor(private readonly o: BftSmartAdapterOptions) {
    this.configDir = resolve(o.workDir, 'config');
    // BFT-SMaRt silently discards a client message whose serialized frame (TOMMessage header +
    // our tag byte + request) exceeds maxRequestSize; keep a margin for the header.
    const configured = Number(readSystemProperty(this.configDir, 'system.communication.maxRequestSize') ?? 100_000);
    const limit = o.maxRequestBytes ?? (Number.isSafeInteger(configured) ? configured - REQUEST_OVERHEAD_BYTES : 0);
    this.maxRequestBytes = Number.isSafeInteger(limit) && limit > 0 ? limit : 100_000 - REQUEST_OVERHEAD_BYTES;
    const flow = Number(readSystemProperty(this.configDir, 'system.communication.useControlFlow') ?? 0);
    this.maxOutstanding = o.maxOutstanding ?? (Number.isSafeInteger(flow) && flow > 0 ? flow : 1000);
  }

  /** Sequence of the last batch applied (or restored) at this replica. */
  get appliedSequence(): bigint {
    return this.lastApplied;
  }

  /** The supervised JVM (pid, restarts, stderr) — for operators and fault-injection tests. */
  get jvm(): GlueProcess | undefined {
    return this.process;
  }

  /** Submissions waiting for their reply quorum. */
  get outstanding(): number {
    return this.pending.size;
  }

  /**
   * Compile the glue if needed, start the JVM and wait until the BFT-SMaRt replica is up to date
   * and the relay client connected (12–14 s typically; a replica restarting into an idle cluster
   * whose last decision is a checkpoint needs `nudgeAfterMs` more, see docs/bftsmart.md). The
   * proxy must be in its initial (empty) state.
   * @throws {GlueCompileError} javac failed; {@link GlueProcessError} the JVM failed before
   *   ready (stderr attached); {@link BftSmartConfigError} bad home or replica id.
   */
  async start(proxy: ApplicationProxy): Promise<void> {
    if (this.state !== 'new') throw new BftSmartStoppedError('BFT-SMaRt adapter cannot be started twice; create a new one');
    this.state = 'starting';
    this.proxy = proxy;
    let jars: string[];
    let peers: ReturnType<typeof readHostsConfig>;
    let glue: string;
    try {
      jars = checkBftSmartHome(this.o.home);
      peers = readHostsConfig(this.configDir);
      if (!peers.some((p) => p.id === this.o.replicaId)) {
        throw new BftSmartConfigError(`replica ${this.o.replicaId} is not in ${join(this.configDir, 'hosts.config')}`);
      }
      glue = await compileGlue(jars, { cacheDir: this.o.cacheDir, javac: this.o.javac });
    } catch (err) {
      this.state = 'stopped';
      throw err;
    }
    if ((this.state as string) === 'stopped') throw new BftSmartStoppedError('adapter stopped during start');
    this.initialSnapshot = encodeSnapshot(0n, proxy.snapshot());
    mkdirSync(this.o.workDir, { recursive: true });
    this.process = new GlueProcess({
      name: `bftsmart replica ${this.o.replicaId}`,
      classpath: [glue, ...jars],
      cwd: this.o.workDir,
      java: this.o.java,
      jvmArgs: [
        ...(this.o.jvmArgs ?? ['-Xmx384m', '-XX:+UseSerialGC']),
        `-Djava.security.properties=${join(this.configDir, 'java.security')}`,
        `-Dlogback.configurationFile=${join(this.configDir, 'logback.xml')}`,
      ],
      args: (port) => [
        'replica',
        '--id', String(this.o.replicaId),
        '--config', this.configDir,
        '--port', String(port),
        '--client-id', String(this.o.clientId ?? 1000 + this.o.replicaId),
        '--peers', peers.map((p) => `${p.host ?? '127.0.0.1'}:${p.port}`).join(','),
        '--peer-wait-ms', String(this.o.peerWaitMs ?? 30_000),
        '--nudge-after-ms', String(this.o.nudgeAfterMs ?? 15_000),
      ],
      onMessage: (m) => this.onMessage(m),
      onConnect: () => (this.snapshotsThisIncarnation = 0),
      onExit: (err) => this.onJvmExit(err),
      backoff: this.o.backoff,
      readyTimeoutMs: this.o.readyTimeoutMs,
      logger: this.o.logger,
      random: this.o.random,
    });
    try {
      await this.process.start();
    } catch (err) {
      this.state = 'stopped';
      throw err;
    }
    if ((this.state as string) === 'stopped') return; // stop() raced with start()
    this.state = 'running';
  }

  /**
   * Submit one request for ordering; resolves once f+1 replicas replied with matching results.
   * @throws (rejection) {@link BftSmartStoppedError} not running or the JVM is restarting;
   *   {@link BftSmartRequestTooLargeError}; {@link BftSmartOverloadedError} too many outstanding
   *   or link output backed up; {@link BftSmartTimeoutError} no reply quorum in time;
   *   {@link BftSmartRejectedError} BFT-SMaRt refused to send it; {@link GlueProcessError} the
   *   JVM died with the request outstanding.
   */
  submit(request: Uint8Array): Promise<void> {
    const proc = this.process;
    if (this.state !== 'running' || proc === undefined || !proc.ready) {
      return Promise.reject(new BftSmartStoppedError(`BFT-SMaRt replica ${this.o.replicaId} is not ready (${this.state})`));
    }
    if (request.length > this.maxRequestBytes) return Promise.reject(new BftSmartRequestTooLargeError(request.length, this.maxRequestBytes));
    if (this.pending.size >= this.maxOutstanding || proc.pendingOutputBytes > (this.o.maxPendingSubmitBytes ?? 8 * 1024 * 1024)) {
      return Promise.reject(new BftSmartOverloadedError(`BFT-SMaRt replica ${this.o.replicaId}: ${this.pending.size} submissions outstanding`));
    }
    const id = this.nextSubmit;
    this.nextSubmit = this.nextSubmit >= 0x7fff_ffff ? 1 : this.nextSubmit + 1;
    return new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) {
          this.stats.timedOut++;
          proc.send(encodeCancel(id));
          reject(new BftSmartTimeoutError(`request not ordered within ${this.o.submitTimeoutMs ?? 30_000} ms`));
        }
      }, this.o.submitTimeoutMs ?? 30_000);
      this.pending.set(id, { resolve: resolvePromise, reject, timer });
      if (!proc.send(encodeRequest(MsgType.SUBMIT, id, request))) {
        this.settle(id, new BftSmartOverloadedError('glue link output is backed up'));
        return;
      }
      this.stats.submitted++;
    });
  }

  /** Subscribe to view-change, leader, state-transfer and error events. */
  onEvent(listener: (event: AdapterEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Terminate the JVM and reject outstanding submissions. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' && this.process === undefined) return;
    this.state = 'stopped';
    for (const id of [...this.pending.keys()]) this.settle(id, new BftSmartStoppedError('adapter stopped'));
    const proc = this.process;
    this.process = undefined;
    await proc?.stop();
  }

  private settle(id: number, error?: Error): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (error === undefined) {
      this.stats.ordered++;
      p.resolve();
    } else {
      this.stats.rejected++;
      p.reject(error);
    }
  }

  private onJvmExit(error: GlueProcessError): void {
    for (const id of [...this.pending.keys()]) this.settle(id, error);
    this.emit({ kind: 'error', error });
  }

  private onMessage(m: GlueMessage): void {
    const proxy = this.proxy!;
    const proc = this.process;
    if (proc === undefined) return;
    switch (m.type) {
      case 'execute': {
        const results: Uint8Array[] = [];
        for (const b of m.batches) {
          const sequence = sequenceOfConsensus(b.consensusId);
          this.observeLeadership(b.regency, b.leader);
          if (sequence <= this.lastApplied) {
            this.stats.duplicateBatches++;
            for (let i = 0; i < b.requests.length; i++) results.push(new Uint8Array(0));
            continue;
          }
          if (b.requests.length === 0) {
            // Only glue no-ops (or foreign untagged requests) were ordered here: nothing for CART.
            this.lastApplied = sequence;
            continue;
          }
          let out: Uint8Array[];
          try {
            out = proxy.executeBatch({ sequence, requests: b.requests.map((r) => Uint8Array.from(r)) });
            if (out.length !== b.requests.length) throw new Error(`executeBatch returned ${out.length} results for ${b.requests.length} requests`);
          } catch (err) {
            // The contract says executeBatch never throws; if it does the state is unknown:
            // restart the JVM so that state transfer replaces it.
            this.stateSuspect = true;
            this.emit({ kind: 'error', error: err instanceof Error ? err : new Error(String(err)) });
            proc.fail('application proxy failed to execute a batch');
            return;
          }
          results.push(...out);
          this.lastApplied = sequence;
          this.stats.batchesExecuted++;
          if (!m.fromConsensus) this.stats.replayedBatches++;
        }
        if (!proc.send(encodeResults(m.call, results))) proc.fail('could not queue RESULTS');
        return;
      }
      case 'snapshot': {
        // The first snapshot of an incarnation is BFT-SMaRt's initial state (consensus -1),
        // which must be identical at all replicas: the state before any batch.
        const first = this.snapshotsThisIncarnation++ === 0;
        const data = first ? this.initialSnapshot : encodeSnapshot(this.lastApplied, proxy.snapshot());
        if (!proc.send(encodeSnapshotData(m.call, data))) proc.fail('could not queue SNAPSHOT_DATA');
        return;
      }
      case 'restore': {
        let reply: Buffer;
        try {
          const { sequence, snapshot } = decodeSnapshot(m.snapshot);
          if (sequence <= this.lastApplied && !this.stateSuspect) {
            // Our state already covers this snapshot (only the JVM restarted): keep it, never
            // roll back; the replayed batches up to lastApplied are skipped as duplicates.
            this.stats.snapshotsSkipped++;
          } else {
            proxy.restore(Uint8Array.from(snapshot), sequence);
            this.lastApplied = sequence;
            this.stateSuspect = false;
            this.stats.snapshotsInstalled++;
          }
          this.emit({ kind: 'state-transfer', sequence: this.lastApplied });
          reply = encodeRestored(m.call, true);
        } catch (err) {
          this.stats.snapshotsRejected++;
          const error = err instanceof Error ? err : new Error(String(err));
          this.emit({ kind: 'error', error });
          reply = encodeRestored(m.call, false, error.message);
        }
        if (!proc.send(reply)) proc.fail('could not queue RESTORED');
        return;
      }
      case 'submitted':
        this.settle(m.id, m.ok ? undefined : new BftSmartRejectedError(m.message));
        return;
      case 'ready':
      case 'hello':
      case 'invoked':
        return;
    }
  }

  private observeLeadership(regency: number, leader: number): void {
    if (regency > this.regency) {
      const first = this.regency < 0 && regency === 0;
      this.regency = regency;
      if (!first) this.emit({ kind: 'view-change', view: BigInt(regency) });
    }
    if (leader !== this.leader) {
      this.leader = leader;
      this.emit({ kind: 'leader', leader });
    }
  }

  private emit(event: AdapterEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a listener's failure must not disturb delivery
      }
    }
  }
}

/**
 * Create the BFT-SMaRt adapter of one CART replica. Call {@link ./config.ts writeBftSmartConfig}
 * for `workDir` first. Nothing starts until `start(proxy)`.
 * @throws {BftSmartConfigError} if `workDir/config` is missing.
 */
export function createBftSmartAdapter(options: BftSmartAdapterOptions): BftSmartAdapter {
  if (!Number.isInteger(options.replicaId) || options.replicaId < 0) throw new BftSmartConfigError(`invalid replica id ${options.replicaId}`);
  try {
    readSystemProperty(resolve(options.workDir, 'config'), 'system.servers.num');
  } catch {
    throw new BftSmartConfigError(`${resolve(options.workDir, 'config')} has no system.config: call writeBftSmartConfig first`);
  }
  return new BftSmartAdapter(options);
}
