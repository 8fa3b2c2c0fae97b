/**
 * Prometheus metrics of one CART replica (prom-client), on a per-replica registry so several
 * replicas can live in one process, plus an optional HTTP `/metrics` endpoint.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';

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
    this.repliesSent = new Counter({ name: 'cart_replies_sent_total', help: 'Signed replies sent to clients', registers });
    this.peerFramesRejected = new Counter({ name: 'cart_peer_frames_rejected_total', help: 'Replica frames rejected, by reason', labelNames: ['reason'], registers });
    this.viewChanges = new Counter({ name: 'cart_view_changes_total', help: 'View changes reported by the consensus adapter', registers });
    this.stateTransfers = new Counter({ name: 'cart_state_transfers_total', help: 'State transfers reported by the consensus adapter', registers });
    this.view = new Gauge({ name: 'cart_view', help: 'Current view reported by the consensus adapter', registers });
    this.waiting = new Gauge({ name: 'cart_waiting_requests', help: 'Client requests waiting for a signed reply', registers });
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
