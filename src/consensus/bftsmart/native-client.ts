/**
 * Baseline for `cart bench --consensus bftsmart`: BFT-SMaRt's OWN client (f+1 reply voting in
 * `ServiceProxy.invokeOrdered`), driven from TypeScript over the same glue link (INVOKE /
 * INVOKED, see `./protocol.ts`). The glue JVM runs `threads` blocking ServiceProxy instances,
 * so at most `threads` invocations are in flight (closed loop); more are queued in the JVM.
 *
 * Requests are passed to the replicas unchanged: a benchmark compares the native client and the
 * CART client on the same replicas by sending the same (CART-encoded) requests through both.
 */
import { randomInt } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { checkBftSmartHome, readHostsConfig } from './config.ts';
import { compileGlue } from './compile.ts';
import { BftSmartOverloadedError, BftSmartRejectedError, BftSmartStoppedError, GlueProcessError } from './errors.ts';
import { GlueProcess } from './process.ts';
import { MsgType, encodeRequest, type GlueMessage } from './protocol.ts';

/** Options of {@link startBftSmartNativeClient}. */
export interface BftSmartNativeClientOptions {
  /** The user's BFT-SMaRt build. */
  readonly home: string;
  /** Directory whose `config/` was written by `writeBftSmartConfig` (cwd of the JVM). */
  readonly workDir: string;
  /** Concurrent ServiceProxy instances = invocations in flight (default 1). */
  readonly threads?: number;
  /** Client id of the first proxy (default: random ≥ 20 000, so runs never reuse ids). */
  readonly clientIdBase?: number;
  /** Invocations queued (in flight + waiting) before {@link BftSmartOverloadedError} (default 100 000). */
  readonly maxQueued?: number;
  readonly jvmArgs?: readonly string[];
  readonly java?: string;
  readonly javac?: string;
  readonly cacheDir?: string;
  readonly readyTimeoutMs?: number;
  readonly logger?: Logger;
}

interface Waiting {
  readonly resolve: (r: Uint8Array) => void;
  readonly reject: (e: Error) => void;
}

/** A running native-client JVM. Create with {@link startBftSmartNativeClient}. */
export class BftSmartNativeClient {
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private stopped = false;

  /** @internal */
  constructor(
    private readonly process: GlueProcess,
    private readonly maxQueued: number,
  ) {}

  /** @internal */
  onMessage(m: GlueMessage): void {
    if (m.type !== 'invoked') return;
    const w = this.waiting.get(m.id);
    if (w === undefined) return;
    this.waiting.delete(m.id);
    if (m.ok) w.resolve(Uint8Array.from(m.payload));
    else w.reject(new BftSmartRejectedError(Buffer.from(m.payload).toString('utf8')));
  }

  /** @internal */
  onExit(error: GlueProcessError): void {
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
  }

  /** Invocations queued or in flight. */
  get outstanding(): number {
    return this.waiting.size;
  }

  /**
   * Invoke one ordered request with BFT-SMaRt's client; resolves with the voted result.
   * @throws (rejection) {@link BftSmartStoppedError}, {@link BftSmartOverloadedError},
   *   {@link BftSmartRejectedError} (no quorum before BFT-SMaRt's invoke timeout),
   *   {@link GlueProcessError} (the JVM died).
   */
  invoke(request: Uint8Array): Promise<Uint8Array> {
    if (this.stopped || !this.process.ready) return Promise.reject(new BftSmartStoppedError('native client is not running'));
    if (this.waiting.size >= this.maxQueued) return Promise.reject(new BftSmartOverloadedError(`${this.waiting.size} invocations queued`));
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fff_ffff ? 1 : this.nextId + 1;
    return new Promise<Uint8Array>((resolvePromise, reject) => {
      this.waiting.set(id, { resolve: resolvePromise, reject });
      if (!this.process.send(encodeRequest(MsgType.INVOKE, id, request))) {
        this.waiting.delete(id);
        reject(new BftSmartOverloadedError('glue link output is backed up'));
      }
    });
  }

  /** Terminate the JVM; queued invocations are rejected. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.waiting.values()) w.reject(new BftSmartStoppedError('native client stopped'));
    this.waiting.clear();
    await this.process.stop();
  }
}

/**
 * Start BFT-SMaRt's native client (baseline) against the replicas in `workDir/config`.
 * Resolves once its proxies are connected.
 * @throws {GlueCompileError}, {@link GlueProcessError} (stderr attached), {@link BftSmartConfigError}.
 */
export async function startBftSmartNativeClient(o: BftSmartNativeClientOptions): Promise<BftSmartNativeClient> {
  const jars = checkBftSmartHome(o.home);
  const configDir = resolve(o.workDir, 'config');
  const peers = readHostsConfig(configDir);
  const glue = await compileGlue(jars, { cacheDir: o.cacheDir, javac: o.javac });
  const threads = o.threads ?? 1;
  const base = o.clientIdBase ?? 20_000 + randomInt(0, 1_000_000) * 64;
  let client: BftSmartNativeClient | undefined;
  const proc = new GlueProcess({
    name: 'bftsmart native client',
    classpath: [glue, ...jars],
    cwd: o.workDir,
    java: o.java,
    jvmArgs: [
      ...(o.jvmArgs ?? ['-Xmx256m', '-XX:+UseSerialGC']),
      `-Djava.security.properties=${join(configDir, 'java.security')}`,
      `-Dlogback.configurationFile=${join(configDir, 'logback.xml')}`,
    ],
    args: (port) => [
      'client',
      '--config', configDir,
      '--port', String(port),
      '--client-id', String(base),
      '--threads', String(threads),
      '--peers', peers.map((p) => `${p.host ?? '127.0.0.1'}:${p.port}`).join(','),
    ],
    onMessage: (m) => client?.onMessage(m),
    onExit: (e) => client?.onExit(e),
    restart: false,
    readyTimeoutMs: o.readyTimeoutMs,
    logger: o.logger,
  });
  client = new BftSmartNativeClient(proc, o.maxQueued ?? 100_000);
  await proc.start();
  return client;
}
