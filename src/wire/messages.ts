/**
 * CART wire message types, limits and error codes (the TypeScript view of `proto/cart.proto`).
 * Encoders/decoders are in `codec.ts`. No Node-only modules (the client imports this file).
 */

/** The protocol version this implementation speaks (frames' field 1). */
export const PROTOCOL_VERSION = 2;

/** Size limits enforced by the decoders, in bytes unless stated. */
export interface WireLimits {
  /** Whole encoded message (one frame payload). */
  readonly maxFrameBytes: number;
  /** `Request.operation`. */
  readonly maxOperationBytes: number;
  /** `Reply.result`. */
  readonly maxResultBytes: number;
  /** Key set names (UTF-8 bytes). */
  readonly maxKeySetNameBytes: number;
  /** Number of Merkle proof entries (a tree of 2^32 leaves needs 32). */
  readonly maxProofEntries: number;
  /** BLS signatures and signature shares (compressed G1 = 48, G2 = 96). */
  readonly maxBlsSignatureBytes: number;
  /** `Error.message` (UTF-8 bytes). */
  readonly maxErrorMessageBytes: number;
  /** Requests in one `ReadOnlyBatch` (and leaves in its answer); a count, not bytes. */
  readonly maxReadOnlyBatchRequests: number;
}

/** Default limits: 1 MiB frames, 64 KiB operations, 1 MiB results. */
export const DEFAULT_WIRE_LIMITS: WireLimits = Object.freeze({
  maxFrameBytes: 1024 * 1024 + 4096,
  maxOperationBytes: 64 * 1024,
  maxResultBytes: 1024 * 1024,
  maxKeySetNameBytes: 64,
  maxProofEntries: 32,
  maxBlsSignatureBytes: 192,
  maxErrorMessageBytes: 1024,
  maxReadOnlyBatchRequests: 256,
});

/** Bytes of an Ed25519 public key (RFC 8032 §5.1.5). */
export const ED25519_PUBLIC_KEY_BYTES = 32;
/** Bytes of an Ed25519 signature (RFC 8032 §5.1.6). */
export const ED25519_SIGNATURE_BYTES = 64;
/** Bytes of a SHA-256 digest (client ids, Merkle roots and nodes). */
export const DIGEST_BYTES = 32;

/** A client request (`cart.v1.Request`). */
export interface CartRequest {
  /** 32-byte Ed25519 public key; the client id is SHA-256 of it. */
  readonly clientPublicKey: Uint8Array;
  /** Per-client request id, >= 1, < 2^64. */
  readonly requestId: bigint;
  /** Opaque application operation. */
  readonly operation: Uint8Array;
  /** Whether the client asks for the read-only path. */
  readonly readOnly: boolean;
  /** 64-byte Ed25519 signature over `requestSigningBytes` (see `digest.ts`). */
  readonly signature: Uint8Array;
  /**
   * Freshness sequence (uint64, signed): a protocol sequence number the client saw recently.
   * Decoders always set it (0n when absent on the wire); omitted when encoding means 0n.
   * See docs/protocol.md §"Freshness".
   */
  readonly fresh?: bigint;
  /**
   * Acknowledgement (uint64, signed): the client holds replies for every request id below it
   * and never sends those ids again (its lowest outstanding id). 0n / absent = none. Replicas
   * clamp it to `requestId`. See docs/protocol.md §4.2.
   */
  readonly ack?: bigint;
}

/** A threshold-signed reply (`cart.v1.Reply`). */
export interface CartReply {
  readonly requestId: bigint;
  /** 32-byte client id. */
  readonly clientId: Uint8Array;
  readonly result: Uint8Array;
  /** Key set whose group key signed: 'ordered' or 'readonly'. */
  readonly keySet: string;
  /** Protocol sequence number of the signed batch. */
  readonly sequence: bigint;
  /** 32-byte Merkle root over the batch's reply digests. */
  readonly root: Uint8Array;
  readonly leafIndex: number;
  readonly leafCount: number;
  /** Merkle audit path, leaf level first; each entry 32 bytes. */
  readonly proof: readonly Uint8Array[];
  /** Combined BLS group signature over `batchRootMessage`. */
  readonly groupSignature: Uint8Array;
  /** Sending replica's index (1..n), informational only. */
  readonly replica: number;
  /**
   * Unsigned hint: index (1..n) of the replica new requests should go to (the wrapped protocol's
   * leader, where a request needs the fewest hops); 0 or absent = no hint. Clients follow it only
   * from their current contact and never to a replica that recently failed them (client.ts).
   */
  readonly preferredContact?: number;
}

/** Error codes of `cart.v1.ErrorCode`. */
export const ErrorCode = Object.freeze({
  UNSPECIFIED: 0,
  UNSUPPORTED_VERSION: 1,
  MALFORMED: 2,
  TOO_LARGE: 3,
  BAD_SIGNATURE: 4,
  STALE_REQUEST: 5,
  OVERLOADED: 6,
  UNAVAILABLE: 7,
  READ_ONLY_FAILED: 8,
  STALE_FRESHNESS: 9,
  BUSY: 10,
  RESULT_UNAVAILABLE: 11,
} as const);
/** Numeric value of an {@link ErrorCode}. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An unsigned error notice (`cart.v1.Error`); clients treat it as a hint. */
export interface CartErrorNotice {
  /** The request it concerns, 0n if unknown. */
  readonly requestId: bigint;
  readonly code: ErrorCodeValue;
  readonly message: string;
  readonly supportedVersion: number;
  /**
   * The replica's last executed sequence number: an unauthenticated freshness hint (a client
   * re-signs a STALE_FRESHNESS request with it). Decoders always set it (0n when absent).
   */
  readonly sequence?: bigint;
}

/** A frame a replica sends to a client. */
export type ReplicaMessage = { readonly type: 'reply'; readonly reply: CartReply } | { readonly type: 'error'; readonly error: CartErrorNotice };

/** A signature share over one batch root (`cart.v1.Share`). */
export interface ShareMessage {
  readonly keySet: string;
  readonly sequence: bigint;
  readonly root: Uint8Array;
  readonly leafCount: number;
  /** Signer index 1..n; must equal the authenticated sender. */
  readonly signer: number;
  readonly signature: Uint8Array;
}

/** A contact replica's batch of read-only client requests (`cart.v1.ReadOnlyBatch`). */
export interface ReadOnlyBatchMessage {
  /** Chosen by the contact replica (uint64); unique per contact. */
  readonly batchId: bigint;
  /** 1..`maxReadOnlyBatchRequests` encoded ClientFrames (read-only requests), decoded by the receiver. */
  readonly requests: readonly Uint8Array[];
}

/** One replica's answer to a {@link ReadOnlyBatchMessage} (`cart.v1.ReadOnlyBatchShare`). */
export interface ReadOnlyBatchShareMessage {
  readonly batchId: bigint;
  /** k reply digests (32 bytes each) in batch order; their Merkle root is what is signed. */
  readonly leaves: readonly Uint8Array[];
  /** Results of the first m ≤ k requests (m < k only when all would not fit in one frame). */
  readonly results: readonly Uint8Array[];
  /** Signer index 1..n; must equal the authenticated sender. */
  readonly signer: number;
  /** Signature share under key set 'readonly' over `batchRootMessage('readonly', 0, root, k)`. */
  readonly signature: Uint8Array;
}

/** A frame exchanged between replicas. */
export type PeerMessage =
  | { readonly type: 'share'; readonly share: ShareMessage }
  | { readonly type: 'share-request'; readonly keySet: string; readonly sequence: bigint }
  | { readonly type: 'read-only-batch'; readonly batch: ReadOnlyBatchMessage }
  | { readonly type: 'read-only-batch-share'; readonly share: ReadOnlyBatchShareMessage };
