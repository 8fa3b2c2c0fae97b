/**
 * Resource limits of a {@link FrameServer}: connection caps, idle / handshake-like deadlines and
 * the server-wide budget of bytes held in incomplete frames. Pure, I/O-free decision functions
 * (the caller passes the clock reading); the server applies them. Defaults and rationale are in
 * `docs/networking.md` ("Client endpoint limits").
 */

/** Default largest number of connections open at once per server. */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** Default largest number of connections open at once from one remote IP address. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 64;
/** Default deadline for a new connection to deliver its first complete frame (ms). */
export const DEFAULT_FIRST_FRAME_TIMEOUT_MS = 10_000;
/** Default deadline to complete a frame once its first byte arrived (ms). */
export const DEFAULT_FRAME_TIMEOUT_MS = 30_000;
/** Default: close a connection with no frame in either direction and no pending work for this long (ms). */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
/** Default: a connection is an eviction candidate after this long without traffic (ms). */
export const DEFAULT_EVICT_IDLE_AFTER_MS = 1_000;
/** Default server-wide budget of bytes held in incomplete frames: 64 MiB. */
export const DEFAULT_PARTIAL_BUDGET_BYTES = 64 * 1024 * 1024;
/** Default period of the deadline sweep (ms). */
export const DEFAULT_SWEEP_INTERVAL_MS = 1_000;

/** Limit options of a {@link FrameServer}; every deadline of 0 disables it. */
export interface FrameServerLimitOptions {
  /** Connections open at once (default {@link DEFAULT_MAX_CONNECTIONS}). At the cap the oldest idle connection is evicted; if none is idle the new one is refused. */
  maxConnections?: number;
  /** Connections open at once from one remote IP (default {@link DEFAULT_MAX_CONNECTIONS_PER_ADDRESS}); same eviction rule, among that address's connections. */
  maxConnectionsPerAddress?: number;
  /** A connection that has not delivered one complete frame this long after accept is closed (ms, default 10 000). */
  firstFrameTimeoutMs?: number;
  /** A frame whose first byte arrived this long ago and that is still incomplete closes its connection (ms, default 30 000). */
  frameTimeoutMs?: number;
  /** A connection with no complete frame received or sent for this long and no pending work is closed (ms, default 120 000). */
  idleTimeoutMs?: number;
  /** Minimum time without traffic before a connection may be evicted to admit a new one (ms, default 1000). */
  evictIdleAfterMs?: number;
  /**
   * Server-wide budget of bytes buffered in incomplete frames (default 64 MiB). When exceeded, the
   * connection holding the largest partial frame is closed. Raised to `maxFrameBytes + 4` if lower,
   * so that one maximal frame can always arrive.
   */
  maxPartialBytes?: number;
  /** Period of the deadline sweep (ms, default 1000). */
  sweepIntervalMs?: number;
  /** Millisecond clock for deadlines (default `Date.now`); injectable for tests. */
  now?: () => number;
}

/** Resolved limits (all fields set). */
export type ResolvedLimits = Required<Omit<FrameServerLimitOptions, 'now'>>;

/**
 * Fill in defaults and validate.
 * @param maxFrameBytes the server's frame limit (the partial budget is raised to hold one frame)
 * @throws {RangeError} for a negative or non-finite value
 */
export function resolveLimits(o: FrameServerLimitOptions, maxFrameBytes: number): ResolvedLimits {
  const r: ResolvedLimits = {
    maxConnections: o.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    maxConnectionsPerAddress: o.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    firstFrameTimeoutMs: o.firstFrameTimeoutMs ?? DEFAULT_FIRST_FRAME_TIMEOUT_MS,
    frameTimeoutMs: o.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS,
    idleTimeoutMs: o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    evictIdleAfterMs: o.evictIdleAfterMs ?? DEFAULT_EVICT_IDLE_AFTER_MS,
    maxPartialBytes: Math.max(o.maxPartialBytes ?? DEFAULT_PARTIAL_BUDGET_BYTES, maxFrameBytes + 4),
    sweepIntervalMs: o.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
  };
  for (const [k, v] of Object.entries(r)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`FrameServer option ${k} must be a finite number >= 0, got ${v}`);
  }
  return r;
}

/** Why a connection was refused or closed by a limit (label values of the metrics). */
export type LimitReason =
  /** refused: global cap reached and no connection was idle enough to evict */
  | 'global-cap'
  /** refused: per-address cap reached and none of that address's connections was idle enough */
  | 'per-address-cap'
  /** closed: idle connection evicted to admit a new one */
  | 'evicted'
  /** closed: no complete frame within `firstFrameTimeoutMs` of accept */
  | 'first-frame-timeout'
  /** closed: a started frame not completed within `frameTimeoutMs` */
  | 'frame-timeout'
  /** closed: no traffic and no pending work for `idleTimeoutMs` */
  | 'idle-timeout'
  /** closed: largest partial frame while the server-wide budget was exceeded */
  | 'partial-budget'
  /** closed: length prefix above `maxFrameBytes` (bad length prefix) */
  | 'oversize-frame'
  /** closed: the application reported an undecodable frame ({@link ServerConnection.closeForGarbage}) */
  | 'garbage';

/** Timing state of one connection, as the limit functions see it. */
export interface ConnLimitState {
  /** Accept time (ms). */
  readonly acceptedAt: number;
  /** Last complete frame received or sent, or accept time (ms). */
  readonly lastActivity: number;
  /** Complete frames received so far. */
  readonly framesReceived: number;
  /** Bytes held for an incomplete frame. */
  readonly partialBytes: number;
  /** When the current incomplete frame started (ms; meaningful while `partialBytes > 0`). */
  readonly partialSince: number;
  /** True while the application has work pending for this connection (e.g. a reply to send). */
  busy(): boolean;
}

/**
 * Deadline check for one connection at time `now`.
 * @returns the reason to close it, or undefined to keep it
 */
export function expiredReason(c: ConnLimitState, now: number, l: ResolvedLimits): 'first-frame-timeout' | 'frame-timeout' | 'idle-timeout' | undefined {
  if (c.framesReceived === 0 && l.firstFrameTimeoutMs > 0 && now - c.acceptedAt >= l.firstFrameTimeoutMs) return 'first-frame-timeout';
  if (c.partialBytes > 0 && l.frameTimeoutMs > 0 && now - c.partialSince >= l.frameTimeoutMs) return 'frame-timeout';
  if (l.idleTimeoutMs > 0 && now - c.lastActivity >= l.idleTimeoutMs && !c.busy()) return 'idle-timeout';
  return undefined;
}

/**
 * The connection to evict to make room for a new one: among connections without pending work
 * and without traffic for at least `evictIdleAfterMs`, those that never delivered a complete
 * frame first, then the least recently active. Connections in the middle of a frame are
 * candidates too (a slow sender must not pin a slot).
 * @returns the victim, or undefined if no connection is idle enough (then refuse the new one)
 */
export function pickEvictionVictim<T extends ConnLimitState>(conns: Iterable<T>, now: number, evictIdleAfterMs: number): T | undefined {
  let best: T | undefined;
  for (const c of conns) {
    if (now - c.lastActivity < evictIdleAfterMs || c.busy()) continue;
    if (!best) {
      best = c;
      continue;
    }
    const cNever = c.framesReceived === 0;
    const bNever = best.framesReceived === 0;
    if (cNever !== bNever ? cNever : c.lastActivity < best.lastActivity) best = c;
  }
  return best;
}

/**
 * The connection holding the largest incomplete frame (closed when the budget is exceeded).
 * @returns undefined if no connection holds partial bytes
 */
export function pickLargestPartial<T extends ConnLimitState>(conns: Iterable<T>): T | undefined {
  let best: T | undefined;
  for (const c of conns) if (c.partialBytes > 0 && (!best || c.partialBytes > best.partialBytes)) best = c;
  return best;
}
