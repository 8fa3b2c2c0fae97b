/**
 * {@link PbftClientCore}: the deterministic native PBFT client (Castro & Liskov, ACM TOCS 2002,
 * §4.1): signs requests, sends them to the believed primary (or all), accepts a result once
 * f+1 replicas sent MATCHING replies (same request id, same result bytes — one of them is
 * correct), retransmits to all replicas on timeout (with doubling back-off), learns the view
 * from replies, and keeps many requests outstanding (pipelining) within the client window.
 * I/O-free: the runtime (`tcp-client.ts`) or the simulator performs its outputs.
 */
import type { ClientInput, ClientOutput, ClientSigner, PbftClientConfig, ReplicaId } from './api.ts';
import { DecodeError, bytesEqual, decodeMessage, encodeMessage, signedBytes } from './codec.ts';
import type { RequestMsg } from './messages.ts';

/** Thrown by {@link PbftClientCore.submit} when the client window is full. */
export class ClientBusyError extends Error {
  override readonly name = 'ClientBusyError';
}

/** Why the client ignored a reply. */
export type ClientDropReason = 'malformed' | 'wrong-sender' | 'bad-signature' | 'unknown-request' | 'unexpected';

interface Outstanding {
  readonly bytes: Uint8Array;
  /** First reply per replica. */
  readonly votes: Map<ReplicaId, { result: Uint8Array; view: bigint }>;
  timeoutMs: number;
}

/** Max back-off multiplier of the retransmission timeout. */
const MAX_BACKOFF = 16;

/** Deterministic native client core; see the module doc. */
export class PbftClientCore {
  private nextId: bigint;
  private view = 0n;
  private readonly outstanding = new Map<bigint, Outstanding>();
  private readonly dropped: Record<ClientDropReason, number> = {
    'malformed': 0,
    'wrong-sender': 0,
    'bad-signature': 0,
    'unknown-request': 0,
    'unexpected': 0,
  };
  private completed = 0;
  private retransmissions = 0;

  /**
   * @param clientId 1…64 UTF-8 bytes, unique per client
   * @param signer signs requests (must match the replicas' `verifyClient`)
   * @param verifyReply checks a replica's signature over a reply's signed bytes; pass
   *   `() => true` only if the transport authenticates replicas
   */
  constructor(
    readonly clientId: string,
    private readonly config: PbftClientConfig,
    private readonly signer: ClientSigner,
    private readonly verifyReply: (replica: ReplicaId, bytes: Uint8Array, sig: Uint8Array) => boolean,
  ) {
    if (config.n !== 3 * config.f + 1) throw new RangeError(`n must be 3f+1, got n=${config.n} f=${config.f}`);
    const len = new TextEncoder().encode(clientId).length;
    if (len < 1 || len > 64) throw new RangeError('clientId must be 1..64 UTF-8 bytes');
    this.nextId = config.firstRequestId ?? 1n;
    if (this.nextId < 1n) throw new RangeError('firstRequestId must be ≥ 1');
  }

  /** True if another request may be submitted now (client window not exhausted). */
  canSubmit(): boolean {
    const oldest = this.outstanding.keys().next();
    const base = oldest.done ? this.nextId : oldest.value;
    return this.nextId - base < BigInt(this.config.clientWindow);
  }

  /** Number of requests awaiting f+1 matching replies. */
  get outstandingCount(): number {
    return this.outstanding.size;
  }

  /** The view the client currently believes in (primary = view mod n). */
  get currentView(): bigint {
    return this.view;
  }

  /**
   * Submit an operation. Returns its request id and the outputs to perform (send + timer).
   * @throws {ClientBusyError} if {@link canSubmit} is false
   */
  submit(payload: Uint8Array): { requestId: bigint; outputs: ClientOutput[] } {
    if (!this.canSubmit()) throw new ClientBusyError(`client window of ${this.config.clientWindow} requests is full`);
    const requestId = this.nextId++;
    const unsigned: RequestMsg = { type: 'request', clientId: this.clientId, requestId, payload, sig: new Uint8Array() };
    const msg: RequestMsg = { ...unsigned, sig: this.signer.sign(signedBytes(unsigned)) };
    const bytes = encodeMessage(msg);
    const o: Outstanding = { bytes, votes: new Map(), timeoutMs: this.config.retransmitTimeoutMs };
    this.outstanding.set(requestId, o);
    const to = this.config.sendToAll ? 'all' : Number(this.view % BigInt(this.config.n));
    return {
      requestId,
      outputs: [
        { kind: 'send', to, bytes },
        { kind: 'set-timer', requestId, afterMs: o.timeoutMs },
      ],
    };
  }

  /** Process a reply or timer expiry. Never throws. */
  handle(input: ClientInput): ClientOutput[] {
    if (input.kind === 'timer') return this.onTimer(input.requestId);
    if (input.kind === 'reply') return this.onReply(input.from, input.bytes);
    this.dropped.unexpected++;
    return [];
  }

  private onTimer(requestId: bigint): ClientOutput[] {
    const o = this.outstanding.get(requestId);
    if (!o) return [];
    this.retransmissions++;
    o.timeoutMs = Math.min(o.timeoutMs * 2, this.config.retransmitTimeoutMs * MAX_BACKOFF);
    return [
      { kind: 'send', to: 'all', bytes: o.bytes },
      { kind: 'set-timer', requestId, afterMs: o.timeoutMs },
    ];
  }

  private onReply(from: ReplicaId, bytes: Uint8Array): ClientOutput[] {
    let m;
    try {
      m = decodeMessage(bytes);
    } catch (e) {
      if (e instanceof DecodeError) {
        this.dropped.malformed++;
        return [];
      }
      this.dropped.unexpected++;
      return [];
    }
    if (m.type !== 'reply' || m.clientId !== this.clientId) {
      this.dropped.unexpected++;
      return [];
    }
    if (m.replica !== from || from < 0 || from >= this.config.n) {
      this.dropped['wrong-sender']++;
      return [];
    }
    const o = this.outstanding.get(m.requestId);
    if (!o) {
      this.dropped['unknown-request']++;
      return [];
    }
    if (o.votes.has(from)) return [];
    let ok = false;
    try {
      ok = this.verifyReply(from, signedBytes(m), m.sig);
    } catch {
      ok = false;
    }
    if (!ok) {
      this.dropped['bad-signature']++;
      return [];
    }
    o.votes.set(from, { result: m.result, view: m.view });
    const matching = [...o.votes.values()].filter((v) => bytesEqual(v.result, m.result));
    if (matching.length < this.config.f + 1) return [];
    // f+1 matching: at least one correct replica is at a view ≥ the smallest reported one.
    let minView = matching[0]!.view;
    for (const v of matching) if (v.view < minView) minView = v.view;
    if (minView > this.view) this.view = minView;
    this.outstanding.delete(m.requestId);
    this.completed++;
    return [
      { kind: 'cancel-timer', requestId: m.requestId },
      { kind: 'complete', requestId: m.requestId, result: m.result },
    ];
  }

  /** Counters: completed requests, retransmissions, dropped replies by reason. */
  metrics(): { completed: number; retransmissions: number; outstanding: number; dropped: Record<ClientDropReason, number> } {
    return { completed: this.completed, retransmissions: this.retransmissions, outstanding: this.outstanding.size, dropped: { ...this.dropped } };
  }
}
