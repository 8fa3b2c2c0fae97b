/**
 * Merkle batch proofs: the root equals RFC 6962 §2.1 MTH computed by the recursive definition
 * (an independent reference implementation below), every leaf's proof verifies for every tree
 * size, and any tampering is rejected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { MerkleError, MerkleTree, merkleProof, merkleRoot, verifyMerkleProof } from '../../src/crypto/index.ts';
import { enc, hex } from './helpers.ts';

const h = (...parts: Uint8Array[]): Uint8Array => {
  const c = createHash('sha256');
  for (const p of parts) c.update(p);
  return new Uint8Array(c.digest());
};
/** RFC 6962 §2.1 MTH, literally. */
function mth(d: Uint8Array[]): Uint8Array {
  if (d.length === 1) return h(Uint8Array.of(0), d[0]!);
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return h(Uint8Array.of(1), mth(d.slice(0, k)), mth(d.slice(k)));
}
const leavesOf = (k: number) => Array.from({ length: k }, (_, i) => enc(`result ${i}`));

test('root = RFC 6962 MTH and every proof verifies, sizes 1..40', () => {
  for (let k = 1; k <= 40; k++) {
    const leaves = leavesOf(k);
    const tree = new MerkleTree(leaves);
    assert.equal(hex(tree.root), hex(mth(leaves)), `size ${k}`);
    assert.equal(hex(merkleRoot(leaves)), hex(tree.root));
    for (let i = 0; i < k; i++) {
      const p = tree.prove(i);
      assert.ok(p.path.length <= Math.ceil(Math.log2(k)), 'O(log k) proof');
      assert.equal(verifyMerkleProof(tree.root, leaves[i]!, p), true, `size ${k} leaf ${i}`);
      if (k > 1) assert.equal(verifyMerkleProof(tree.root, leaves[(i + 1) % k]!, p), false, 'other leaf');
    }
  }
});

test('tampered proofs, roots, sizes and indices are rejected without throwing', () => {
  const leaves = leavesOf(13);
  const tree = new MerkleTree(leaves);
  const p = merkleProof(leaves, 6);
  const root = tree.root;
  assert.equal(verifyMerkleProof(root, leaves[6]!, p), true);
  const flipped = p.path.map((x) => x.slice());
  flipped[1]![0]! ^= 1;
  assert.equal(verifyMerkleProof(root, leaves[6]!, { ...p, path: flipped }), false);
  assert.equal(verifyMerkleProof(root, leaves[6]!, { ...p, index: 7 }), false);
  // (size 14 would give the same audit-path shape for leaf 6: RFC 9162 proofs bind the root, not
  // the size, which is why the size is carried next to the signed root in CART replies.)
  assert.equal(verifyMerkleProof(root, leaves[6]!, { ...p, size: 8 }), false);
  assert.equal(verifyMerkleProof(root, leaves[6]!, { ...p, size: 32 }), false);
  assert.equal(verifyMerkleProof(root, leaves[6]!, { ...p, path: p.path.slice(1) }), false);
  assert.equal(verifyMerkleProof(root, leaves[6]!, { ...p, path: [...p.path, p.path[0]!] }), false);
  assert.equal(verifyMerkleProof(root, leaves[6]!, { ...p, index: -1 }), false);
  assert.equal(verifyMerkleProof(root, leaves[6]!, { ...p, index: 13 }), false);
  assert.equal(verifyMerkleProof(root, leaves[6]!, { ...p, path: [new Uint8Array(5)] }), false);
  assert.equal(verifyMerkleProof(root.slice(1), leaves[6]!, p), false);
  assert.equal(verifyMerkleProof(root, leaves[6]!, null as never), false);
  // a node hash presented as a leaf (second-preimage attempt) is rejected thanks to domain separation
  const inner = new MerkleTree(leaves.slice(0, 2)).root;
  assert.equal(verifyMerkleProof(new MerkleTree(leaves.slice(0, 2)).root, inner, { index: 0, size: 1, path: [] }), false);
});

test('misuse is a typed MerkleError', () => {
  assert.throws(() => new MerkleTree([]), MerkleError);
  assert.throws(() => merkleProof(leavesOf(3), 3), MerkleError);
  assert.throws(() => merkleProof(leavesOf(3), 0.5), MerkleError);
  assert.throws(() => merkleRoot(['x' as never]), MerkleError);
});

test('property: random leaf sets, every proof verifies and binds its leaf', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 70 }), fc.nat(), (leaves, pick) => {
      const tree = new MerkleTree(leaves);
      assert.equal(hex(tree.root), hex(mth(leaves)));
      const i = pick % leaves.length;
      const p = tree.prove(i);
      assert.equal(verifyMerkleProof(tree.root, leaves[i]!, p), true);
      const other = Uint8Array.from([...leaves[i]!, 1]);
      assert.equal(verifyMerkleProof(tree.root, other, p), false);
    }),
    { numRuns: 200 },
  );
});
