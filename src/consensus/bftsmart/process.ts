/**
 * Supervisor of one glue JVM (`java/bftsmart-glue`, main class `cart.bftsmart.GlueMain`).
 *
 * - Listens on 127.0.0.1 (port 0: a free port) for the JVM's link; the JVM gets the port on its
 *   command line and a random token in its environment, and must send HELLO with that token
 *   first (any other local process connecting is dropped and counted).
 * - Spawns the JVM; logs its stdout (debug) and stderr (warn) line by line and keeps the last
 *   stderr lines for error messages ({@link GlueProcessError.stderrTail}).
 * - If the JVM exits unexpectedly (crash, `CART-GLUE FATAL`, killed), reports it and restarts it
 *   after an exponential back-off with jitter (`src/net/backoff.ts`); the attempt counter resets
 *   once an incarnation becomes ready. A JVM that does not become ready within `readyTimeoutMs`
 *   is killed (and so restarted). The first incarnation failing rejects {@link GlueProcess.start}
 *   (configuration errors surface at once instead of looping), unless it exits with
 *   {@link GLUE_RETRY_EXIT_CODE} (a transient failure; restarted up to {@link MAX_START_RETRIES} times).
 * - Link framing: `src/net/frame.ts` (4-byte length prefix, payload); messages:
 *   `./protocol.ts`. Sends are refused (false) when the socket's pending output exceeds
 *   `maxQueuedBytes`: callers turn that into back-pressure errors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { delimiter } from 'node:path';
import { pino, type Logger } from 'pino';
import { FrameDecoder, encodeFrame } from '../../net/frame.ts';
import { backoffDelay, type BackoffOptions } from '../../net/backoff.ts';
import { GlueProcessError, GlueProtocolError } from './errors.ts';
import { decodeGlueMessage, type GlueMessage } from './protocol.ts';
import { GLUE_MAIN_CLASS } from './compile.ts';

/**
 * Exit code with which the glue asks to be restarted even before READY: a transient failure
 * (e.g. BFT-SMaRt declared a restarted replica up to date without transferring the state).
 */
export const GLUE_RETRY_EXIT_CODE = 75;

/** Restarts of a first incarnation that exits with {@link GLUE_RETRY_EXIT_CODE} before `start` gives up. */
export const MAX_START_RETRIES = 5;

/** Largest frame accepted on the link (snapshots travel on it): 256 MiB. */
export const GLUE_MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** Options of a {@link GlueProcess}. */
export interface GlueProcessOptions {
  /** Label for logs and errors, e.g. `bftsmart replica 2`. */
  readonly name: string;
  /** Classpath: compiled glue directory plus BFT-SMaRt's jars. */
  readonly classpath: readonly string[];
  /** Arguments after the main class, given the link port (e.g. `['replica', '--id', '0', ...]`). */
  readonly args: (linkPort: number) => string[];
  /** Working directory of the JVM (BFT-SMaRt writes relative files there). */
  readonly cwd: string;
  /** JVM options before the classpath (e.g. `-Xmx256m`, `-Djava.security.properties=...`). */
  readonly jvmArgs?: readonly string[];
  /** Java executable; default `java`. */
  readonly java?: string;
  /** Called for every message of the current incarnation after HELLO. Must not throw. */
  readonly onMessage: (message: GlueMessage) => void;
  /** A new incarnation connected (before READY). */
  readonly onConnect?: (incarnation: number) => void;
  /** The current incarnation exited or its link broke (it is being restarted unless stopping). */
  readonly onExit?: (error: GlueProcessError) => void;
  /** Restart after an unexpected exit (default true). */
  readonly restart?: boolean;
  /** Back-off between restarts; default 1 s initial, ×2, 30 s max. */
  readonly backoff?: BackoffOptions;
  /** Milliseconds an incarnation may take to send READY (default 120 000; BFT-SMaRt needs 12–14 s). */
  readonly readyTimeoutMs?: number;
  /** Pending output bytes beyond which {@link GlueProcess.send} refuses (default 64 MiB). */
  readonly maxQueuedBytes?: number;
  /** Logger (pino); default silent. */
  readonly logger?: Logger;
  /** Uniform random source in [0, 1) for back-off jitter; default `Math.random`. */
  readonly random?: () => number;
  /** Lines of stderr kept for error messages (default 40). */
  readonly stderrLines?: number;
}

/** Counters of a {@link GlueProcess}. */
export interface GlueProcessStats {
  /** JVM processes spawned. */
  spawned: number;
  /** Unexpected exits (crashes) so far. */
  crashes: number;
  /** Link connections refused (bad or missing HELLO, malformed frame). */
  rejectedConnections: number;
  /** Frames not sent because the pending output was above `maxQueuedBytes`. */
  refusedSends: number;
}

/** One supervised glue JVM. */
export class GlueProcess {
  readonly stats: GlueProcessStats = { spawned: 0, crashes: 0, rejectedConnections: 0, refusedSends: 0 };
  private readonly log: Logger;
  private readonly token = randomBytes(16).toString('hex');
  private server: Server | undefined;
  private port = 0;
  private child: ChildProcess | undefined;
  private link: Socket | undefined;
  private stderrTail: string[] = [];
  private incarnation = 0;
  private attempt = 0;
  private stopping = false;
  private isReady = false;
  private readyTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private firstReady: { resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(private readonly o: GlueProcessOptions) {
    this.log = (o.logger ?? pino({ level: 'silent' })).child({ glue: o.name });
  }

  /** True while the current incarnation is connected and has sent READY. */
  get ready(): boolean {
    return this.isReady;
  }

  /** Pid of the current JVM (undefined between incarnations). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Number of JVMs spawned so far (1 after the first start). */
  get incarnations(): number {
    return this.incarnation;
  }

  /** Last stderr lines of the JVM, newest last. */
  get recentStderr(): string {
    return this.stderrTail.join('\n');
  }

  /**
   * Listen, spawn the JVM and wait for its READY.
   * @throws {GlueProcessError} if the first incarnation exits or times out before READY (with its
   *   stderr tail), or the JVM cannot be spawned (e.g. `java` not found).
   */
  async start(): Promise<void> {
    if (this.server !== undefined) throw new GlueProcessError(`${this.o.name}: already started`, '');
    const server = createServer((socket) => this.onConnection(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as { port: number }).port;
    const ready = new Promise<void>((resolve, reject) => (this.firstReady = { resolve, reject }));
    this.spawnJvm();
    try {
      await ready;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /**
   * Send one message to the current incarnation.
   * @returns false if there is no link or its pending output exceeds `maxQueuedBytes` (counted)
   */
  send(message: Uint8Array): boolean {
    const link = this.link;
    if (link === undefined || link.destroyed) return false;
    if (link.writableLength + message.length > (this.o.maxQueuedBytes ?? 64 * 1024 * 1024)) {
      this.stats.refusedSends++;
      return false;
    }
    link.write(encodeFrame(message, GLUE_MAX_FRAME_BYTES));
    return true;
  }

  /** Bytes written to the link but not yet handed to the kernel (0 without a link). */
  get pendingOutputBytes(): number {
    return this.link?.writableLength ?? 0;
  }

  /**
   * Kill the current JVM with `signal` (default SIGKILL) as an injected crash: it is restarted
   * like after any other crash. For fault-injection tests and operators.
   */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  /**
   * Treat the current incarnation as failed (e.g. its state is unknown): kill it so that it is
   * restarted. Same as {@link kill} with SIGKILL, with a reason in the log.
   */
  fail(reason: string): void {
    this.log.error({ reason }, 'killing the glue JVM');
    this.kill('SIGKILL');
  }

  /** Stop supervising, terminate the JVM (SIGTERM, SIGKILL after 5 s), close the listener. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.isReady = false;
    if (this.firstReady !== undefined) {
      const first = this.firstReady;
      this.firstReady = undefined;
      first.reject(new GlueProcessError(`${this.o.name}: stopped before the glue JVM was ready`, this.recentStderr));
    }
    clearTimeout(this.readyTimer);
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child !== undefined && child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    this.child = undefined;
    this.link?.destroy();
    this.link = undefined;
    const server = this.server;
    if (server !== undefined && server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private spawnJvm(): void {
    if (this.stopping) return;
    this.incarnation++;
    this.stats.spawned++;
    this.stderrTail = [];
    const args = [...(this.o.jvmArgs ?? []), '-cp', this.o.classpath.join(delimiter), GLUE_MAIN_CLASS, ...this.o.args(this.port)];
    this.log.info({ incarnation: this.incarnation }, 'starting glue JVM');
    const child = spawn(this.o.java ?? 'java', args, {
      cwd: this.o.cwd,
      env: { ...process.env, CART_GLUE_TOKEN: this.token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const incarnation = this.incarnation;
    lines(child.stdout!, (line) => this.log.debug({ incarnation }, line));
    lines(child.stderr!, (line) => {
      this.log.warn({ incarnation }, line);
      this.stderrTail.push(line);
      if (this.stderrTail.length > (this.o.stderrLines ?? 40)) this.stderrTail.shift();
    });
    let spawnError: Error | undefined;
    child.on('error', (err) => (spawnError = err));
    child.on('close', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.onJvmGone(spawnError !== undefined ? `could not run ${this.o.java ?? 'java'}: ${spawnError.message}` : `exited with ${signal ?? `code ${code}`}`, code === GLUE_RETRY_EXIT_CODE && spawnError === undefined);
    });
    clearTimeout(this.readyTimer);
    this.readyTimer = setTimeout(() => {
      if (this.isReady || this.child !== child) return;
      this.log.error({ incarnation }, 'glue JVM not ready in time; killing it');
      this.stderrTail.push(`(not READY within ${this.o.readyTimeoutMs ?? 120_000} ms)`);
      child.kill('SIGKILL');
    }, this.o.readyTimeoutMs ?? 120_000);
  }

  private onJvmGone(why: string, retryable = false): void {
    this.isReady = false;
    clearTimeout(this.readyTimer);
    this.link?.destroy();
    this.link = undefined;
    if (this.stopping) return;
    this.stats.crashes++;
    const error = new GlueProcessError(`${this.o.name}: glue JVM (incarnation ${this.incarnation}) ${why}`, this.recentStderr);
    this.log.error({ err: error.message }, 'glue JVM gone');
    if (this.firstReady !== undefined && !(retryable && this.incarnation <= MAX_START_RETRIES)) {
      const first = this.firstReady;
      this.firstReady = undefined;
      first.reject(error);
      return;
    }
    if (this.firstReady === undefined) this.o.onExit?.(error);
    if (this.o.restart === false) return;
    const delay = backoffDelay(this.attempt++, { initialMs: 1000, maxMs: 30_000, ...this.o.backoff }, this.o.random ?? Math.random);
    this.restartTimer = setTimeout(() => this.spawnJvm(), delay);
  }

  private onConnection(socket: Socket): void {
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(GLUE_MAX_FRAME_BYTES);
    let authenticated = false;
    const reject = (why: string): void => {
      this.stats.rejectedConnections++;
      this.log.warn({ why }, 'glue link refused');
      socket.destroy();
    };
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      if (authenticated && this.link === socket) {
        // The JVM halts when its link breaks; make sure it is gone so it gets restarted.
        this.link = undefined;
        this.isReady = false;
        this.child?.kill('SIGKILL');
      }
    });
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        reject((err as Error).message);
        return;
      }
      for (const frame of frames) {
        if (socket.destroyed) return;
        let msg: GlueMessage;
        try {
          msg = decodeGlueMessage(frame);
        } catch (err) {
          reject((err as GlueProtocolError).message);
          if (authenticated) this.fail(`malformed frame from the JVM: ${(err as Error).message}`);
          return;
        }
        if (!authenticated) {
          if (msg.type !== 'hello' || msg.token !== this.token || this.child === undefined) {
            reject('first frame is not HELLO with the expected token');
            return;
          }
          authenticated = true;
          this.link?.destroy();
          this.link = socket;
          this.o.onConnect?.(this.incarnation);
          continue;
        }
        if (msg.type === 'ready') {
          this.isReady = true;
          this.attempt = 0;
          clearTimeout(this.readyTimer);
          this.log.info({ incarnation: this.incarnation }, 'glue JVM ready');
          const first = this.firstReady;
          this.firstReady = undefined;
          first?.resolve();
        }
        try {
          this.o.onMessage(msg);
        } catch (err) {
          // A handler bug must not take the CART replica down; the JVM's call stays unanswered,
          // so restart it (state transfer brings it back).
          this.fail(`message handler failed: ${(err as Error).message}`);
          return;
        }
      }
    });
  }
}

/** Split a byte stream into text lines (no size limit per line beyond 64 KiB: longer lines are cut). */
function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i).trimEnd());
      buf = buf.slice(i + 1);
    }
    if (buf.length > 65536) {
      onLine(buf);
      buf = '';
    }
  });
  stream.on('end', () => {
    if (buf.length > 0) onLine(buf);
  });
}
