/**
 * The two sides of the peer handshake ({@link ./handshake.ts}) as small I/O-free state
 * machines: frames in, steps out (frame to send, failure with a drop reason, or an established
 * session). {@link TcpPeerNetwork} drives them over sockets; tests can drive them directly.
 */
import type { KeyObject } from 'node:crypto';
import {
  FINISH_BYTES, HELLO_BYTES, MSG_FINISH, MSG_HELLO, MSG_REPLY, REPLY_BYTES,
  decodeHello, deriveSessionKeys, encodeHello, newEphemeral, signInitiator, signResponder, verifyRole,
  type Ephemeral, type SessionKeys,
} from './handshake.ts';
import type { PeerDropReason } from './peer-network.ts';

/** Output of a handshake machine. */
export type HandshakeStep =
  | { kind: 'send'; frame: Buffer }
  | { kind: 'fail'; reason: PeerDropReason; detail: object }
  | { kind: 'established'; peer: number; keys: SessionKeys };

const fail = (reason: PeerDropReason, detail: object = {}): HandshakeStep[] => [{ kind: 'fail', reason, detail }];

/** Dialling side: HELLO → (REPLY) → FINISH + established. One instance per connection attempt. */
export class InitiatorHandshake {
  private readonly eph: Ephemeral;
  private readonly hello: Buffer;
  private done = false;

  /**
   * @param self own replica id
   * @param peer the dialled replica's id and configured Ed25519 public key
   * @param identity own Ed25519 private key
   * @param ephemeral fresh X25519 key + nonce (injectable for tests)
   */
  constructor(
    private readonly self: number,
    private readonly peer: { id: number; key: KeyObject },
    private readonly identity: KeyObject,
    ephemeral: Ephemeral = newEphemeral(),
  ) {
    this.eph = ephemeral;
    this.hello = encodeHello(MSG_HELLO, { from: self, to: peer.id, nonce: ephemeral.nonce, ephemeral: ephemeral.publicRaw });
  }

  /** The HELLO frame to send first. */
  start(): HandshakeStep[] {
    return [{ kind: 'send', frame: this.hello }];
  }

  /** Feed the next frame received during the handshake. */
  onFrame(frame: Buffer): HandshakeStep[] {
    if (this.done) return fail('unexpected', { phase: 'done' });
    this.done = true;
    if (frame.length !== REPLY_BYTES || frame[0] !== MSG_REPLY) return fail('malformed', { phase: 'reply' });
    const reply = decodeHello(MSG_REPLY, frame);
    if (!reply) return fail('malformed', { phase: 'reply' });
    if (reply.to !== this.self) return fail('misrouted', { to: reply.to });
    if (reply.from !== this.peer.id) return fail('unknown-peer', { from: reply.from });
    const transcript = Buffer.concat([this.hello, frame.subarray(0, HELLO_BYTES)]);
    if (!verifyRole('responder', this.peer.key, transcript, frame.subarray(HELLO_BYTES))) return fail('bad-signature', { peer: this.peer.id });
    let keys: SessionKeys;
    try {
      keys = deriveSessionKeys('initiator', this.eph, reply.ephemeral, transcript);
    } catch {
      return fail('malformed', { phase: 'reply-key' });
    }
    return [
      { kind: 'send', frame: Buffer.concat([Buffer.from([MSG_FINISH]), signInitiator(this.identity, transcript)]) },
      { kind: 'established', peer: this.peer.id, keys },
    ];
  }
}

/** Accepting side: (HELLO) → REPLY → (FINISH) → established. One instance per connection. */
export class ResponderHandshake {
  private state: 'hello' | 'finish' | 'done' = 'hello';
  private transcript: Buffer | undefined;
  private peer: { id: number; key: KeyObject } | undefined;
  private eph: Ephemeral | undefined;

  /**
   * @param self own replica id
   * @param identity own Ed25519 private key
   * @param peerKey the configured public key of a replica allowed to dial us, else undefined
   * @param ephemeral source of fresh X25519 keys + nonces (injectable for tests)
   */
  constructor(
    private readonly self: number,
    private readonly identity: KeyObject,
    private readonly peerKey: (id: number) => KeyObject | undefined,
    private readonly ephemeral: () => Ephemeral = newEphemeral,
  ) {}

  /** The id claimed by the initiator's HELLO (once received). */
  get claimedPeer(): number | undefined {
    return this.peer?.id;
  }

  /** Feed the next frame received during the handshake. */
  onFrame(frame: Buffer): HandshakeStep[] {
    if (this.state === 'done') return fail('unexpected', { phase: 'done' });
    if (this.state === 'hello') {
      this.state = 'done';
      if (frame.length !== HELLO_BYTES || frame[0] !== MSG_HELLO) return fail('malformed', { phase: 'hello' });
      const h = decodeHello(MSG_HELLO, frame);
      if (!h) return fail('malformed', { phase: 'hello' });
      if (h.to !== this.self) return fail('misrouted', { to: h.to });
      const key = this.peerKey(h.from);
      if (!key) return fail('unknown-peer', { from: h.from });
      this.peer = { id: h.from, key };
      this.eph = this.ephemeral();
      const replyBody = encodeHello(MSG_REPLY, { from: this.self, to: h.from, nonce: this.eph.nonce, ephemeral: this.eph.publicRaw });
      this.transcript = Buffer.concat([frame, replyBody]);
      this.state = 'finish';
      return [{ kind: 'send', frame: Buffer.concat([replyBody, signResponder(this.identity, this.transcript)]) }];
    }
    this.state = 'done';
    const peer = this.peer!;
    const transcript = this.transcript!;
    if (frame.length !== FINISH_BYTES || frame[0] !== MSG_FINISH) return fail('malformed', { phase: 'finish' });
    if (!verifyRole('initiator', peer.key, transcript, frame.subarray(1))) return fail('bad-signature', { peer: peer.id });
    let keys: SessionKeys;
    try {
      keys = deriveSessionKeys('responder', this.eph!, transcript.subarray(6 + 32, HELLO_BYTES), transcript);
    } catch {
      return fail('malformed', { phase: 'finish-key' });
    }
    return [{ kind: 'established', peer: peer.id, keys }];
  }
}
