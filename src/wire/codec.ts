/**
 * Encoders and decoders for CART frames (`proto/cart.proto`, package `cart.v1`).
 *
 * Decoders never trust input: they check the frame size before parsing, read the version from
 * a {@link https://protobuf.dev/programming-guides/encoding/ | protobuf} `FrameHeader` first,
 * then decode the body and validate every field's size and shape. Failures are typed
 * {@link WireError}s; nothing else escapes. No Node-only modules: the client imports this file.
 */
import protobuf from 'protobufjs';
import { CART_DESCRIPTOR } from './cart-descriptor.ts';
import { InvalidFieldError, MalformedFrameError, TooLargeError, UnsupportedVersionError, WireError } from './errors.ts';

export * from './messages.ts';
import {
  DEFAULT_WIRE_LIMITS,
  DIGEST_BYTES,
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SIGNATURE_BYTES,
  ErrorCode,
  PROTOCOL_VERSION,
  type CartReply,
  type CartRequest,
  type ErrorCodeValue,
  type PeerMessage,
  type ReadOnlyBatchShareMessage,
  type ReplicaMessage,
  type ShareMessage,
  type WireLimits,
} from './messages.ts';

// ------------------------------------------------------------------ protobufjs plumbing

const root = protobuf.Root.fromJSON(CART_DESCRIPTOR as unknown as protobuf.INamespace);
const T = {
  header: root.lookupType('cart.v1.FrameHeader'),
  client: root.lookupType('cart.v1.ClientFrame'),
  replica: root.lookupType('cart.v1.ReplicaFrame'),
  peer: root.lookupType('cart.v1.PeerFrame'),
};

const MAX_U64 = (1n << 64n) - 1n;
const MAX_U32 = 0xffff_ffff;
const utf8 = new TextEncoder();

type Loose = Record<string, unknown>;

function u64(v: unknown, field: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string') return BigInt(v);
  if (typeof v === 'object' && typeof (v as { toString?: unknown }).toString === 'function') {
    // protobufjs returns Long instances for 64-bit fields; uint64 Longs are unsigned.
    return BigInt((v as { toString(): string }).toString());
  }
  throw new InvalidFieldError(field, 'not an integer');
}

function u64Out(v: bigint, field: string): string {
  if (v < 0n || v > MAX_U64) throw new InvalidFieldError(field, `out of uint64 range: ${v}`);
  return v.toString();
}

function u32Out(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > MAX_U32) throw new InvalidFieldError(field, `out of uint32 range: ${v}`);
  return v;
}

function bytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return Uint8Array.from(v as number[]);
  return new Uint8Array(0);
}

/** A `repeated bytes` field (absent = empty). */
function list(v: unknown): Uint8Array[] {
  return Array.isArray(v) ? v.map(bytes) : [];
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

/**
 * A `string` field. protobufjs decodes invalid UTF-8 leniently and can yield lone UTF-16
 * surrogates, which do not survive re-encoding; they become U+FFFD here (like
 * `String.prototype.toWellFormed`), so every decoded string is well formed.
 */
function str(v: unknown): string {
  return typeof v === 'string' ? v.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD') : '';
}

function checkMax(field: string, size: number, limit: number): void {
  if (size > limit) throw new TooLargeError(field, size, limit);
}

function checkLen(field: string, b: Uint8Array, len: number): void {
  if (b.length !== len) throw new InvalidFieldError(field, `expected ${len} bytes, got ${b.length}`);
}

function checkKeySet(name: string, limits: WireLimits): void {
  checkMax('key_set', utf8.encode(name).length, limits.maxKeySetNameBytes);
  if (name.length === 0) throw new InvalidFieldError('key_set', 'empty');
}

/** Decodes `bytes` as `type` after checking size and version; maps parse failures to typed errors. */
function decodeTop(type: protobuf.Type, data: Uint8Array, limits: WireLimits): Loose {
  checkMax('frame', data.length, limits.maxFrameBytes);
  let version: number;
  try {
    version = num((T.header.decode(data) as unknown as Loose).version);
  } catch (e) {
    throw new MalformedFrameError(`undecodable frame header: ${(e as Error).message}`);
  }
  if (version !== PROTOCOL_VERSION) throw new UnsupportedVersionError(version, PROTOCOL_VERSION);
  try {
    return type.decode(data) as unknown as Loose;
  } catch (e) {
    throw new MalformedFrameError(`undecodable ${type.name}: ${(e as Error).message}`);
  }
}

function encodeTop(type: protobuf.Type, obj: Loose): Uint8Array {
  return type.encode(type.fromObject(obj)).finish();
}

/** Runs `fn`, turning any non-wire exception into a {@link MalformedFrameError}. */
function guarded<R>(fn: () => R): R {
  try {
    return fn();
  } catch (e) {
    if (e instanceof WireError) throw e;
    throw new MalformedFrameError((e as Error).message ?? String(e));
  }
}

// ------------------------------------------------------------------ client frames

/**
 * Encode a client request frame.
 * @param version protocol version to put in the frame (tests use others to probe rejection)
 * @throws {InvalidFieldError} if the request id is outside uint64
 */
export function encodeClientFrame(req: CartRequest, version = PROTOCOL_VERSION): Uint8Array {
  return encodeTop(T.client, {
    version,
    request: {
      client_public_key: req.clientPublicKey,
      request_id: u64Out(req.requestId, 'request_id'),
      operation: req.operation,
      read_only: req.readOnly,
      signature: req.signature,
      fresh: u64Out(req.fresh ?? 0n, 'fresh'),
      ack: u64Out(req.ack ?? 0n, 'ack'),
    },
  });
}

/**
 * Decode and validate a client request frame.
 * @throws {WireError} TooLargeError, UnsupportedVersionError, MalformedFrameError or InvalidFieldError
 */
export function decodeClientFrame(data: Uint8Array, limits: WireLimits = DEFAULT_WIRE_LIMITS): CartRequest {
  return guarded(() => {
    const m = decodeTop(T.client, data, limits);
    const r = m.request as Loose | undefined;
    if (!r) throw new MalformedFrameError('ClientFrame without a request');
    const req: CartRequest = {
      clientPublicKey: bytes(r.client_public_key),
      requestId: u64(r.request_id, 'request_id'),
      operation: bytes(r.operation),
      readOnly: r.read_only === true,
      signature: bytes(r.signature),
      fresh: u64(r.fresh, 'fresh'),
      ack: u64(r.ack, 'ack'),
    };
    checkLen('client_public_key', req.clientPublicKey, ED25519_PUBLIC_KEY_BYTES);
    checkLen('signature', req.signature, ED25519_SIGNATURE_BYTES);
    checkMax('operation', req.operation.length, limits.maxOperationBytes);
    if (req.requestId === 0n) throw new InvalidFieldError('request_id', 'must be >= 1');
    return req;
  });
}

// ------------------------------------------------------------------ replica -> client frames

/** Encode a reply or error frame for a client. */
export function encodeReplicaFrame(msg: ReplicaMessage, version = PROTOCOL_VERSION): Uint8Array {
  if (msg.type === 'reply') {
    const r = msg.reply;
    return encodeTop(T.replica, {
      version,
      reply: {
        request_id: u64Out(r.requestId, 'request_id'),
        client_id: r.clientId,
        result: r.result,
        key_set: r.keySet,
        sequence: u64Out(r.sequence, 'sequence'),
        root: r.root,
        leaf_index: u32Out(r.leafIndex, 'leaf_index'),
        leaf_count: u32Out(r.leafCount, 'leaf_count'),
        proof: [...r.proof],
        group_signature: r.groupSignature,
        replica: u32Out(r.replica, 'replica'),
        preferred_contact: u32Out(r.preferredContact ?? 0, 'preferred_contact'),
      },
    });
  }
  const e = msg.error;
  return encodeTop(T.replica, {
    version,
    error: {
      request_id: u64Out(e.requestId, 'request_id'),
      code: e.code,
      message: e.message,
      supported_version: u32Out(e.supportedVersion, 'supported_version'),
      sequence: u64Out(e.sequence ?? 0n, 'sequence'),
    },
  });
}

/**
 * Decode and validate a replica frame (client side). Validation covers shape only; the client
 * still verifies the Merkle proof and group signature.
 * @throws {WireError}
 */
export function decodeReplicaFrame(data: Uint8Array, limits: WireLimits = DEFAULT_WIRE_LIMITS): ReplicaMessage {
  return guarded(() => {
    const m = decodeTop(T.replica, data, limits);
    if (m.reply) {
      const r = m.reply as Loose;
      const proof = Array.isArray(r.proof) ? (r.proof as unknown[]).map(bytes) : [];
      const reply: CartReply = {
        requestId: u64(r.request_id, 'request_id'),
        clientId: bytes(r.client_id),
        result: bytes(r.result),
        keySet: str(r.key_set),
        sequence: u64(r.sequence, 'sequence'),
        root: bytes(r.root),
        leafIndex: num(r.leaf_index),
        leafCount: num(r.leaf_count),
        proof,
        groupSignature: bytes(r.group_signature),
        replica: num(r.replica),
        preferredContact: num(r.preferred_contact),
      };
      checkLen('client_id', reply.clientId, DIGEST_BYTES);
      checkLen('root', reply.root, DIGEST_BYTES);
      checkMax('result', reply.result.length, limits.maxResultBytes);
      checkKeySet(reply.keySet, limits);
      checkMax('proof', proof.length, limits.maxProofEntries);
      proof.forEach((p, i) => checkLen(`proof[${i}]`, p, DIGEST_BYTES));
      checkMax('group_signature', reply.groupSignature.length, limits.maxBlsSignatureBytes);
      if (reply.groupSignature.length === 0) throw new InvalidFieldError('group_signature', 'empty');
      if (reply.leafCount < 1) throw new InvalidFieldError('leaf_count', 'must be >= 1');
      if (reply.leafIndex >= reply.leafCount) throw new InvalidFieldError('leaf_index', 'must be < leaf_count');
      return { type: 'reply', reply };
    }
    if (m.error) {
      const e = m.error as Loose;
      const message = str(e.message);
      checkMax('message', utf8.encode(message).length, limits.maxErrorMessageBytes);
      const code = num(e.code);
      const known = Object.values(ErrorCode) as number[];
      return {
        type: 'error',
        error: {
          requestId: u64(e.request_id, 'request_id'),
          code: (known.includes(code) ? code : ErrorCode.UNSPECIFIED) as ErrorCodeValue,
          message,
          supportedVersion: num(e.supported_version),
          sequence: u64(e.sequence, 'sequence'),
        },
      };
    }
    throw new MalformedFrameError('ReplicaFrame without a body');
  });
}

// ------------------------------------------------------------------ replica <-> replica frames

/** Encode a replica-to-replica frame. */
export function encodePeerFrame(msg: PeerMessage, version = PROTOCOL_VERSION): Uint8Array {
  if (msg.type === 'share') {
    const s = msg.share;
    return encodeTop(T.peer, {
      version,
      share: {
        key_set: s.keySet,
        sequence: u64Out(s.sequence, 'sequence'),
        root: s.root,
        leaf_count: u32Out(s.leafCount, 'leaf_count'),
        signer: u32Out(s.signer, 'signer'),
        signature: s.signature,
      },
    });
  }
  if (msg.type === 'read-only-batch') {
    return encodeTop(T.peer, { version, read_only_batch: { batch_id: u64Out(msg.batch.batchId, 'batch_id'), requests: msg.batch.requests } });
  }
  if (msg.type === 'read-only-batch-share') {
    const s = msg.share;
    return encodeTop(T.peer, {
      version,
      read_only_batch_share: { batch_id: u64Out(s.batchId, 'batch_id'), leaves: s.leaves, results: s.results, signer: u32Out(s.signer, 'signer'), signature: s.signature },
    });
  }
  return encodeTop(T.peer, { version, share_request: { key_set: msg.keySet, sequence: u64Out(msg.sequence, 'sequence') } });
}

/**
 * Decode and validate a replica-to-replica frame.
 * @throws {WireError}
 */
export function decodePeerFrame(data: Uint8Array, limits: WireLimits = DEFAULT_WIRE_LIMITS): PeerMessage {
  return guarded(() => {
    const m = decodeTop(T.peer, data, limits);
    if (m.share) {
      const s = m.share as Loose;
      const share: ShareMessage = {
        keySet: str(s.key_set),
        sequence: u64(s.sequence, 'sequence'),
        root: bytes(s.root),
        leafCount: num(s.leaf_count),
        signer: num(s.signer),
        signature: bytes(s.signature),
      };
      checkKeySet(share.keySet, limits);
      checkLen('root', share.root, DIGEST_BYTES);
      if (share.leafCount < 1) throw new InvalidFieldError('leaf_count', 'must be >= 1');
      if (share.signer < 1) throw new InvalidFieldError('signer', 'must be >= 1');
      checkMax('signature', share.signature.length, limits.maxBlsSignatureBytes);
      if (share.signature.length === 0) throw new InvalidFieldError('signature', 'empty');
      return { type: 'share', share };
    }
    if (m.share_request) {
      const r = m.share_request as Loose;
      const keySet = str(r.key_set);
      checkKeySet(keySet, limits);
      return { type: 'share-request', keySet, sequence: u64(r.sequence, 'sequence') };
    }
    if (m.read_only_batch) {
      const r = m.read_only_batch as Loose;
      const requests = list(r.requests);
      if (requests.length === 0) throw new InvalidFieldError('requests', 'empty');
      checkMax('requests', requests.length, limits.maxReadOnlyBatchRequests);
      for (const q of requests) if (q.length === 0) throw new InvalidFieldError('requests', 'empty request');
      return { type: 'read-only-batch', batch: { batchId: u64(r.batch_id, 'batch_id'), requests } };
    }
    if (m.read_only_batch_share) {
      const r = m.read_only_batch_share as Loose;
      const share: ReadOnlyBatchShareMessage = {
        batchId: u64(r.batch_id, 'batch_id'),
        leaves: list(r.leaves),
        results: list(r.results),
        signer: num(r.signer),
        signature: bytes(r.signature),
      };
      if (share.leaves.length === 0) throw new InvalidFieldError('leaves', 'empty');
      checkMax('leaves', share.leaves.length, limits.maxReadOnlyBatchRequests);
      for (const leaf of share.leaves) checkLen('leaves', leaf, DIGEST_BYTES);
      if (share.results.length > share.leaves.length) throw new InvalidFieldError('results', 'more results than leaves');
      for (const result of share.results) checkMax('result', result.length, limits.maxResultBytes);
      if (share.signer < 1) throw new InvalidFieldError('signer', 'must be >= 1');
      checkMax('signature', share.signature.length, limits.maxBlsSignatureBytes);
      if (share.signature.length === 0) throw new InvalidFieldError('signature', 'empty');
      return { type: 'read-only-batch-share', share };
    }
    throw new MalformedFrameError('PeerFrame without a body');
  });
}
