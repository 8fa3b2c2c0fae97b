/**
 * Deterministic binary encoding of PBFT messages.
 *
 * Layout: `[version u8 = 1][type u8][fields…]`, big-endian fixed-width integers (u8 replica
 * ids, u64 views/sequence numbers/request ids), `u32 length ‖ bytes` for byte strings,
 * `u8 length ‖ UTF-8` for client ids, `u16/u32 count ‖ items` for lists. Nested messages are
 * encoded inline without their version byte. The encoding is canonical: `encode(decode(b))`
 * equals `b` for every accepted `b`, which is what lets signatures over re-encoded nested
 * messages (certificates) be checked.
 *
 * {@link decodeMessage} never throws anything but {@link DecodeError}; every length and count is
 * bounded (by {@link CODEC_LIMITS} and by the bytes actually present) before allocation.
 */
import type {
  CheckpointMsg,
  CheckpointState,
  CommitMsg,
  CommittedBatch,
  FetchMsg,
  NewViewMsg,
  PbftMessage,
  PrePrepareMsg,
  PrepareMsg,
  PreparedCert,
  ReplyMsg,
  RequestMsg,
  StateMsg,
  StatusMsg,
  ViewChangeMsg,
} from './messages.ts';

/** Wire format version written and accepted. */
import { CODEC_LIMITS, CODEC_VERSION, DIGEST_BYTES, DecodeError, Reader, Writer, sha256 } from './byte-io.ts';

export { CODEC_LIMITS, CODEC_VERSION, DIGEST_BYTES, DecodeError, type DecodeErrorCode, bytesEqual, sha256, toHex } from './byte-io.ts';

const TYPE_CODES = {
  request: 1,
  reply: 2,
  'pre-prepare': 3,
  prepare: 4,
  commit: 5,
  checkpoint: 6,
  'view-change': 7,
  'new-view': 8,
  status: 9,
  fetch: 10,
  state: 11,
} as const satisfies Record<PbftMessage['type'], number>;


// ---------------------------------------------------------------- field groups

function wSig(w: Writer, sig: Uint8Array): void {
  if (sig.length > CODEC_LIMITS.maxSigBytes) throw new RangeError('signature too long');
  w.u8(sig.length);
  w.raw(sig);
}
function wDigest(w: Writer, d: Uint8Array): void {
  if (d.length !== DIGEST_BYTES) throw new RangeError('digest must be 32 bytes');
  w.raw(d);
}
function wReplica(w: Writer, r: number): void {
  if (!Number.isInteger(r) || r < 0 || r > CODEC_LIMITS.maxReplica) throw new RangeError(`bad replica id ${r}`);
  w.u8(r);
}

function wRequestBody(w: Writer, m: RequestMsg): void {
  w.str(m.clientId);
  w.u64(m.requestId);
  w.bytes(m.payload);
}
function wRequest(w: Writer, m: RequestMsg): void {
  wRequestBody(w, m);
  wSig(w, m.sig);
}
function rRequest(r: Reader): RequestMsg {
  const clientId = r.str('clientId');
  const requestId = r.u64('requestId');
  const payload = r.bytes(CODEC_LIMITS.maxPayloadBytes, 'payload');
  const sig = r.sig('request sig');
  return { type: 'request', clientId, requestId, payload, sig };
}

function wBatch(w: Writer, batch: readonly RequestMsg[]): void {
  w.u32(batch.length);
  for (const q of batch) wRequest(w, q);
}
function rBatch(r: Reader): RequestMsg[] {
  const n = r.count(CODEC_LIMITS.maxBatch, 14, 'batch');
  const out: RequestMsg[] = [];
  for (let i = 0; i < n; i++) out.push(rRequest(r));
  return out;
}

function wPrePrepareHeader(w: Writer, m: PrePrepareMsg): void {
  w.u64(m.view);
  w.u64(m.seq);
  wDigest(w, m.digest);
  wReplica(w, m.replica);
}
function wPrePrepare(w: Writer, m: PrePrepareMsg): void {
  wPrePrepareHeader(w, m);
  wSig(w, m.sig);
  wBatch(w, m.batch);
}
function rPrePrepare(r: Reader): PrePrepareMsg {
  const view = r.u64('view');
  const seq = r.u64('seq');
  const digest = r.digest('digest');
  const replica = r.replica('replica');
  const sig = r.sig('pre-prepare sig');
  const batch = rBatch(r);
  return { type: 'pre-prepare', view, seq, digest, replica, sig, batch };
}

function wVote(w: Writer, m: { view: bigint; seq: bigint; digest: Uint8Array; replica: number }): void {
  w.u64(m.view);
  w.u64(m.seq);
  wDigest(w, m.digest);
  wReplica(w, m.replica);
}
function rPrepare(r: Reader): PrepareMsg {
  const view = r.u64('view');
  const seq = r.u64('seq');
  const digest = r.digest('digest');
  const replica = r.replica('replica');
  const sig = r.sig('prepare sig');
  return { type: 'prepare', view, seq, digest, replica, sig };
}

function wCheckpointBody(w: Writer, m: CheckpointMsg): void {
  w.u64(m.seq);
  wDigest(w, m.stateDigest);
  wReplica(w, m.replica);
}
function wCheckpoint(w: Writer, m: CheckpointMsg): void {
  wCheckpointBody(w, m);
  wSig(w, m.sig);
}
function rCheckpoint(r: Reader): CheckpointMsg {
  const seq = r.u64('seq');
  const stateDigest = r.digest('stateDigest');
  const replica = r.replica('replica');
  const sig = r.sig('checkpoint sig');
  return { type: 'checkpoint', seq, stateDigest, replica, sig };
}
function wCheckpoints(w: Writer, list: readonly CheckpointMsg[]): void {
  w.u32(list.length);
  for (const c of list) wCheckpoint(w, c);
}
function rCheckpoints(r: Reader): CheckpointMsg[] {
  const n = r.count(CODEC_LIMITS.maxList, 42, 'checkpoints');
  const out: CheckpointMsg[] = [];
  for (let i = 0; i < n; i++) out.push(rCheckpoint(r));
  return out;
}

function wPreparedCert(w: Writer, c: PreparedCert): void {
  wPrePrepare(w, c.prePrepare);
  w.u32(c.prepares.length);
  for (const p of c.prepares) {
    wVote(w, p);
    wSig(w, p.sig);
  }
}
function rPreparedCert(r: Reader): PreparedCert {
  const prePrepare = rPrePrepare(r);
  const n = r.count(CODEC_LIMITS.maxList, 50, 'prepares');
  const prepares: PrepareMsg[] = [];
  for (let i = 0; i < n; i++) prepares.push(rPrepare(r));
  return { prePrepare, prepares };
}

function wViewChangeBody(w: Writer, m: ViewChangeMsg): void {
  w.u64(m.newView);
  wReplica(w, m.replica);
  w.u64(m.stableSeq);
  wCheckpoints(w, m.checkpointProof);
  w.u32(m.prepared.length);
  for (const c of m.prepared) wPreparedCert(w, c);
}
function wViewChange(w: Writer, m: ViewChangeMsg): void {
  wViewChangeBody(w, m);
  wSig(w, m.sig);
}
function rViewChange(r: Reader): ViewChangeMsg {
  const newView = r.u64('newView');
  const replica = r.replica('replica');
  const stableSeq = r.u64('stableSeq');
  const checkpointProof = rCheckpoints(r);
  const n = r.count(CODEC_LIMITS.maxList, 58, 'prepared');
  const prepared: PreparedCert[] = [];
  for (let i = 0; i < n; i++) prepared.push(rPreparedCert(r));
  const sig = r.sig('view-change sig');
  return { type: 'view-change', newView, replica, stableSeq, checkpointProof, prepared, sig };
}

function wNewViewBody(w: Writer, m: NewViewMsg): void {
  w.u64(m.view);
  wReplica(w, m.replica);
  w.u32(m.viewChanges.length);
  for (const v of m.viewChanges) wViewChange(w, v);
  w.u32(m.prePrepares.length);
  for (const p of m.prePrepares) wPrePrepare(w, p);
}
function rNewView(r: Reader): NewViewMsg {
  const view = r.u64('view');
  const replica = r.replica('replica');
  const nv = r.count(CODEC_LIMITS.maxList, 26, 'viewChanges');
  const viewChanges: ViewChangeMsg[] = [];
  for (let i = 0; i < nv; i++) viewChanges.push(rViewChange(r));
  const np = r.count(CODEC_LIMITS.maxList, 54, 'prePrepares');
  const prePrepares: PrePrepareMsg[] = [];
  for (let i = 0; i < np; i++) prePrepares.push(rPrePrepare(r));
  const sig = r.sig('new-view sig');
  return { type: 'new-view', view, replica, viewChanges, prePrepares, sig };
}

function wReplyBody(w: Writer, m: ReplyMsg): void {
  w.u64(m.view);
  wReplica(w, m.replica);
  w.str(m.clientId);
  w.u64(m.requestId);
  w.bytes(m.result);
}

function wState(w: Writer, m: StateMsg): void {
  wReplica(w, m.replica);
  const cp: CheckpointState | undefined = m.checkpoint;
  w.u8(cp ? 1 : 0);
  if (cp) {
    w.u64(cp.seq);
    w.bytes(cp.snapshot);
    wCheckpoints(w, cp.proof);
  }
  w.u32(m.batches.length);
  for (const b of m.batches) {
    w.u64(b.seq);
    wBatch(w, b.batch);
  }
}
function rState(r: Reader): StateMsg {
  const replica = r.replica('replica');
  let checkpoint: CheckpointState | undefined;
  if (r.bool('has checkpoint')) {
    const seq = r.u64('checkpoint seq');
    const snapshot = r.bytes(CODEC_LIMITS.maxSnapshotBytes, 'snapshot');
    const proof = rCheckpoints(r);
    checkpoint = { seq, snapshot, proof };
  }
  const n = r.count(CODEC_LIMITS.maxList, 12, 'batches');
  const batches: CommittedBatch[] = [];
  for (let i = 0; i < n; i++) {
    const seq = r.u64('batch seq');
    batches.push({ seq, batch: rBatch(r) });
  }
  return { type: 'state', replica, checkpoint, batches };
}

// ---------------------------------------------------------------- public API

function header(type: PbftMessage['type']): Writer {
  const w = new Writer();
  w.u8(CODEC_VERSION);
  w.u8(TYPE_CODES[type]);
  return w;
}

/**
 * Encode a message (version byte first).
 * @throws {RangeError} if a field is out of range (bad replica id, digest length, long sig) —
 *   a programming error, never caused by remote input.
 */
export function encodeMessage(m: PbftMessage): Uint8Array {
  const w = header(m.type);
  switch (m.type) {
    case 'request':
      wRequest(w, m);
      break;
    case 'reply':
      wReplyBody(w, m);
      wSig(w, m.sig);
      break;
    case 'pre-prepare':
      wPrePrepare(w, m);
      break;
    case 'prepare':
      wVote(w, m);
      wSig(w, m.sig);
      break;
    case 'commit':
      wVote(w, m);
      break;
    case 'checkpoint':
      wCheckpoint(w, m);
      break;
    case 'view-change':
      wViewChange(w, m);
      break;
    case 'new-view':
      wNewViewBody(w, m);
      wSig(w, m.sig);
      break;
    case 'status':
      wReplica(w, m.replica);
      w.u64(m.view);
      w.u64(m.lastExecuted);
      w.u64(m.stableSeq);
      break;
    case 'fetch':
      wReplica(w, m.replica);
      w.u64(m.lastExecuted);
      break;
    case 'state':
      wState(w, m);
      break;
  }
  return w.finish();
}

/**
 * Decode one message. Returns a fully validated structure (lengths, counts, flags, UTF-8,
 * digest sizes); semantic checks (signatures, quorums, windows) are the replica's job.
 * @throws {DecodeError} for any malformed input — never any other error.
 */
export function decodeMessage(bytes: Uint8Array): PbftMessage {
  try {
    return decodeUnchecked(bytes);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError('invalid', e instanceof Error ? e.message : String(e));
  }
}

function decodeUnchecked(bytes: Uint8Array): PbftMessage {
  const r = new Reader(bytes);
  const version = r.u8('version');
  if (version !== CODEC_VERSION) throw new DecodeError('bad-version', `version ${version} (want ${CODEC_VERSION})`);
  const code = r.u8('type');
  let m: PbftMessage;
  switch (code) {
    case TYPE_CODES.request:
      m = rRequest(r);
      break;
    case TYPE_CODES.reply: {
      const view = r.u64('view');
      const replica = r.replica('replica');
      const clientId = r.str('clientId');
      const requestId = r.u64('requestId');
      const result = r.bytes(CODEC_LIMITS.maxPayloadBytes, 'result');
      const sig = r.sig('reply sig');
      m = { type: 'reply', view, replica, clientId, requestId, result, sig };
      break;
    }
    case TYPE_CODES['pre-prepare']:
      m = rPrePrepare(r);
      break;
    case TYPE_CODES.prepare:
      m = rPrepare(r);
      break;
    case TYPE_CODES.commit: {
      const view = r.u64('view');
      const seq = r.u64('seq');
      const digest = r.digest('digest');
      const replica = r.replica('replica');
      m = { type: 'commit', view, seq, digest, replica } satisfies CommitMsg;
      break;
    }
    case TYPE_CODES.checkpoint:
      m = rCheckpoint(r);
      break;
    case TYPE_CODES['view-change']:
      m = rViewChange(r);
      break;
    case TYPE_CODES['new-view']:
      m = rNewView(r);
      break;
    case TYPE_CODES.status: {
      const replica = r.replica('replica');
      const view = r.u64('view');
      const lastExecuted = r.u64('lastExecuted');
      const stableSeq = r.u64('stableSeq');
      m = { type: 'status', replica, view, lastExecuted, stableSeq } satisfies StatusMsg;
      break;
    }
    case TYPE_CODES.fetch: {
      const replica = r.replica('replica');
      const lastExecuted = r.u64('lastExecuted');
      m = { type: 'fetch', replica, lastExecuted } satisfies FetchMsg;
      break;
    }
    case TYPE_CODES.state:
      m = rState(r);
      break;
    default:
      throw new DecodeError('unknown-type', `type code ${code}`);
  }
  if (r.remaining !== 0) throw new DecodeError('trailing-bytes', `${r.remaining} bytes after ${m.type}`);
  return m;
}

// ---------------------------------------------------------------- signed parts & digests

/**
 * The bytes a signature covers: version, type and the message without its signature
 * (PRE-PREPARE: header only). Only for signed message types.
 */
export function signedBytes(
  m: RequestMsg | ReplyMsg | PrePrepareMsg | PrepareMsg | CheckpointMsg | ViewChangeMsg | NewViewMsg,
): Uint8Array {
  const w = header(m.type);
  switch (m.type) {
    case 'request':
      wRequestBody(w, m);
      break;
    case 'reply':
      wReplyBody(w, m);
      break;
    case 'pre-prepare':
      wPrePrepareHeader(w, m);
      break;
    case 'prepare':
      wVote(w, m);
      break;
    case 'checkpoint':
      wCheckpointBody(w, m);
      break;
    case 'view-change':
      wViewChangeBody(w, m);
      break;
    case 'new-view':
      wNewViewBody(w, m);
      break;
  }
  return w.finish();
}

/** The PRE-PREPARE digest d of a batch: SHA-256 over its canonical encoding. */
export function batchDigest(batch: readonly RequestMsg[]): Uint8Array {
  const w = new Writer();
  wBatch(w, batch);
  return sha256(w.finish());
}
