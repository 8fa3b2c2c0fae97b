/**
 * A resumable etcd v3 watch on one key range (etcd API reference: `Watch` RPC, `WatchCreateRequest`).
 *
 * The stream is opened in etcd's "require leader" mode, so a member without a leader (partitioned
 * from the majority) cancels it and the watch moves to another member; a periodic progress
 * request detects a member that hangs with its connection open.
 *
 * Why not `etcd3`'s `Watcher`: on reconnect it resumes from the header revision of the last
 * response, which during catch-up is the store's *current* revision, not the last delivered
 * event's — so after a member crash it can silently skip events, and it reports compaction only as
 * an anonymous cancel. This class opens the raw bidirectional `Watch` stream of the same client
 * (`etcd3`'s public `watchClient`) and always resumes from `nextRevision()`, supplied by the owner
 * (the adapter's last applied revision + 1), so no event is skipped; duplicates are filtered by
 * the owner. Compaction (`compact_revision` set) is reported separately.
 *
 * etcd guarantees (API guarantees, "Watch"): events are ordered by revision; a revision's events
 * are never split across responses unless `fragment` is requested — which we do, so a catch-up
 * response never exceeds the gRPC message limit, and reassemble (see `onFragment`); watches
 * resume from any uncompacted revision.
 */
import * as grpc from '@grpc/grpc-js';
import type { Etcd3, IEvent, IWatchResponse, IDuplexStream, IWatchRequest } from 'etcd3';
import { backoffDelay } from '../../net/backoff.ts';

/** Callbacks of a {@link ResumableWatch}; called synchronously from the stream, never concurrently. */
export interface ResumableWatchHandlers {
  /** A response with events (all `PUT`; deletes are filtered server-side), in revision order. */
  onEvents(response: IWatchResponse): void;
  /** The start revision was compacted; the watch is stopped. `compactRevision` is the oldest kept. */
  onCompacted(compactRevision: bigint): void;
  /** A stream error or cancel (the watch reconnects by itself). For logs and metrics. */
  onError(error: Error): void;
}

/** Options of a {@link ResumableWatch}. */
export interface ResumableWatchOptions {
  /** Watched range `[key, rangeEnd)`. */
  readonly key: Buffer;
  readonly rangeEnd: Buffer;
  /** Revision to (re)start from; read at every (re)connect. */
  readonly nextRevision: () => bigint;
  /** Reconnect back-off (ms), default 50 .. 1000. */
  readonly backoff?: { initialMs?: number; maxMs?: number };
  /** Uniform [0,1) source for back-off jitter (injected). Default `Math.random`. */
  readonly random?: () => number;
  /**
   * Ask etcd to cancel the watch when its member has no leader (etcd's "require leader" mode),
   * so a watch on a partitioned member fails over instead of stalling. Default true.
   */
  readonly requireLeader?: boolean;
  /**
   * Liveness probe period in ms: every period a progress request is sent on the stream; if
   * neither it nor the create request got any answer within one period, the member is treated
   * as hung (e.g. frozen process: its TCP connection stays open) and the watch reconnects
   * elsewhere. Default 5000.
   */
  readonly livenessMs?: number;
  /** Called (awaited) before each reconnect with the error that ended the previous stream. */
  readonly beforeReconnect?: (error: Error) => Promise<void>;
}

/**
 * gRPC call options that add etcd's `hasleader: true` metadata (clientv3 `WithRequireLeader`):
 * the member then cancels the stream with "etcdserver: no leader" when it loses its leader.
 */
export function requireLeaderCallOptions(): grpc.CallOptions {
  return {
    credentials: grpc.credentials.createFromMetadataGenerator((_params, callback) => {
      const md = new grpc.Metadata();
      md.set('hasleader', 'true');
      callback(null, md);
    }),
  };
}

/** Prefix range end: the key one bit larger than `prefix` (etcd's `WithPrefix`). */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all keys >= prefix
}

/** A watch stream that reconnects with back-off and resumes from the owner's next revision. */
export class ResumableWatch {
  private stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  private running = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private probe: NodeJS.Timeout | undefined;
  /** Whether the stream answered since the last create/progress request. */
  private heard = false;
  /** Events of a revision that may continue in the next fragment. */
  private carry: IEvent[] = [];
  /** Number of (re)connections made, for metrics. */
  connects = 0;

  constructor(
    private readonly client: Etcd3,
    private readonly options: ResumableWatchOptions,
    private readonly handlers: ResumableWatchHandlers,
  ) {}

  /** Open the stream (asynchronously; errors lead to reconnects). */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
  }

  /** Close the stream and stop reconnecting. Idempotent. */
  stop(): void {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.dropStream();
  }

  private dropStream(): void {
    if (this.probe !== undefined) clearInterval(this.probe);
    this.probe = undefined;
    const s = this.stream;
    this.stream = undefined;
    if (s !== undefined) {
      try {
        s.cancel();
      } catch {
        // already closed
      }
    }
  }

  private scheduleReconnect(error: Error): void {
    if (!this.running) return;
    this.dropStream();
    this.handlers.onError(error);
    if (this.timer !== undefined) return;
    const delay = backoffDelay(this.attempt++, this.options.backoff ?? { initialMs: 50, maxMs: 1000 }, this.options.random ?? Math.random);
    this.timer = setTimeout(() => {
      const before = this.options.beforeReconnect?.(error) ?? Promise.resolve();
      void before.then(
        () => {
          this.timer = undefined;
          return this.connect();
        },
        () => {
          this.timer = undefined;
          return this.connect();
        },
      );
    }, delay);
  }

  private async connect(): Promise<void> {
    if (!this.running) return;
    let stream: IDuplexStream<IWatchRequest, IWatchResponse>;
    try {
      stream = await this.client.watchClient.watch(this.options.requireLeader === false ? {} : requireLeaderCallOptions());
    } catch (e) {
      this.scheduleReconnect(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    if (!this.running) {
      stream.cancel();
      return;
    }
    this.connects++;
    this.stream = stream;
    this.carry = [];
    const mine = (): boolean => this.stream === stream;
    stream.on('data', (res: IWatchResponse) => {
      if (!mine()) return;
      this.heard = true;
      if (res.compact_revision !== undefined && res.compact_revision !== '0' && res.compact_revision !== '') {
        this.running = false;
        this.dropStream();
        this.handlers.onCompacted(BigInt(res.compact_revision));
        return;
      }
      if (res.canceled) {
        this.scheduleReconnect(new Error(`etcd watch canceled: ${res.cancel_reason || 'no reason given'}`));
        return;
      }
      if (res.created) this.attempt = 0;
      this.onFragment(res);
    });
    stream.on('error', (err: Error) => {
      if (mine()) this.scheduleReconnect(err);
    });
    stream.on('end', () => {
      if (mine()) this.scheduleReconnect(new Error('etcd watch stream ended'));
    });
    stream.write({
      create_request: {
        key: this.options.key,
        range_end: this.options.rangeEnd,
        start_revision: this.options.nextRevision().toString(),
        filters: ['Nodelete'],
        fragment: true,
      },
    });
    this.heard = false;
    const period = this.options.livenessMs ?? 5000;
    this.probe = setInterval(() => {
      if (!mine()) return;
      if (!this.heard) {
        this.scheduleReconnect(new Error(`etcd watch stalled: no answer within ${period} ms`));
        return;
      }
      this.heard = false;
      try {
        stream.write({ progress_request: {} });
      } catch (e) {
        this.scheduleReconnect(e instanceof Error ? e : new Error(String(e)));
      }
    }, period);
  }

  /**
   * With `fragment`, etcd splits a large response (catch-up of many revisions) into messages below
   * its request size limit, possibly inside one revision. Deliver every complete revision at once
   * and carry the events of the last (maybe partial) revision over until the final fragment.
   */
  private onFragment(res: IWatchResponse): void {
    const events = [...this.carry, ...(res.events ?? [])];
    this.carry = [];
    if (res.fragment && events.length > 0) {
      const lastRev = events[events.length - 1]!.kv.mod_revision;
      let cut = events.length;
      while (cut > 0 && events[cut - 1]!.kv.mod_revision === lastRev) cut--;
      this.carry = events.slice(cut);
      events.length = cut;
    }
    if (events.length === 0) return;
    try {
      this.handlers.onEvents({ ...res, events });
    } catch (e) {
      // Never let a handler's bug escape into the gRPC stream (it would crash the process).
      this.handlers.onError(e instanceof Error ? e : new Error(String(e)));
    }
  }
}
