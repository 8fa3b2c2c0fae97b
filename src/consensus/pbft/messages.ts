/**
 * PBFT message shapes (Castro & Liskov, ACM TOCS 2002, §4). Encoded by `codec.ts`.
 *
 * Views and sequence numbers are unsigned 64-bit (`bigint`); replica ids are 0 … n-1; digests
 * are 32-byte SHA-256 values; signatures are opaque (Ed25519: 64 bytes). A signature always
 * covers the message's canonical encoding without the signature field (see `codec.ts`
 * `signedBytes`), except PRE-PREPARE whose signature covers only its header (view, seq, digest,
 * replica) — the digest binds the batch, so the certificate stays valid with or without it.
 */

/** Client REQUEST ⟨REQUEST, o, t, c⟩ (§4.1): t is the request id, o the opaque payload. */
export interface RequestMsg {
  readonly type: 'request';
  /** Client identity, 1 … 64 UTF-8 bytes. */
  readonly clientId: string;
  /** Per-client request id (u64), increasing. */
  readonly requestId: bigint;
  readonly payload: Uint8Array;
  /** Client signature over the request without this field. */
  readonly sig: Uint8Array;
}

/** REPLY ⟨REPLY, v, t, c, i, r⟩ (§4.1). */
export interface ReplyMsg {
  readonly type: 'reply';
  readonly view: bigint;
  readonly replica: number;
  readonly clientId: string;
  readonly requestId: bigint;
  readonly result: Uint8Array;
  readonly sig: Uint8Array;
}

/** PRE-PREPARE ⟨PRE-PREPARE, v, n, d⟩ with the batch of requests piggybacked (§4.2, §5.1.4). */
export interface PrePrepareMsg {
  readonly type: 'pre-prepare';
  readonly view: bigint;
  readonly seq: bigint;
  /** SHA-256 of the encoded batch (`batchDigest`). */
  readonly digest: Uint8Array;
  readonly replica: number;
  /** Primary's signature over the header (view, seq, digest, replica). */
  readonly sig: Uint8Array;
  /** The ordered requests; empty = null request (§4.4). */
  readonly batch: readonly RequestMsg[];
}

/** PREPARE ⟨PREPARE, v, n, d, i⟩ (§4.2). Signed: it is part of prepared certificates. */
export interface PrepareMsg {
  readonly type: 'prepare';
  readonly view: bigint;
  readonly seq: bigint;
  readonly digest: Uint8Array;
  readonly replica: number;
  readonly sig: Uint8Array;
}

/** COMMIT ⟨COMMIT, v, n, d, i⟩ (§4.2). Authenticated by the link only (never relayed). */
export interface CommitMsg {
  readonly type: 'commit';
  readonly view: bigint;
  readonly seq: bigint;
  readonly digest: Uint8Array;
  readonly replica: number;
}

/** CHECKPOINT ⟨CHECKPOINT, n, d, i⟩ (§4.3): d = SHA-256 of the replica's state snapshot. */
export interface CheckpointMsg {
  readonly type: 'checkpoint';
  readonly seq: bigint;
  readonly stateDigest: Uint8Array;
  readonly replica: number;
  readonly sig: Uint8Array;
}

/** Prepared certificate: a PRE-PREPARE and 2f matching PREPAREs from distinct backups (§4.4). */
export interface PreparedCert {
  readonly prePrepare: PrePrepareMsg;
  readonly prepares: readonly PrepareMsg[];
}

/** VIEW-CHANGE ⟨VIEW-CHANGE, v+1, n, C, P, i⟩ (§4.4). */
export interface ViewChangeMsg {
  readonly type: 'view-change';
  readonly newView: bigint;
  readonly replica: number;
  /** n: sequence number of the sender's last stable checkpoint. */
  readonly stableSeq: bigint;
  /** C: 2f+1 matching signed CHECKPOINTs proving `stableSeq` (empty when stableSeq = 0). */
  readonly checkpointProof: readonly CheckpointMsg[];
  /** P: one prepared certificate per sequence number > stableSeq prepared at the sender. */
  readonly prepared: readonly PreparedCert[];
  readonly sig: Uint8Array;
}

/** NEW-VIEW ⟨NEW-VIEW, v+1, V, O⟩ (§4.4). */
export interface NewViewMsg {
  readonly type: 'new-view';
  readonly view: bigint;
  readonly replica: number;
  /** V: 2f+1 valid VIEW-CHANGE messages for `view` from distinct replicas. */
  readonly viewChanges: readonly ViewChangeMsg[];
  /** O: the re-proposed PRE-PREPAREs (batches included), one per seq in (min-s, max-s]. */
  readonly prePrepares: readonly PrePrepareMsg[];
  readonly sig: Uint8Array;
}

/** STATUS gossip (periodic): lets a lagging replica notice it is behind (cf. §5.3.2). */
export interface StatusMsg {
  readonly type: 'status';
  readonly replica: number;
  readonly view: bigint;
  readonly lastExecuted: bigint;
  readonly stableSeq: bigint;
}

/** FETCH: ask a replica for state after `lastExecuted` (state transfer, §5.3.2). */
export interface FetchMsg {
  readonly type: 'fetch';
  readonly replica: number;
  readonly lastExecuted: bigint;
}

/** A certified checkpoint snapshot carried by STATE. */
export interface CheckpointState {
  readonly seq: bigint;
  /** Core state snapshot (`state.ts` encoding): client table + application snapshot. */
  readonly snapshot: Uint8Array;
  /** 2f+1 signed CHECKPOINTs for `seq` whose digest must equal SHA-256(snapshot). */
  readonly proof: readonly CheckpointMsg[];
}

/** A batch executed by the sender after its checkpoint (accepted on f+1 matching copies). */
export interface CommittedBatch {
  readonly seq: bigint;
  readonly batch: readonly RequestMsg[];
}

/** STATE: answer to FETCH. */
export interface StateMsg {
  readonly type: 'state';
  readonly replica: number;
  /** The sender's stable checkpoint if it is newer than the fetcher's `lastExecuted`. */
  readonly checkpoint: CheckpointState | undefined;
  /** Batches the sender executed after max(checkpoint, fetcher's lastExecuted), ascending. */
  readonly batches: readonly CommittedBatch[];
}

/** Any PBFT message. */
export type PbftMessage =
  | RequestMsg
  | ReplyMsg
  | PrePrepareMsg
  | PrepareMsg
  | CommitMsg
  | CheckpointMsg
  | ViewChangeMsg
  | NewViewMsg
  | StatusMsg
  | FetchMsg
  | StateMsg;
