/**
 * Merkle batch proofs over result digests, RFC 6962 §2.1 (= RFC 9162 §2.1) style: SHA-256,
 * leaf hash H(0x00 || leaf), node hash H(0x01 || left || right), the tree over k leaves splits
 * at the largest power of two < k (an unpaired last node is promoted, never duplicated, so
 * there is no CVE-2012-2459-style second preimage). One group signature over the root then
 * covers k replies; each reply carries an O(log k) inclusion proof.
 *
 * Pure JS (@noble/hashes), no Node modules: safe for browser bundles.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { MerkleError } from './errors.ts';

/** Digest size in bytes. */
export const MERKLE_HASH_BYTES = 32;
/** Largest tree we build or accept a proof for (2^32 leaves → ≤ 32 path entries). */
export const MERKLE_MAX_LEAVES = 2 ** 32;

/** Inclusion proof of leaf `index` in a tree of `size` leaves (RFC 9162 §2.1.3 audit path). */
export interface MerkleProof {
  /** Leaf position, 0-based, < size. */
  readonly index: number;
  /** Number of leaves in the tree. */
  readonly size: number;
  /** Sibling hashes from the leaf level upwards, 32 bytes each. */
  readonly path: readonly Uint8Array[];
}

/** H(0x00 || leaf). */
export function leafHash(leaf: Uint8Array): Uint8Array {
  const buf = new Uint8Array(leaf.length + 1);
  buf[0] = 0x00;
  buf.set(leaf, 1);
  return sha256(buf);
}

/** H(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(65);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 33);
  return sha256(buf);
}

/** A built tree: all levels kept so proofs cost O(log k) lookups. */
export class MerkleTree {
  /** levels[0] = leaf hashes, last level = [root]. */
  private readonly levels: Uint8Array[][];
  /** Number of leaves. */
  readonly size: number;

  /**
   * Builds the tree (k leaf hashes + k−1 node hashes).
   * @throws MerkleError for an empty leaf list or a non-byte leaf.
   */
  constructor(leaves: readonly Uint8Array[]) {
    if (!Array.isArray(leaves) || leaves.length === 0) throw new MerkleError('a Merkle tree needs at least one leaf');
    if (leaves.length > MERKLE_MAX_LEAVES) throw new MerkleError('too many leaves');
    let level = leaves.map((l, i) => {
      if (!(l instanceof Uint8Array)) throw new MerkleError(`leaf ${i} is not a Uint8Array`);
      return leafHash(l);
    });
    this.size = level.length;
    this.levels = [level];
    while (level.length > 1) {
      const next: Uint8Array[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
      if (level.length % 2 === 1) next.push(level[level.length - 1]!); // promote the unpaired node
      this.levels.push(next);
      level = next;
    }
  }

  /** The Merkle root (32 bytes). */
  get root(): Uint8Array {
    return this.levels[this.levels.length - 1]![0]!;
  }

  /**
   * Inclusion proof of leaf `index`.
   * @throws MerkleError if index is not an integer in [0, size).
   */
  prove(index: number): MerkleProof {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) throw new MerkleError(`leaf index ${index} not in 0..${this.size - 1}`);
    const path: Uint8Array[] = [];
    let i = index;
    for (let d = 0; d < this.levels.length - 1; d++) {
      const level = this.levels[d]!;
      const sibling = i ^ 1;
      if (sibling < level.length) path.push(level[sibling]!);
      i >>= 1;
    }
    return { index, size: this.size, path };
  }
}

/** Root of the tree over `leaves` (at least one). @throws MerkleError */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  return new MerkleTree(leaves).root;
}

/** Proof for `leaves[index]` (builds the tree; use {@link MerkleTree} to prove many). @throws MerkleError */
export function merkleProof(leaves: readonly Uint8Array[], index: number): MerkleProof {
  return new MerkleTree(leaves).prove(index);
}

/**
 * Verifies an inclusion proof (RFC 9162 §2.1.3.2). Returns false — never throws — for a wrong
 * leaf, root or path, a malformed proof (bad index/size, wrong path length, non-32-byte hash).
 */
export function verifyMerkleProof(root: Uint8Array, leaf: Uint8Array, proof: MerkleProof): boolean {
  if (!(root instanceof Uint8Array) || root.length !== MERKLE_HASH_BYTES || !(leaf instanceof Uint8Array)) return false;
  if (proof === null || typeof proof !== 'object' || !Array.isArray(proof.path)) return false;
  const { index, size, path } = proof;
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(index) || size < 1 || size > MERKLE_MAX_LEAVES || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash(leaf);
  for (const p of path) {
    if (!(p instanceof Uint8Array) || p.length !== MERKLE_HASH_BYTES || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return false;
  let diff = 0;
  for (let i = 0; i < MERKLE_HASH_BYTES; i++) diff |= r[i]! ^ root[i]!;
  return diff === 0;
}
