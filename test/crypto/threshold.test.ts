/**
 * Threshold BLS behaviour on every backend: signing, combination (any t-subset gives the same
 * bytes), verification, batch verification, bad-share detection, cross-backend interop, and
 * the bad-input cases of issue 2.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  BACKENDS,
  dealKeySets,
  defaultKeySetSpecs,
  loadThresholdBls,
  DuplicateSignerError,
  InfinityPointError,
  InsufficientSharesError,
  InvalidPointError,
  InvalidThresholdError,
  MalformedEncodingError,
  SignerIndexError,
  type KeyShare,
  type PublicKeySet,
  type SignatureShare,
  type ThresholdBls,
} from '../../src/crypto/index.ts';
import { enc, g1NotOnCurve, g1OffSubgroup, g2OffSubgroup, hex, infinity } from './helpers.ts';

const f = 2;
const n = 3 * f + 1; // 7 replicas: ordered t = 3, readonly t = 5
const dealt = dealKeySets(n, defaultKeySetSpecs(f));
const ordered: PublicKeySet = dealt.publicKeySets[0]!;
const readonly: PublicKeySet = dealt.publicKeySets[1]!;
const orderedShare = (i: number): KeyShare => dealt.shares[i - 1]![0]!;
const readonlyShare = (i: number): KeyShare => dealt.shares[i - 1]![1]!;
const msg = enc('result digest of request 42');

/** All k-subsets of [1..n]. */
function subsets(k: number, from = 1): number[][] {
  if (k === 0) return [[]];
  const out: number[][] = [];
  for (let i = from; i <= n - k + 1; i++) for (const rest of subsets(k - 1, i + 1)) out.push([i, ...rest]);
  return out;
}

for (const backend of BACKENDS) {
  describe(`threshold BLS (${backend})`, () => {
    let bls: ThresholdBls;
    let shares: SignatureShare[];
    before(async () => {
      bls = await loadThresholdBls(backend);
      assert.equal(bls.backend, backend, 'the backend really loaded (no silent fallback)');
      shares = Array.from({ length: n }, (_, k) => bls.signShare(orderedShare(k + 1), 'ordered-reply', msg));
    });

    test('every share verifies under its own public key share only', () => {
      for (const s of shares) assert.equal(bls.verifyShare(ordered, 'ordered-reply', msg, s), true);
      const moved = { index: shares[0]!.index === 1 ? 2 : 1, signature: shares[0]!.signature };
      assert.equal(bls.verifyShare(ordered, 'ordered-reply', msg, moved), false);
      assert.equal(bls.verifyShare(ordered, 'readonly-reply', msg, shares[0]!), false, 'other domain');
      assert.equal(bls.verifyShare(ordered, 'ordered-reply', enc('other'), shares[0]!), false, 'other message');
    });

    test('any t-subset of shares combines to byte-identical, valid group signatures', () => {
      const sets = backend === 'noble' ? subsets(ordered.threshold).slice(0, 6) : subsets(ordered.threshold);
      const sigs = new Set<string>();
      for (const set of sets) sigs.add(hex(bls.combine(ordered, set.map((i) => shares[i - 1]!))));
      assert.equal(sigs.size, 1);
      const sig = bls.combine(ordered, shares); // more than t: uses t of them
      assert.equal(sigs.has(hex(sig)), true);
      assert.equal(bls.verify(ordered.groupPublicKey, 'ordered-reply', msg, sig), true);
      assert.equal(bls.verify(ordered.groupPublicKey, 'ordered-reply', enc('forged'), sig), false);
      assert.equal(bls.verify(ordered.groupPublicKey, 'batch-root', msg, sig), false, 'domain separation');
    });

    test('a signature valid under one key set is rejected under another', () => {
      const sig = bls.combine(ordered, shares.slice(0, ordered.threshold));
      assert.equal(bls.verify(readonly.groupPublicKey, 'ordered-reply', msg, sig), false);
      // read-only shares combined with the ordered key set's coefficients fail verification too
      const roShares = [1, 2, 3, 4, 5].map((i) => bls.signShare(readonlyShare(i), 'readonly-reply', msg));
      assert.equal(bls.verify(readonly.groupPublicKey, 'readonly-reply', msg, bls.combine(readonly, roShares)), true);
      assert.equal(bls.verify(ordered.groupPublicKey, 'readonly-reply', msg, bls.combine(ordered, roShares.slice(0, 3))), false);
      assert.equal(bls.verifyShare(ordered, 'readonly-reply', msg, roShares[0]!), false);
    });

    test('t = f+1 read-only shares are not enough for the 2f+1 key set', () => {
      const roShares = [1, 2, 3].map((i) => bls.signShare(readonlyShare(i), 'readonly-reply', msg));
      assert.throws(() => bls.combine(readonly, roShares), InsufficientSharesError);
    });

    test('one corrupted share among t: combination fails verification and the bad signer is found', () => {
      const bad = { index: 2, signature: shares[4]!.signature }; // a valid point, wrong signer
      const set = [shares[0]!, bad, shares[2]!];
      const sig = bls.combine(ordered, set);
      assert.equal(bls.verify(ordered.groupPublicKey, 'ordered-reply', msg, sig), false);
      assert.deepEqual(bls.findBadShares(ordered, 'ordered-reply', msg, set), [2]);
      const garbage = { index: 6, signature: g1OffSubgroup() };
      assert.deepEqual(bls.findBadShares(ordered, 'ordered-reply', msg, [...set, garbage, { index: 99, signature: shares[0]!.signature }]), [2, 6, 99]);
      assert.deepEqual(bls.findBadShares(ordered, 'ordered-reply', msg, shares), []);
    });

    test('combination rejects duplicate, zero, out-of-range and too few signer indices', () => {
      assert.throws(() => bls.combine(ordered, [shares[0]!, shares[0]!, shares[1]!]), DuplicateSignerError);
      assert.throws(() => bls.combine(ordered, [{ index: 0, signature: shares[0]!.signature }, shares[1]!, shares[2]!]), SignerIndexError);
      assert.throws(() => bls.combine(ordered, [{ index: n + 1, signature: shares[0]!.signature }, shares[1]!, shares[2]!]), SignerIndexError);
      assert.throws(() => bls.combine(ordered, [{ index: 1.5, signature: shares[0]!.signature }, shares[1]!, shares[2]!]), SignerIndexError);
      assert.throws(() => bls.combine(ordered, shares.slice(0, 2)), InsufficientSharesError);
      assert.throws(() => bls.combine(ordered, []), InsufficientSharesError);
    });

    test('t = 0 is rejected when dealing and when combining', () => {
      assert.throws(() => dealKeySets(4, [{ name: 'x', threshold: 0 }]), InvalidThresholdError);
      assert.throws(() => dealKeySets(4, [{ name: 'x', threshold: 5 }]), InvalidThresholdError);
      const zero: PublicKeySet = { ...ordered, threshold: 0, commitments: [] };
      assert.throws(() => bls.combine(zero, shares.slice(0, 3)), InvalidThresholdError);
      assert.equal(bls.verifyShare(zero, 'ordered-reply', msg, shares[0]!), false);
    });

    test('combination decodes shares with infinity, encoding and subgroup checks', () => {
      const withShare = (signature: Uint8Array) => [{ index: 1, signature }, shares[1]!, shares[2]!];
      assert.throws(() => bls.combine(ordered, withShare(infinity(48))), InfinityPointError);
      const dirtyInf = infinity(48);
      dirtyInf[47] = 1;
      assert.throws(() => bls.combine(ordered, withShare(dirtyInf)), MalformedEncodingError);
      assert.throws(() => bls.combine(ordered, withShare(g1OffSubgroup())), InvalidPointError);
      assert.throws(() => bls.combine(ordered, withShare(g1NotOnCurve())), InvalidPointError);
      assert.throws(() => bls.combine(ordered, withShare(shares[0]!.signature.slice(0, 47))), MalformedEncodingError);
      const uncompressed = shares[0]!.signature.slice();
      uncompressed[0]! &= 0x7f;
      assert.throws(() => bls.combine(ordered, withShare(uncompressed)), MalformedEncodingError);
      const bigX = new Uint8Array(48).fill(0xff);
      bigX[0] = 0x9f; // compressed flag, x = 2^381 - 1 ≥ p
      assert.throws(() => bls.combine(ordered, withShare(bigX)), MalformedEncodingError);
    });

    test('verify returns false (never throws) on malformed input', () => {
      const sig = bls.combine(ordered, shares.slice(0, 3));
      const pk = ordered.groupPublicKey;
      assert.equal(bls.verify(infinity(96), 'ordered-reply', msg, infinity(48)), false, 'infinity key + infinity signature');
      assert.equal(bls.verify(pk, 'ordered-reply', msg, infinity(48)), false);
      assert.equal(bls.verify(infinity(96), 'ordered-reply', msg, sig), false);
      const dirty = infinity(48);
      dirty[0] = 0xe0; // infinity flag with sign bit set
      assert.equal(bls.verify(pk, 'ordered-reply', msg, dirty), false);
      assert.equal(bls.verify(pk, 'ordered-reply', msg, g1OffSubgroup()), false);
      assert.equal(bls.verify(g2OffSubgroup(), 'ordered-reply', msg, sig), false);
      assert.equal(bls.verify(pk, 'ordered-reply', msg, new Uint8Array(0)), false);
      assert.equal(bls.verify(pk.slice(0, 48), 'ordered-reply', msg, sig), false);
      assert.equal(bls.verify(pk, 'no-such-domain' as never, msg, sig), false);
      assert.equal(bls.verify(pk, 'ordered-reply', 'not bytes' as never, sig), false);
      assert.equal(bls.verify(null as never, 'ordered-reply', msg, null as never), false);
      assert.equal(bls.verifyShare(ordered, 'ordered-reply', msg, { index: 1, signature: infinity(48) }), false);
      assert.equal(bls.verifyShare(ordered, 'ordered-reply', msg, null as never), false);
    });

    test('batch verification accepts valid batches and rejects forged pairs that cancel', () => {
      const msgs = [enc('a'), enc('b'), enc('c'), enc('d')];
      const items = msgs.map((m) => ({
        publicKey: ordered.groupPublicKey,
        domain: 'ordered-reply' as const,
        message: m,
        signature: bls.combine(ordered, [1, 2, 3].map((i) => bls.signShare(orderedShare(i), 'ordered-reply', m))),
      }));
      items.push({ publicKey: ordered.publicKeyShares[3]!, domain: 'ordered-reply', message: msg, signature: shares[3]!.signature });
      assert.equal(bls.batchVerify(items), true);
      assert.equal(bls.batchVerify([]), true);
      // Swapping two signatures leaves Σσ unchanged: an unweighted batch check would accept it.
      const swapped = items.map((it) => ({ ...it }));
      swapped[0] = { ...swapped[0]!, signature: items[1]!.signature };
      swapped[1] = { ...swapped[1]!, signature: items[0]!.signature };
      assert.equal(bls.batchVerify(swapped), false);
      assert.equal(bls.batchVerify([...items.slice(0, 2), { ...items[2]!, signature: infinity(48) }]), false);
      assert.equal(bls.batchVerify([...items.slice(0, 2), { ...items[2]!, domain: 'pop' }]), false);
    });
  });
}

test('blst, mcl and noble interoperate byte for byte (shares, combination, verification)', async () => {
  const all = await Promise.all(BACKENDS.map((b) => loadThresholdBls(b)));
  const m = enc('interop');
  // every backend signs the same bytes for the same key share
  for (const i of [1, 2, 5]) {
    const sigs = all.map((b) => hex(b.signShare(orderedShare(i), 'ordered-reply', m).signature));
    assert.equal(new Set(sigs).size, 1, `share ${i}: ${BACKENDS.join(' / ')} differ`);
  }
  // shares from different backends, combined and verified on every backend
  const mixed = [all[0]!.signShare(orderedShare(1), 'ordered-reply', m), all[1]!.signShare(orderedShare(2), 'ordered-reply', m), all[2]!.signShare(orderedShare(5), 'ordered-reply', m)];
  const combined = all.map((b) => hex(b.combine(ordered, mixed)));
  assert.equal(new Set(combined).size, 1, 'combination differs across backends');
  const sig = all[0]!.combine(ordered, mixed);
  for (const b of all) {
    for (const s of mixed) assert.equal(b.verifyShare(ordered, 'ordered-reply', m, s), true, b.backend);
    assert.equal(b.verify(ordered.groupPublicKey, 'ordered-reply', m, sig), true, b.backend);
    assert.equal(b.verify(ordered.groupPublicKey, 'readonly-reply', m, sig), false, b.backend);
  }
  // a batch built from all backends' signatures verifies on each
  const items = all.map((b, k) => {
    const mk = enc(`batch ${k}`);
    return { publicKey: ordered.groupPublicKey, domain: 'ordered-reply' as const, message: mk, signature: b.combine(ordered, [1, 3, 4].map((i) => b.signShare(orderedShare(i), 'ordered-reply', mk))) };
  });
  for (const b of all) assert.equal(b.batchVerify(items), true, b.backend);
});

test('large messages (1 MiB, 4 KiB, empty) hash identically on all backends', async () => {
  const all = await Promise.all(BACKENDS.map((b) => loadThresholdBls(b)));
  for (const len of [0, 1024, 1025, 4096, 1 << 20]) {
    const m = new Uint8Array(len).map((_, i) => (i * 31 + 7) & 0xff);
    const sigs = all.map((b) => hex(b.signShare(orderedShare(1), 'ordered-reply', m).signature));
    assert.equal(new Set(sigs).size, 1, `length ${len}`);
    const a = all[0]!.signShare(orderedShare(1), 'ordered-reply', m);
    for (const b of all) assert.equal(b.verifyShare(ordered, 'ordered-reply', m, a), true, `${b.backend}, length ${len}`);
  }
});

test('unknown backend is a typed error', async () => {
  await assert.rejects(loadThresholdBls('blst-0.2'), (e: Error) => e.name === 'BackendError');
});
