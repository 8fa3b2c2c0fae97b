/**
 * Checkpoints in etcd: where a CART replica whose needed log revisions were compacted gets a
 * snapshot from (state transfer), and how the log is garbage collected.
 *
 * Key layout under the adapter prefix `p`:
 *  - `p vote/<replicaId>/<sequence, 20 digits>` → SHA-256 (hex) of that replica's snapshot after
 *    the batch with etcd revision `sequence`. Written by every replica at every checkpoint; one
 *    key range per replica, so etcd roles can restrict each replica to its own votes.
 *  - `p blob/<digest>/meta` → `{"size":N,"chunks":K}`; `p blob/<digest>/c/<i, 6 digits>` → chunk i.
 *    Content-addressed snapshot bytes, written once per digest (chunks first, `meta` last), in
 *    chunks below etcd's request size limit.
 *
 * A checkpoint is *stable* when at least `quorum` replicas voted the same digest for the same
 * sequence (CART passes f+1: then at least one correct replica vouches for it, as in PBFT's
 * checkpoint certificates, Castro & Liskov TOCS 2002 §4.3). Only stable checkpoints are restored,
 * and only after the fetched bytes hash to the voted digest. Garbage collection at a stable
 * checkpoint S deletes older votes and unreferenced blobs and compacts etcd's history below
 * S − retainRevisions, so
 * neither the keyspace nor the revision history grows without bound.
 *
 * Votes are written before the blob, so a blob being written is always referenced by a vote at
 * least as new as the stable checkpoint and never collected half-written.
 */
import { Range, type Etcd3 } from 'etcd3';
import { snapshotDigest, type Checkpoint } from './codec.ts';
import { EtcdDecodeError, EtcdStateTransferUnavailableError } from './errors.ts';

/** A checkpoint with at least `quorum` matching votes. */
export interface StableCheckpoint {
  /** etcd revision of the last batch reflected in the snapshot. */
  readonly sequence: bigint;
  /** SHA-256 of the snapshot, lower-case hex. */
  readonly digest: string;
  /** Replica ids that voted for it. */
  readonly voters: readonly number[];
}

/** Options of an {@link EtcdCheckpointStore}. */
export interface EtcdCheckpointStoreOptions {
  /** Key prefix of the adapter (ends with `/`). */
  readonly prefix: string;
  readonly replicaId: number;
  /** Matching votes needed for a stable checkpoint (CART: f+1). */
  readonly quorum: number;
  /** Snapshot chunk size in bytes (below etcd's `--max-request-bytes`, default 1.5 MiB). */
  readonly chunkBytes: number;
  /** Compact etcd's revision history at stable checkpoints. */
  readonly compact: boolean;
  /** Revisions of history kept below the stable checkpoint when compacting. */
  readonly retainRevisions: bigint;
}

const SEQ_DIGITS = 20;
const DIGEST_RE = /^[0-9a-f]{64}$/;

/** Checkpoint votes and snapshot blobs of one CART deployment in etcd. */
export class EtcdCheckpointStore {
  private lastCollected = 0n;
  /** Malformed vote or blob keys/values seen (ignored), for metrics. */
  malformed = 0;

  constructor(
    private readonly client: Etcd3,
    private readonly options: EtcdCheckpointStoreOptions,
  ) {}

  private get votePrefix(): string {
    return `${this.options.prefix}vote/`;
  }
  private blobPrefix(digest: string): string {
    return `${this.options.prefix}blob/${digest}/`;
  }
  private voteKey(sequence: bigint, replica: number): string {
    return `${this.votePrefix}${replica}/${sequence.toString().padStart(SEQ_DIGITS, '0')}`;
  }

  /** Publish this replica's checkpoint: its vote, then the blob if no replica stored it yet. */
  async publish(cp: Checkpoint): Promise<string> {
    const digest = snapshotDigest(cp.snapshot);
    await this.client.put(this.voteKey(cp.sequence, this.options.replicaId)).value(digest).exec();
    const blob = this.blobPrefix(digest);
    if ((await this.client.get(`${blob}meta`).string()) !== null) return digest;
    const size = cp.snapshot.length;
    const chunks = Math.max(1, Math.ceil(size / this.options.chunkBytes));
    for (let i = 0; i < chunks; i++) {
      const part = cp.snapshot.subarray(i * this.options.chunkBytes, (i + 1) * this.options.chunkBytes);
      await this.client.put(`${blob}c/${String(i).padStart(6, '0')}`).value(Buffer.from(part)).exec();
    }
    await this.client.put(`${blob}meta`).value(JSON.stringify({ size, chunks })).exec();
    return digest;
  }

  /** The newest stable checkpoint, or `undefined` if none has `quorum` matching votes. */
  async stable(): Promise<StableCheckpoint | undefined> {
    const all = await this.stableCheckpoints();
    return all[all.length - 1];
  }

  /**
   * Every stable checkpoint still recorded, oldest first. (Two digests reaching `quorum` for one
   * sequence would mean more than quorum−1 faulty voters; then the one with more votes wins.)
   */
  async stableCheckpoints(): Promise<StableCheckpoint[]> {
    const votes = await this.client.getAll().prefix(this.votePrefix).strings();
    const tally = new Map<string, { sequence: bigint; digest: string; voters: Set<number> }>();
    for (const [key, digest] of Object.entries(votes)) {
      const m = /^(\d{1,9})\/(\d{20})$/.exec(key.slice(this.votePrefix.length));
      if (m === null || !DIGEST_RE.test(digest)) {
        this.malformed++;
        continue;
      }
      const id = `${m[2]}/${digest}`;
      let t = tally.get(id);
      if (t === undefined) tally.set(id, (t = { sequence: BigInt(m[2]!), digest, voters: new Set() }));
      t.voters.add(Number(m[1]));
    }
    const bySequence = new Map<bigint, StableCheckpoint>();
    for (const t of tally.values()) {
      if (t.voters.size < this.options.quorum) continue;
      const other = bySequence.get(t.sequence);
      if (other !== undefined && other.voters.length >= t.voters.size) continue;
      bySequence.set(t.sequence, { sequence: t.sequence, digest: t.digest, voters: [...t.voters].sort((a, b) => a - b) });
    }
    return [...bySequence.values()].sort((a, b) => (a.sequence < b.sequence ? -1 : 1));
  }

  /** Whether etcd's history at revision `rev` was compacted (a future revision is not). */
  async isCompacted(rev: bigint): Promise<boolean> {
    try {
      await this.client.kv.range({ key: Buffer.from(`${this.options.prefix}log/`), revision: rev.toString(), limit: 1 });
      return false;
    } catch (e) {
      if (/compacted/.test(String(e))) return true;
      if (/future revision/.test(String(e))) return false;
      throw e;
    }
  }

  /**
   * The oldest stable checkpoint after `applied` whose successor revision is still in etcd's
   * history: least state to transfer, the rest can be replayed by watching. `undefined` if none.
   */
  async oldestUsableAfter(applied: bigint): Promise<StableCheckpoint | undefined> {
    for (const cp of await this.stableCheckpoints()) {
      if (cp.sequence > applied && !(await this.isCompacted(cp.sequence + 1n))) return cp;
    }
    return undefined;
  }

  /**
   * Fetch and verify the snapshot bytes of a stable checkpoint.
   * @throws {EtcdStateTransferUnavailableError} if the blob is not (completely) written yet
   * @throws {EtcdDecodeError} if the bytes do not match the voted digest
   */
  async fetch(cp: StableCheckpoint): Promise<Uint8Array> {
    const blob = this.blobPrefix(cp.digest);
    const metaText = await this.client.get(`${blob}meta`).string();
    if (metaText === null) throw new EtcdStateTransferUnavailableError(`snapshot ${cp.digest} not stored yet`);
    let meta: { size: number; chunks: number };
    try {
      meta = JSON.parse(metaText) as { size: number; chunks: number };
    } catch {
      throw new EtcdDecodeError(`malformed snapshot meta for ${cp.digest}`);
    }
    if (!Number.isSafeInteger(meta.size) || !Number.isSafeInteger(meta.chunks) || meta.chunks < 1 || meta.chunks > 1e6) {
      throw new EtcdDecodeError(`malformed snapshot meta for ${cp.digest}`);
    }
    const parts: Buffer[] = [];
    for (let i = 0; i < meta.chunks; i++) {
      const part = await this.client.get(`${blob}c/${String(i).padStart(6, '0')}`).buffer();
      if (part === null) throw new EtcdDecodeError(`snapshot ${cp.digest} misses chunk ${i}`);
      parts.push(part);
    }
    const bytes = Buffer.concat(parts);
    if (bytes.length !== meta.size || snapshotDigest(bytes) !== cp.digest) {
      throw new EtcdDecodeError(`snapshot bytes do not match digest ${cp.digest}`);
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /**
   * Garbage-collect at the stable checkpoint `cp`: compact etcd's history below
   * `cp.sequence − retainRevisions` (an "already compacted" answer is fine), delete the votes of
   * checkpoints below that point (without compaction: below `cp`), and delete blobs no remaining
   * vote references. Checkpoints inside the retained history stay restorable, so a lagging
   * replica can restore the oldest one that covers the compaction point and replay the rest.
   * Returns whether anything was done (false if `cp` was already collected by this replica).
   */
  async collect(cp: StableCheckpoint): Promise<boolean> {
    if (cp.sequence <= this.lastCollected) return false;
    this.lastCollected = cp.sequence;
    const compactAt = cp.sequence - this.options.retainRevisions;
    const compacting = this.options.compact && compactAt > 1n;
    if (compacting) {
      try {
        await this.client.kv.compact({ revision: compactAt.toString(), physical: false });
      } catch (e) {
        if (!/compacted/.test(String(e))) throw e;
      }
    }
    const floor = compacting ? compactAt : this.options.compact ? 0n : cp.sequence;
    if (floor > 0n) {
      // Every replica's votes below the floor (with per-replica etcd roles only its own succeed).
      const voters = new Set((await this.client.getAll().prefix(this.votePrefix).keys()).map((k) => k.slice(this.votePrefix.length).split('/')[0]));
      for (const v of voters) {
        if (v === undefined || !/^\d{1,9}$/.test(v)) continue;
        const start = `${this.votePrefix}${v}/`;
        await this.client
          .delete()
          .range(new Range(start, this.voteKey(floor, Number(v))))
          .exec()
          .catch((e: unknown) => {
            if (Number(v) === this.options.replicaId) throw e;
          });
      }
    }
    const referenced = new Set(Object.values(await this.client.getAll().prefix(this.votePrefix).strings()));
    referenced.add(cp.digest);
    const blobRoot = `${this.options.prefix}blob/`;
    const blobKeys = await this.client.getAll().prefix(blobRoot).keys();
    const digests = new Set(blobKeys.map((k) => k.slice(blobRoot.length).split('/')[0] ?? ''));
    for (const d of digests) {
      if (!referenced.has(d)) await this.client.delete().prefix(this.blobPrefix(d)).exec();
    }
    return true;
  }
}
