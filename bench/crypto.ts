/**
 * `npm run bench:crypto` — microseconds per operation of the threshold BLS layer, per backend
 * (blst = native, mcl = wasm, noble = pure JS; all in ONE run so the columns compare):
 * share sign, share verify, combine (t = 2, 3, 5, 11), group verify, batch verify of 64 (per
 * signature), Merkle tree of 1024 leaves (build, prove, verify), and the overhead of our API
 * (bytes in → bytes out, with all checks) over the raw library calls it wraps, and each backend's
 * speed relative to mcl (mcl µs / backend µs: > 1 = faster than mcl). Also compares
 * G1 vs G2 signatures on mcl (sign + combine + verify) to document the signature-group choice.
 *
 * Figures are CPU time per operation by default (`--wall` for wall-clock time).
 * Not a test. Default run ≈ 30 s on an idle 2-core machine (≈ 60 s under heavy load); `--quick` for a smoke
 * run, `--scale 0.5` for half the time per measurement. Operations are single-threaded
 * (median of 3 passes); on a shared machine expect ±20–30 % (more for wall-clock figures).
 */
import * as mcl from 'mcl-wasm';
import { createRequire } from 'node:module';
import { bls12_381 as nobleBls } from '@noble/curves/bls12-381.js';
import { loadGeneric } from '../src/crypto/backends.ts';
import { dealKeySets } from '../src/crypto/dealer.ts';
import { lagrangeAtZero } from '../src/crypto/field.ts';
import { MerkleTree, verifyMerkleProof } from '../src/crypto/merkle.ts';
import { domainSeparationTag } from '../src/crypto/suite.ts';
import type { GenericThresholdBls } from '../src/crypto/threshold.ts';
import type { SignatureShare } from '../src/crypto/types.ts';

const quick = process.argv.includes('--quick');
const scaleArg = process.argv.indexOf('--scale');
/** Time budget multiplier: 1 by default, 0.2 with --quick, or `--scale X` (0 < X ≤ 1). */
const scale = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : quick ? 0.2 : 1;
if (!(scale > 0 && scale <= 1)) throw new Error('--scale expects a number in (0, 1]');

/**
 * Clock used for the figures: 'cpu' (default) = this process's user + system CPU time
 * (`process.cpuUsage`), which stays meaningful on a shared, overloaded machine where wall time
 * mostly measures waiting for a core; `--wall` reports wall-clock time instead. The loop budget
 * (minMs) is always wall time, so a run takes the same wall time either way.
 */
const clock: 'cpu' | 'wall' = process.argv.includes('--wall') ? 'wall' : 'cpu';
const cpuNowUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Median over 3 passes of the mean µs/op ({@link clock}); each pass runs ≥ minIters and ≥ minMs (wall). */
function measure(fn: (i: number) => unknown, minIters: number, minMs: number): number {
  const passes: number[] = [];
  fn(0); // warm-up
  for (let p = 0; p < 3; p++) {
    let iters = 0;
    const t0 = performance.now();
    const c0 = cpuNowUs();
    let el = 0;
    while (iters < Math.max(1, Math.round(minIters * scale)) || el < minMs * scale) {
      fn(iters++);
      el = performance.now() - t0;
    }
    passes.push(clock === 'cpu' ? (cpuNowUs() - c0) / iters : (el * 1000) / iters);
  }
  return passes.sort((a, b) => a - b)[1]!;
}

const fmt = (us: number): string => (us >= 100 ? Math.round(us).toLocaleString('en-US') : us.toFixed(1));
const enc = (s: string) => new TextEncoder().encode(s);

const N = 16;
const dealt = dealKeySets(N, [2, 3, 5, 11].map((t) => ({ name: `t${t}`, threshold: t })));
const keySet = (t: number) => dealt.publicKeySets.find((k) => k.threshold === t)!;
const keyShare = (t: number, i: number) => dealt.shares[i - 1]!.find((s) => s.keySet === `t${t}`)!;
const msg = enc('CART bench: digest of a reply');

interface Row {
  op: string;
  [backend: string]: string;
}
const rows = new Map<string, Row>();
function put(op: string, backend: string, us: number | string): void {
  let r = rows.get(op);
  if (r === undefined) rows.set(op, (r = { op }));
  r[backend] = typeof us === 'number' ? fmt(us) : us;
}

function benchBackend(bls: GenericThresholdBls<unknown, unknown>, slow: boolean): void {
  const b = bls.backend;
  const it = (fast: number, slowIters: number) => (slow ? slowIters : fast);
  const ms = slow ? 150 : 250;
  const ks3 = keySet(3);
  const shares3 = [1, 2, 3].map((i) => bls.signShare(keyShare(3, i), 'ordered-reply', msg));
  put('share sign', b, measure((i) => bls.signShare(keyShare(3, 1 + (i % 3)), 'ordered-reply', msg), it(200, 5), ms));
  put('share verify', b, measure((i) => bls.verifyShare(ks3, 'ordered-reply', msg, shares3[i % 3]!), it(100, 3), ms));
  const sigs = new Map<number, Uint8Array>();
  for (const t of [2, 3, 5, 11]) {
    const ks = keySet(t);
    const shares: SignatureShare[] = Array.from({ length: t }, (_, k) => bls.signShare(keyShare(t, k + 1), 'ordered-reply', msg));
    sigs.set(t, bls.combine(ks, shares));
    put(`combine t=${t}`, b, measure(() => bls.combine(ks, shares), it(100, 3), ms));
    if (t === 3 || t === 11) {
      // raw: the library's multi-scalar multiplication on already-decoded points with cached coefficients
      const pts = shares.map((s) => bls.decodeSignature(s.signature));
      const lambdas = lagrangeAtZero(shares.map((s) => s.index));
      put(`raw library MSM t=${t}`, b, measure(() => bls.curve.msmG1(pts, lambdas), it(100, 3), ms));
    }
  }
  const sig3 = sigs.get(3)!;
  const gpk = ks3.groupPublicKey;
  put('group verify', b, measure(() => bls.verify(gpk, 'ordered-reply', msg, sig3), it(100, 3), ms));
  {
    const pk = bls.preparePublicKey(gpk);
    const s = bls.decodeSignature(sig3);
    const dst = domainSeparationTag('ordered-reply');
    put('raw library verify (hash + pairing check, decoded inputs)', b, measure(() => bls.curve.pairingCheck(s, [[bls.curve.hashToG1(msg, dst), pk]]), it(100, 3), ms));
  }
  {
    const k = 64;
    const items = Array.from({ length: k }, (_, j) => {
      const m = enc(`reply ${j}`);
      const sh = [1, 2, 3].map((i) => bls.signShare(keyShare(3, i), 'ordered-reply', m));
      return { publicKey: gpk, domain: 'ordered-reply' as const, message: m, signature: bls.combine(ks3, sh) };
    });
    put('batch verify k=64, per signature', b, measure(() => bls.batchVerify(items), it(3, 1), ms) / k);
  }
}

function benchMerkle(): void {
  const leaves = Array.from({ length: 1024 }, (_, i) => enc(`result digest ${i}`.padEnd(32, '.')));
  const tree = new MerkleTree(leaves);
  const proofs = Array.from({ length: 1024 }, (_, i) => tree.prove(i));
  put('Merkle build, 1024 leaves (per tree)', 'merkle', measure(() => new MerkleTree(leaves), 10, 200));
  put('Merkle prove (1024 leaves)', 'merkle', measure((i) => tree.prove(i % 1024), 5000, 200));
  put('Merkle verify (1024 leaves)', 'merkle', measure((i) => verifyMerkleProof(tree.root, leaves[i % 1024]!, proofs[i % 1024]!), 1000, 200));
}

/** mcl G1 vs G2 signatures with raw library calls (sign, combine t=3 via mulVec, verify via 2 pairings). */
function benchGroups(): { g1: number; g2: number } {
  const raw = (createRequire(import.meta.url)('mcl-wasm/dist/mcl.js') as { mod: any }).mod;
  const dst = domainSeparationTag('ordered-reply');
  const hashWithDst = (g: 'G1' | 'G2', m: Uint8Array) => {
    const P = g === 'G1' ? new mcl.G1() : new mcl.G2();
    const words = (P as unknown as { a_: Uint32Array }).a_;
    const sp = raw.stackSave();
    try {
      const p = raw.stackAlloc(words.length * 4);
      const mp = raw.stackAlloc(m.length + 1);
      raw.HEAP8.set(m, mp);
      const dp = raw.stackAlloc(dst.length);
      raw.HEAP8.set(dst, dp);
      (g === 'G1' ? raw._mclBnG1_hashAndMapToWithDst : raw._mclBnG2_hashAndMapToWithDst)(p, mp, m.length, dp, dst.length);
      raw.copyFromHeap32(words, p);
    } finally {
      raw.stackRestore(sp);
    }
    return P;
  };
  const sk = new mcl.Fr();
  sk.setByCSPRNG();
  const g1 = new mcl.G1();
  g1.deserialize(nobleBls.G1.Point.BASE.toBytes(true));
  const g2 = new mcl.G2();
  g2.deserialize(nobleBls.G2.Point.BASE.toBytes(true));
  const coeffs = [1, 2, 3].map((i) => {
    const f = new mcl.Fr();
    f.setInt(i * 7 + 1);
    return f;
  });
  const out = { g1: 0, g2: 0 };
  for (const g of ['G1', 'G2'] as const) {
    const sign = measure(() => {
      const h = hashWithDst(g, msg);
      return mcl.mul(h as mcl.G1, sk).serialize();
    }, 50, 200);
    const sigBytes = (mcl.mul(hashWithDst(g, msg) as mcl.G1, sk) as mcl.G1).serialize();
    const combine = measure(() => {
      const pts = [0, 1, 2].map(() => {
        const p = g === 'G1' ? new mcl.G1() : new mcl.G2();
        p.deserialize(sigBytes);
        return p;
      });
      return mcl.mulVec(pts as mcl.G1[], coeffs).serialize();
    }, 50, 200);
    const pkG2 = mcl.mul(g2, sk);
    const pkG1 = mcl.mul(g1, sk);
    const verify = measure(() => {
      if (g === 'G1') {
        const s = new mcl.G1();
        s.deserialize(sigBytes);
        return mcl.pairing(s, g2).isEqual(mcl.pairing(hashWithDst('G1', msg) as mcl.G1, pkG2));
      }
      const s = new mcl.G2();
      s.deserialize(sigBytes);
      return mcl.pairing(g1, s).isEqual(mcl.pairing(pkG1, hashWithDst('G2', msg) as mcl.G2));
    }, 30, 200);
    put(`mcl ${g} signatures: sign`, 'group', sign);
    put(`mcl ${g} signatures: combine t=3 (decode + MSM)`, 'group', combine);
    put(`mcl ${g} signatures: verify (naive, 2 pairings)`, 'group', verify);
    put(`mcl ${g} signatures: sign + combine t=3 + verify`, 'group', sign + combine + verify);
    out[g === 'G1' ? 'g1' : 'g2'] = sign + combine + verify;
  }
  return out;
}

const t0 = performance.now();
const blstBls = await loadGeneric('blst');
if (blstBls.backend !== 'blst') throw new Error('native blst did not load (fell back to mcl): nothing to compare');
benchBackend(blstBls, false);
const mclBls = await loadGeneric('mcl');
benchBackend(mclBls, false);
const nobleBls2 = await loadGeneric('noble');
benchBackend(nobleBls2, true);
benchMerkle();
const groups = benchGroups();

// overhead ratios: our full API (bytes in, checks, bytes out) vs the raw library call
const num = (v: string | undefined): number => Number((v ?? '').replace(/,/g, ''));
for (const b of ['blst', 'mcl', 'noble']) {
  for (const t of [3, 11]) {
    const ours = Number(rows.get(`combine t=${t}`)![b]!.replace(/,/g, ''));
    const raw = Number(rows.get(`raw library MSM t=${t}`)![b]!.replace(/,/g, ''));
    put(`overhead: our combine t=${t} / raw MSM`, b, `${(ours / raw).toFixed(2)}×`);
  }
  const ours = Number(rows.get('group verify')![b]!.replace(/,/g, ''));
  const raw = Number(rows.get('raw library verify (hash + pairing check, decoded inputs)')![b]!.replace(/,/g, ''));
  put('overhead: our verify / raw verify', b, `${(ours / raw).toFixed(2)}×`);
}

const cols = ['blst', 'mcl', 'noble'];
console.log(`\nCART crypto benchmark — Node ${process.version}, @chainsafe/blst 0.2.11 (blst-native), mcl-wasm 2.4.1, @noble/curves 2.4.0; ${clock === 'cpu' ? 'CPU' : 'wall-clock'} µs/op (median of 3 passes)${scale !== 1 ? ` [time scale ${scale}]` : ''}\n`);
console.log(`| operation | ${cols.join(' | ')} |`);
console.log(`|---|${cols.map(() => '--:').join('|')}|`);
const isBackendRow = (r: Row) => cols.some((c) => r[c] !== undefined);
for (const r of rows.values()) if (isBackendRow(r)) console.log(`| ${r.op} | ${cols.map((c) => r[c] ?? '').join(' | ')} |`);
console.log('\n| speed relative to mcl (mcl µs / backend µs) | blst | noble |\n|---|--:|--:|');
for (const r of rows.values()) {
  if (!isBackendRow(r) || r.op.startsWith('overhead') || !Number.isFinite(num(r.mcl))) continue;
  const ratio = (c: string) => (Number.isFinite(num(r[c])) && num(r[c]) > 0 ? `${(num(r.mcl) / num(r[c])).toFixed(2)}×` : '');
  console.log(`| ${r.op} | ${ratio('blst')} | ${ratio('noble')} |`);
}
console.log('\n| Merkle (SHA-256, @noble/hashes) | µs |\n|---|--:|');
for (const r of rows.values()) if (r.merkle !== undefined) console.log(`| ${r.op} | ${r.merkle} |`);
console.log('\n| signature group (mcl, raw calls) | µs |\n|---|--:|');
for (const r of rows.values()) if (r.group !== undefined) console.log(`| ${r.op} | ${r.group} |`);
console.log(`\nG1 signatures ${groups.g1 < groups.g2 ? 'cheaper' : 'dearer'}: ${fmt(groups.g1)} vs ${fmt(groups.g2)} µs for sign + combine + verify.`);
console.log(`total bench time ${((performance.now() - t0) / 1000).toFixed(1)} s`);
