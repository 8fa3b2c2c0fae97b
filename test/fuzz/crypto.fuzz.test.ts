import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { CryptoError, KeyFileError, dealKeySets, defaultKeySetSpecs, loadPublicKeyFile, loadSecretKeyFile, loadThresholdBls, writeKeyFiles, publicKeySetFromJson, publicKeySetToJson } from '../../src/crypto/index.ts';
import { checkCompressedPoint } from '../../src/crypto/encoding.ts';
import { RUNS, decodeOrTypedError, fuzzBytes, mutateJson } from './helpers.ts';

const msg = new TextEncoder().encode('fuzz message');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function setup() {
  const bls = await loadThresholdBls('mcl');
  const { publicKeySets, shares } = dealKeySets(4, defaultKeySetSpecs(1));
  const ks = publicKeySets[0]!;
  const sh = [1, 2, 3, 4].map((i) => bls.signShare(shares[i - 1]![0]!, 'batch-root', msg));
  const group = bls.combine(ks, sh.slice(0, 2));
  return { bls, ks, sh, group, publicKeySets };
}

test('fuzz: point decoding in verify/verifyShare/combine: false or a CryptoError, never a crash or a wrong accept', async () => {
  const { bls, ks, sh, group } = await setup();
  assert.equal(bls.verify(ks.groupPublicKey, 'batch-root', msg, group), true);
  const corpus = [group, sh[0]!.signature, ks.groupPublicKey, new Uint8Array(48).fill(0), Uint8Array.from([0xc0, ...new Uint8Array(47)])];
  fc.assert(
    fc.property(fuzzBytes(corpus, 100), fc.integer({ min: -2, max: 6 }), (bytes, index) => {
      // verify: a changed signature or public key never verifies.
      assert.equal(bls.verify(ks.groupPublicKey, 'batch-root', msg, bytes), hex(bytes) === hex(group));
      assert.equal(bls.verify(bytes, 'batch-root', msg, group), hex(bytes) === hex(ks.groupPublicKey));
      const expectShare = index >= 1 && index <= 4 && hex(bytes) === hex(sh[index - 1]!.signature);
      assert.equal(bls.verifyShare(ks, 'batch-root', msg, { index, signature: bytes }), expectShare);
      // combine: typed error or some bytes; the result verifies only if the share was the real one.
      const combined = decodeOrTypedError((b) => bls.combine(ks, [sh[1]!, { index: 1, signature: b }]), bytes, (e) => e instanceof CryptoError);
      if (combined !== undefined) assert.equal(bls.verify(ks.groupPublicKey, 'batch-root', msg, combined), hex(bytes) === hex(sh[0]!.signature));
      decodeOrTypedError((b) => checkCompressedPoint(b, 'G1', 'fuzz'), bytes, (e) => e instanceof CryptoError);
      decodeOrTypedError((b) => checkCompressedPoint(b, 'G2', 'fuzz'), bytes, (e) => e instanceof CryptoError);
    }),
    { numRuns: 150 },
  );
});

test('fuzz: public key set JSON yields a valid key set or a KeyFileError', async () => {
  const { publicKeySets } = await setup();
  const valid = JSON.parse(JSON.stringify(publicKeySetToJson(publicKeySets[0]!))) as unknown;
  const hostile = fc.oneof(fc.jsonValue(), fc.constantFrom(1e308, -1, 2 ** 31, 1024 * 1024, '', 'zz', '0'.repeat(192), 'c' + '0'.repeat(191)));
  fc.assert(
    fc.property(fc.array(fc.nat(8), { minLength: 1, maxLength: 3 }), hostile, fc.boolean(), (path, repl, del) => {
      const j = mutateJson(valid, path, repl, del);
      const before = process.memoryUsage().arrayBuffers;
      try {
        const ks = publicKeySetFromJson(j);
        assert.deepEqual(publicKeySetToJson(ks), j, 'only the untouched key set (or an equivalent rewrite) may be accepted');
      } catch (e) {
        assert.ok(e instanceof KeyFileError, `untyped ${(e as Error).name}: ${(e as Error).message}`);
      }
      assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20);
    }),
    { numRuns: 80 },
  );
});

test('fuzz: public and secret key files with random or mutated bytes: valid keys or KeyFileError', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cart-fuzz-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { publicFile, secretFiles } = await writeKeyFiles(join(dir, 'keys'), 4, 1);
  const goodPublic = new Uint8Array(await readFile(publicFile));
  const goodSecret = new Uint8Array(await readFile(secretFiles[0]!));
  assert.equal((await loadPublicKeyFile(publicFile)).length, 2, 'the untouched file loads');
  const file = join(dir, 'fuzzed.json');
  let rejected = 0;
  await fc.assert(
    fc.asyncProperty(fuzzBytes([goodPublic, goodSecret], 200), async (bytes) => {
      await writeFile(file, bytes, { mode: 0o600 });
      for (const load of [loadPublicKeyFile, loadSecretKeyFile]) {
        try {
          await load(file);
        } catch (e) {
          rejected++;
          assert.ok(e instanceof KeyFileError, `untyped ${(e as Error).name}: ${(e as Error).message}`);
        }
      }
    }),
    { numRuns: 25 },
  );
  assert.ok(rejected > 0);
});
