/** Raw client-endpoint access for tests: send hand-made frames, collect decoded answers. */
import { TcpTransport } from '../../src/client/tcp-transport.ts';
import type { ReplicaEndpoint, TransportConnection } from '../../src/client/transport.ts';
import { decodeReplicaFrame, encodeClientFrame, type ReplicaMessage } from '../../src/wire/codec.ts';
import { createClientIdentity, signRequest, type ClientIdentity } from '../../src/client/identity.ts';
import { waitFor } from './cluster.ts';

export class RawConnection {
  readonly messages: ReplicaMessage[] = [];
  readonly undecodable: Uint8Array[] = [];
  closedReason: string | undefined;
  private readonly conn: TransportConnection;
  constructor(endpoint: ReplicaEndpoint) {
    this.conn = new TcpTransport({ maxFrameBytes: 1 << 26 }).connect(endpoint, {
      onFrame: (p) => {
        try {
          this.messages.push(decodeReplicaFrame(p));
        } catch {
          this.undecodable.push(p);
        }
      },
      onClose: (reason) => (this.closedReason = reason),
    });
  }
  send(frame: Uint8Array): boolean {
    return this.conn.send(frame);
  }
  async next(count = 1, timeoutMs = 10_000): Promise<ReplicaMessage[]> {
    await waitFor(() => this.messages.length >= count, timeoutMs, `${count} frame(s)`);
    return this.messages.slice(0, count);
  }
  close(): void {
    this.conn.close();
  }
}

/** A signed request frame with freshness sequence `fresh` (default 0). */
export function signedFrame(identity: ClientIdentity, requestId: bigint, operation: Uint8Array, version?: number, fresh = 0n, ack = 0n): Uint8Array {
  const signature = signRequest(identity, requestId, false, operation, fresh, ack);
  return encodeClientFrame({ clientPublicKey: identity.publicKey, requestId, operation, readOnly: false, signature, fresh, ack }, version);
}

export { createClientIdentity };
