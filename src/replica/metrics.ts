/**
 * Prometheus metrics of one CART replica (prom-client), on a per-replica registry so several
 * replicas can live in one process, plus an optional HTTP `/metrics` endpoint.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { FrameServerStats } from '../net/server.ts';

/** A source of client-endpoint counters, e.g. `() => frameServer.stats()`. */
export type FrameServerStatsFn = () => FrameServerStats;

/** Refusal reasons (label `reason` of `cart_client_connections_refused_total`) → stats field. */
const REFUSED: ReadonlyArray<[string, keyof FrameServerStats]> = [
  ['global_cap', 'rejectedTooMany'],
  ['per_address_cap', 'rejectedPerAddress'],
];
/** Closure reasons (label `reason` of `cart_client_connections_closed_total`) → stats field. */
const CLOSED: ReadonlyArray<[string, keyof FrameServerStats]> = [
  ['bad_length_prefix', 'closedOversizeFrame'],
  ['garbage', 'closedGarbage'],
  ['evicted_idle', 'evicted'],
  ['first_frame_timeout', 'closedFirstFrameTimeout'],
  ['frame_timeout', 'closedFrameTimeout'],
  ['idle_timeout', 'closedIdle'],
  ['partial_frame_budget', 'closedBudget'],
];

/** The metric families of one replica. */
export class ReplicaMetrics {
  readonly registry: Registry;
  /** Client requests received, by outcome (accepted, duplicate, error code...). */
  readonly requests: Counter<'outcome'>;
  /** Client frames rejected before decoding succeeded, by reason. */
  readonly framesRejected: Counter<'reason'>;
  /** Ordered batches executed by the application proxy. */
  readonly batchesExecuted: Counter;
  /** Batches this replica signed a share for. */
  readonly batchesSigned: Counter;
  /** Ordered requests that produced no reply, by reason. */
  readonly orderedRejected: Counter<'reason'>;
  /** Signature shares received from peers. */
  readonly sharesReceived: Counter;
  /** Signature shares rejected, by reason. */
  readonly sharesRejected: Counter<'reason'>;
  /** Misbehaviour reports per signer and kind. */
  readonly misbehaviour: Counter<'signer' | 'kind'>;
  /** Group signatures combined. */
  readonly combined: Counter;
  /** Read-only batches this replica coordinated (sent to all replicas). */
  readonly readOnlyBatches: Counter;
  /** Read-only requests in those batches (÷ batches = mean batch size). */
  readonly readOnlyBatchedRequests: Counter;
  /** Read-only requests this contact ordered with the writes instead (ordered requests were in flight). */
  readonly readOnlyOrdered: Counter;
  /** Replies sent to clients. */
  readonly repliesSent: Counter;
  /** Peer frames that failed to decode. */
  readonly peerFramesRejected: Counter<'reason'>;
  /** View changes reported by the consensus adapter. */
  readonly viewChanges: Counter;
  /** State transfers reported by the consensus adapter. */
  readonly stateTransfers: Counter;
  /** Current view reported by the adapter. */
  readonly view: Gauge;
  /** Client requests waiting for a reply at this replica. */
  readonly waiting: Gauge;
  /** Client-endpoint connections accepted (from registered {@link FrameServerStatsFn}s). */
  readonly clientConnectionsAccepted: Counter;
  /** Client-endpoint connections refused, by reason (`global_cap`, `per_address_cap`). */
  readonly clientConnectionsRefused: Counter<'reason'>;
  /** Client-endpoint connections closed by a limit or bad input, by reason. */
  readonly clientConnectionsClosed: Counter<'reason'>;
  /** Client-endpoint connections open now. */
  readonly clientConnectionsOpen: Gauge;
  /** Bytes held in incomplete client frames now. */
  readonly clientPartialFrameBytes: Gauge;
  /** Frames to clients dropped because a send queue was full. */
  readonly clientSendsDropped: Counter;
  private readonly frameServerStats: FrameServerStatsFn[] = [];

  /** @param labels constant labels added to every metric, e.g. `{ replica: '1' }` */
  constructor(labels: Record<string, string> = {}) {
    this.registry = new Registry();
    this.registry.setDefaultLabels(labels);
    const registers = [this.registry];
    this.requests = new Counter({ name: 'cart_requests_total', help: 'Client requests received, by outcome', labelNames: ['outcome'], registers });
    this.framesRejected = new Counter({ name: 'cart_client_frames_rejected_total', help: 'Client frames rejected, by reason', labelNames: ['reason'], registers });
    this.batchesExecuted = new Counter({ name: 'cart_batches_executed_total', help: 'Ordered batches executed', registers });
    this.batchesSigned = new Counter({ name: 'cart_batches_signed_total', help: 'Batches signed with this replica\'s key share', registers });
    this.orderedRejected = new Counter({ name: 'cart_ordered_requests_rejected_total', help: 'Ordered requests without a reply, by reason', labelNames: ['reason'], registers });
    this.sharesReceived = new Counter({ name: 'cart_shares_received_total', help: 'Signature shares received from peers', registers });
    this.sharesRejected = new Counter({ name: 'cart_shares_rejected_total', help: 'Signature shares rejected, by reason', labelNames: ['reason'], registers });
    this.misbehaviour = new Counter({ name: 'cart_signer_misbehaviour_total', help: 'Misbehaviour detected, by signer and kind', labelNames: ['signer', 'kind'], registers });
    this.combined = new Counter({ name: 'cart_group_signatures_total', help: 'Group signatures combined', registers });
    this.readOnlyBatches = new Counter({ name: 'cart_read_only_batches_total', help: 'Read-only batches coordinated by this replica', registers });
    this.readOnlyBatchedRequests = new Counter({ name: 'cart_read_only_batched_requests_total', help: 'Read-only requests in the batches coordinated by this replica', registers });
    this.readOnlyOrdered = new Counter({ name: 'cart_read_only_ordered_total', help: 'Read-only requests this contact ordered with the writes because ordered requests were in flight', registers });
    this.repliesSent = new Counter({ name: 'cart_replies_sent_total', help: 'Signed replies sent to clients', registers });
    this.peerFramesRejected = new Counter({ name: 'cart_peer_frames_rejected_total', help: 'Replica frames rejected, by reason', labelNames: ['reason'], registers });
    this.viewChanges = new Counter({ name: 'cart_view_changes_total', help: 'View changes reported by the consensus adapter', registers });
    this.stateTransfers = new Counter({ name: 'cart_state_transfers_total', help: 'State transfers reported by the consensus adapter', registers });
    this.view = new Gauge({ name: 'cart_view', help: 'Current view reported by the consensus adapter', registers });
    this.waiting = new Gauge({ name: 'cart_waiting_requests', help: 'Client requests waiting for a signed reply', registers });
    // Client-endpoint (FrameServer) families: read from the registered stats functions at scrape time.
    const sum = (field: keyof FrameServerStats): number => {
      let v = 0;
      for (const fn of this.frameServerStats) v += fn()[field];
      return v;
    };
    /** prom-client counters cannot be set: reset and add the cumulative value at each scrape. */
    const setCounter = (c: Counter<string>, value: number, labels?: Record<string, string>): void => {
      if (labels) c.inc(labels, value);
      else c.inc(value);
    };
    this.clientConnectionsAccepted = new Counter({
      name: 'cart_client_connections_accepted_total', help: 'Client endpoint connections accepted', registers,
      collect() {
        this.reset();
        setCounter(this, sum('accepted'));
      },
    });
    this.clientConnectionsRefused = new Counter({
      name: 'cart_client_connections_refused_total', help: 'Client endpoint connections refused, by reason', labelNames: ['reason'], registers,
      collect() {
        this.reset();
        for (const [reason, field] of REFUSED) setCounter(this, sum(field), { reason });
      },
    });
    this.clientConnectionsClosed = new Counter({
      name: 'cart_client_connections_closed_total', help: 'Client endpoint connections closed by a limit or bad input, by reason', labelNames: ['reason'], registers,
      collect() {
        this.reset();
        for (const [reason, field] of CLOSED) setCounter(this, sum(field), { reason });
      },
    });
    this.clientConnectionsOpen = new Gauge({
      name: 'cart_client_connections_open', help: 'Client endpoint connections open', registers,
      collect() {
        this.set(sum('open'));
      },
    });
    this.clientPartialFrameBytes = new Gauge({
      name: 'cart_client_partial_frame_bytes', help: 'Bytes held in incomplete client frames', registers,
      collect() {
        this.set(sum('partialBytes'));
      },
    });
    this.clientSendsDropped = new Counter({
      name: 'cart_client_sends_dropped_total', help: 'Frames to clients dropped because the send queue was full', registers,
      collect() {
        this.reset();
        setCounter(this, sum('droppedQueueFull'));
      },
    });
  }

  /**
   * Export a client endpoint's counters (refusals and closures by reason, open connections,
   * partial-frame bytes) through the `cart_client_connections_*` families; read at each scrape.
   * Several sources are summed. Typical use: `metrics.registerFrameServerStats(() => server.stats())`.
   */
  registerFrameServerStats(fn: FrameServerStatsFn): void {
    this.frameServerStats.push(fn);
  }

  /** Value of a counter (sum over all label sets matching `labels`), for tests and summaries. */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const m = this.registry.getSingleMetric(name);
    if (!m) return 0;
    const data = await m.get();
    let sum = 0;
    for (const v of data.values) {
      if (Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want)) sum += v.value;
    }
    return sum;
  }
}

/**
 * Serve `registry` on `http://host:port/metrics` (Prometheus text format).
 * @returns the server and its bound port (use port 0 for a free port)
 */
export async function serveMetrics(registry: Registry, host = '127.0.0.1', port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0 };
}
