/**
 * The CART client's transport over the simulated network: a {@link ClientTransport} whose
 * "connections" are the client's node id talking to replica node ids. An endpoint's `port` is
 * the 0-based replica id (`host` is ignored). Frames to a crashed or partitioned replica are
 * silently lost, as on a real network; the client's timeouts handle it.
 */
import type { ClientTransport, ReplicaEndpoint, TransportConnection, TransportHandlers } from '../../client/transport.ts';
import type { SimNetwork } from '../network.ts';
import type { SimMsg } from './replica.ts';
import { decodeClientFrame } from '../../wire/codec.ts';

/** Simulated transport of one client node. */
export class SimClientTransport implements ClientTransport {
  private readonly handlers = new Map<number, TransportHandlers>();
  /**
   * The request id and path of the last request frame this client sent. With one invocation in
   * flight it identifies the request a completed invocation was answered for (retransmissions
   * keep the id; a read-only fallback takes a new one).
   */
  lastRequest: { readonly requestId: bigint; readonly readOnly: boolean } | undefined;

  constructor(
    private readonly net: SimNetwork<SimMsg>,
    private readonly node: number,
  ) {
    net.register(node, (from, msg) => {
      if (msg.ch === 'reply') this.handlers.get(from)?.onFrame(msg.bytes);
    });
  }

  /** {@inheritDoc ClientTransport.connect} */
  connect(endpoint: ReplicaEndpoint, handlers: TransportHandlers): TransportConnection {
    const replica = endpoint.port;
    this.handlers.set(replica, handlers);
    let open = true;
    return {
      send: (payload: Uint8Array): boolean => {
        if (!open) return false;
        try {
          const req = decodeClientFrame(payload);
          this.lastRequest = { requestId: req.requestId, readOnly: req.readOnly };
        } catch {
          /* not a request frame: nothing to remember */
        }
        this.net.send(this.node, replica, { ch: 'client', bytes: payload });
        return true;
      },
      close: (): void => {
        if (!open) return;
        open = false;
        if (this.handlers.get(replica) === handlers) this.handlers.delete(replica);
        handlers.onClose('closed');
      },
    };
  }
}
