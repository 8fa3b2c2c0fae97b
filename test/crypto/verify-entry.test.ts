/**
 * The client-side verify-only entry (`src/crypto/verify.ts`): its whole static import graph
 * uses no Node built-ins and no wasm/worker packages (so a browser bundle needs nothing
 * replaced), and it verifies what the fast backend produced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { dealKeySets, loadThresholdBls } from '../../src/crypto/index.ts';
import { checkPublicKey, checkSignature, InfinityPointError, InvalidPointError, KeyFileError, verifyMerkleProof, MerkleTree, verifySignature, batchVerifySignatures, parsePublicKeyFile, publicKeySetToJson } from '../../src/crypto/verify.ts';
import { CIPHERSUITE } from '../../src/crypto/suite.ts';
import { enc, g1OffSubgroup, infinity } from './helpers.ts';

/** All module specifiers reachable from `entry` through relative imports (static `import`/`export ... from`). */
function importGraph(entry: string): { files: string[]; packages: Set<string> } {
  const files: string[] = [];
  const packages = new Set<string>();
  const todo = [resolve(entry)];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.includes(file)) continue;
    files.push(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/g)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec));
      else packages.add(spec);
    }
    for (const m of src.matchAll(/import\(\s*'([^']+)'\s*\)/g)) packages.add(`dynamic:${m[1]}`);
  }
  return { files, packages };
}

test('verify.ts pulls in no Node-only modules', () => {
  const { files, packages } = importGraph('src/crypto/verify.ts');
  assert.ok(files.length >= 5, files.join());
  for (const p of packages) {
    assert.ok(p.startsWith('@noble/curves/') || p.startsWith('@noble/hashes/'), `verify.ts imports ${p}`);
  }
  // sanity check of the walker itself: the full index does reach Node modules
  const full = importGraph('src/crypto/index.ts');
  assert.ok([...full.packages].some((p) => p.startsWith('node:')));
  assert.ok(full.packages.has('mcl-wasm'));
});

test('verify.ts accepts mcl-produced group signatures and rejects bad ones', async () => {
  const { publicKeySets, shares } = dealKeySets(4, [{ name: 'ordered', threshold: 2 }]);
  const ks = publicKeySets[0]!;
  const mcl = await loadThresholdBls('mcl');
  const leaves = [enc('r0'), enc('r1'), enc('r2')];
  const tree = new MerkleTree(leaves);
  const sig = mcl.combine(ks, [2, 4].map((i) => mcl.signShare(shares[i - 1]![0]!, 'batch-root', tree.root)));
  assert.equal(verifySignature(ks.groupPublicKey, 'batch-root', tree.root, sig), true);
  assert.equal(verifyMerkleProof(tree.root, leaves[1]!, tree.prove(1)), true);
  assert.equal(verifySignature(ks.groupPublicKey, 'ordered-reply', tree.root, sig), false);
  assert.equal(verifySignature(ks.groupPublicKey, 'batch-root', tree.root, infinity(48)), false);
  assert.equal(batchVerifySignatures([{ publicKey: ks.groupPublicKey, domain: 'batch-root', message: tree.root, signature: sig }]), true);
  checkPublicKey(ks.groupPublicKey);
  checkSignature(sig);
  assert.throws(() => checkPublicKey(infinity(96)), InfinityPointError);
  assert.throws(() => checkSignature(g1OffSubgroup()), InvalidPointError);
});

test('verify.ts parses and validates a public key file from its text (browser path)', () => {
  const { publicKeySets } = dealKeySets(4, [{ name: 'ordered', threshold: 2 }]);
  const file = { format: 'cart-public-keys', version: 1, ciphersuite: CIPHERSUITE, keySets: publicKeySets.map(publicKeySetToJson) };
  const parsed = parsePublicKeyFile(JSON.stringify(file));
  assert.deepEqual(parsed[0]!.groupPublicKey, publicKeySets[0]!.groupPublicKey);
  const tampered = structuredClone(file);
  tampered.keySets[0]!.publicKeyShares[1] = tampered.keySets[0]!.publicKeyShares[2]!;
  assert.throws(() => parsePublicKeyFile(tampered), KeyFileError);
  assert.throws(() => parsePublicKeyFile('{'), KeyFileError);
  assert.throws(() => parsePublicKeyFile({ ...file, format: 'x' }), KeyFileError);
});
