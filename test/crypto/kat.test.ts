/**
 * RFC 9380 known-answer tests.
 * - Appendix K.1: expand_message_xmd with SHA-256, DST "QUUX-V01-CS02-with-expander-SHA256-128".
 * - Appendix J.9.1: hash_to_curve suite BLS12381G1_XMD:SHA-256_SSWU_RO_ (the suite CART uses),
 *   DST "QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_", run through every backend
 *   (blst, mcl, noble).
 * Vectors copied from RFC 9380 (expected P.x / P.y as printed there).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expand_message_xmd } from '@noble/curves/abstract/hash-to-curve.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { loadThresholdBls } from '../../src/crypto/index.ts';
import { BACKENDS, loadGeneric } from '../../src/crypto/backends.ts';
import { CIPHERSUITE_IDS, H2C_SUITE } from '../../src/crypto/suite.ts';
import { compressG1, enc, hex } from './helpers.ts';

const MSGS = ['', 'abc', 'abcdef0123456789', 'q128_' + 'q'.repeat(128), 'a512_' + 'a'.repeat(512)];

// RFC 9380 K.1, len_in_bytes = 0x20 and 0x80, one entry per message above.
const XMD_32 = [
  '68a985b87eb6b46952128911f2a4412bbc302a9d759667f87f7a21d803f07235',
  'd8ccab23b5985ccea865c6c97b6e5b8350e794e603b4b97902f53a8a0d605615',
  'eff31487c770a893cfb36f912fbfcbff40d5661771ca4b2cb4eafe524333f5c1',
  'b23a1d2b4d97b2ef7785562a7e8bac7eed54ed6e97e29aa51bfe3f12ddad1ff9',
  '4623227bcc01293b8c130bf771da8c298dede7383243dc0993d2d94823958c4c',
];
const XMD_128 = [
  'af84c27ccfd45d41914fdff5df25293e221afc53d8ad2ac06d5e3e29485dadbee0d121587713a3e0dd4d5e69e93eb7cd4f5df4cd103e188cf60cb02edc3edf18eda8576c412b18ffb658e3dd6ec849469b979d444cf7b26911a08e63cf31f9dcc541708d3491184472c2c29bb749d4286b004ceb5ee6b9a7fa5b646c993f0ced',
  'abba86a6129e366fc877aab32fc4ffc70120d8996c88aee2fe4b32d6c7b6437a647e6c3163d40b76a73cf6a5674ef1d890f95b664ee0afa5359a5c4e07985635bbecbac65d747d3d2da7ec2b8221b17b0ca9dc8a1ac1c07ea6a1e60583e2cb00058e77b7b72a298425cd1b941ad4ec65e8afc50303a22c0f99b0509b4c895f40',
  'ef904a29bffc4cf9ee82832451c946ac3c8f8058ae97d8d629831a74c6572bd9ebd0df635cd1f208e2038e760c4994984ce73f0d55ea9f22af83ba4734569d4bc95e18350f740c07eef653cbb9f87910d833751825f0ebefa1abe5420bb52be14cf489b37fe1a72f7de2d10be453b2c9d9eb20c7e3f6edc5a60629178d9478df',
  '80be107d0884f0d881bb460322f0443d38bd222db8bd0b0a5312a6fedb49c1bbd88fd75d8b9a09486c60123dfa1d73c1cc3169761b17476d3c6b7cbbd727acd0e2c942f4dd96ae3da5de368d26b32286e32de7e5a8cb2949f866a0b80c58116b29fa7fabb3ea7d520ee603e0c25bcaf0b9a5e92ec6a1fe4e0391d1cdbce8c68a',
  '546aff5444b5b79aa6148bd81728704c32decb73a3ba76e9e75885cad9def1d06d6792f8a7d12794e90efed817d96920d728896a4510864370c207f99bd4a608ea121700ef01ed879745ee3e4ceef777eda6d9e5e38b90c86ea6fb0b36504ba4a45d22e86f6db5dd43d98a294bebb9125d5b794e9d2a81181066eb954966a487',
];

// RFC 9380 J.9.1: [P.x, P.y] per message.
const G1_RO: [string, string][] = [
  ['052926add2207b76ca4fa57a8734416c8dc95e24501772c814278700eed6d1e4e8cf62d9c09db0fac349612b759e79a1', '08ba738453bfed09cb546dbb0783dbb3a5f1f566ed67bb6be0e8c67e2e81a4cc68ee29813bb7994998f3eae0c9c6a265'],
  ['03567bc5ef9c690c2ab2ecdf6a96ef1c139cc0b2f284dca0a9a7943388a49a3aee664ba5379a7655d3c68900be2f6903', '0b9c15f3fe6e5cf4211f346271d7b01c8f3b28be689c8429c85b67af215533311f0b8dfaaa154fa6b88176c229f2885d'],
  ['11e0b079dea29a68f0383ee94fed1b940995272407e3bb916bbf268c263ddd57a6a27200a784cbc248e84f357ce82d98', '03a87ae2caf14e8ee52e51fa2ed8eefe80f02457004ba4d486d6aa1f517c0889501dc7413753f9599b099ebcbbd2d709'],
  ['15f68eaa693b95ccb85215dc65fa81038d69629f70aeee0d0f677cf22285e7bf58d7cb86eefe8f2e9bc3f8cb84fac488', '1807a1d50c29f430b8cafc4f8638dfeeadf51211e1602a5f184443076715f91bb90a48ba1e370edce6ae1062f5e6dd38'],
  ['082aabae8b7dedb0e78aeb619ad3bfd9277a2f77ba7fad20ef6aabdc6c31d19ba5a6d12283553294c1825c4b3ca2dcfe', '05b84ae5a942248eea39e1d91030458c40153f3b654ab7872d779ad1e942856a20c438e8d99bc8abfbf74729ce1f7ac8'],
];

test('RFC 9380 K.1 expand_message_xmd(SHA-256) vectors', () => {
  const dst = 'QUUX-V01-CS02-with-expander-SHA256-128';
  MSGS.forEach((m, i) => {
    assert.equal(hex(expand_message_xmd(enc(m), dst, 0x20, sha256)), XMD_32[i], `len 0x20, msg #${i}`);
    assert.equal(hex(expand_message_xmd(enc(m), dst, 0x80, sha256)), XMD_128[i], `len 0x80, msg #${i}`);
  });
});

for (const backend of BACKENDS) {
  test(`RFC 9380 J.9.1 BLS12381G1_XMD:SHA-256_SSWU_RO_ vectors (${backend})`, async () => {
    const bls = await loadGeneric(backend);
    assert.equal(bls.backend, backend);
    const dst = enc('QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_');
    MSGS.forEach((m, i) => {
      const [x, y] = G1_RO[i]!;
      const expected = compressG1(BigInt('0x' + x), BigInt('0x' + y));
      assert.equal(hex(bls.hashToCurveWithDst(enc(m), dst)), hex(expected), `msg #${i}`);
    });
  });
}

test('CART domain separation tags: one per domain, RFC 9380 suite suffix, ≤ 255 bytes, distinct hashes', async () => {
  const ids = Object.values(CIPHERSUITE_IDS);
  assert.equal(new Set(ids).size, 4);
  for (const id of ids) {
    assert.ok(id.endsWith('_' + H2C_SUITE) && id.startsWith('CART-V1-'), id);
    assert.ok(enc(id).length <= 255);
  }
  const bls = await loadThresholdBls('mcl');
  const noble = await loadGeneric('noble');
  const mclG = await loadGeneric('mcl');
  const m = enc('same message');
  const hashes = ids.map((id) => hex(mclG.hashToCurveWithDst(m, enc(id))));
  assert.equal(new Set(hashes).size, 4);
  assert.deepEqual(ids.map((id) => hex(noble.hashToCurveWithDst(m, enc(id)))), hashes);
  const blst = await loadGeneric('blst');
  assert.deepEqual(ids.map((id) => hex(blst.hashToCurveWithDst(m, enc(id)))), hashes);
  assert.equal(bls.backend, 'mcl');
});

test('DSTs with non-ASCII, NUL and 255 bytes hash identically on all backends (blst takes DSTs as strings)', async () => {
  const all = await Promise.all(BACKENDS.map((b) => loadGeneric(b)));
  const dsts = [
    Uint8Array.from([0x43, 0x00, 0x41]), // embedded NUL
    Uint8Array.from([0xc3, 0xa9, 0x80, 0xff]), // bytes ≥ 0x80 (not valid UTF-8 throughout)
    new Uint8Array(255).map((_, i) => (i * 7 + 1) & 0x7f || 1), // longest allowed
    enc('x'),
  ];
  for (const [k, dst] of dsts.entries()) {
    for (const m of [enc(''), enc('abc')]) {
      const out = all.map((b) => hex(b.hashToCurveWithDst(m, dst)));
      assert.equal(new Set(out).size, 1, `DST #${k}: ${BACKENDS.join(' / ')} differ`);
    }
  }
  // distinct DSTs give distinct points
  assert.equal(new Set(dsts.map((d) => hex(all[0]!.hashToCurveWithDst(enc('abc'), d)))).size, dsts.length);
});
