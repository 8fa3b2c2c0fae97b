/**
 * Key files: write → load round trip, 0600 secret files, validation of every point and of the
 * Feldman commitments on load, refusal of insecure permissions, redaction of secrets in logs,
 * and the `cart keygen` CLI end to end.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { spawn } from 'node:child_process';
import {
  checkKeyShare,
  dealKeySets,
  KeyFileError,
  loadPublicKeyFile,
  loadSecretKeyFile,
  loadThresholdBls,
  WrongKeySetError,
  writeKeyFiles,
} from '../../src/crypto/index.ts';
import { enc, g2OffSubgroup, hex, infinity } from './helpers.ts';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'cart-keys-'));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('writeKeyFiles → load: shares sign, combine and verify under the public file', async () => {
  const dir = await tmp();
  const { publicFile, secretFiles } = await writeKeyFiles(join(dir, 'keys'), 4, 1);
  assert.equal(secretFiles.length, 4);
  assert.equal((await stat(join(dir, 'keys'))).mode & 0o777, 0o700);
  for (const f of secretFiles) assert.equal((await stat(f)).mode & 0o777, 0o600);
  const sets = await loadPublicKeyFile(publicFile);
  assert.deepEqual(sets.map((s) => [s.name, s.threshold, s.replicas]), [['ordered', 2, 4], ['readonly', 3, 4]]);
  const pubText = await readFile(publicFile, 'utf8');
  const bls = await loadThresholdBls('mcl');
  const m = enc('op');
  const loaded = await Promise.all(secretFiles.map((f) => loadSecretKeyFile(f)));
  loaded.forEach((l, k) => {
    assert.equal(l.replica, k + 1);
    assert.equal(hex(l.publicKeySets[0]!.groupPublicKey), hex(sets[0]!.groupPublicKey));
    for (const s of l.shares) assert.equal(pubText.includes(hex(s.secret)), false, 'no secret in the public file');
  });
  const shares = [loaded[3]!, loaded[1]!].map((l) => bls.signShare(l.shares[0]!, 'ordered-reply', m));
  assert.equal(bls.verify(sets[0]!.groupPublicKey, 'ordered-reply', m, bls.combine(sets[0]!, shares)), true);
  // secrets are redacted when logged
  const share = loaded[0]!.shares[0]!;
  assert.equal(JSON.stringify(share).includes(hex(share.secret)), false);
  assert.equal(inspect(share).includes(hex(share.secret)), false);
  assert.equal(String(share).includes(hex(share.secret)), false);
  // refuses to overwrite unless asked
  await assert.rejects(writeKeyFiles(join(dir, 'keys'), 4, 1), KeyFileError);
  await writeKeyFiles(join(dir, 'keys'), 4, 1, { overwrite: true });
  await assert.rejects(writeKeyFiles(join(dir, 'x'), 3, 1), (e: Error) => e.name === 'InvalidThresholdError');
});

test('loading rejects tampered points, inconsistent commitments and insecure permissions', async () => {
  const dir = await tmp();
  const { publicFile, secretFiles } = await writeKeyFiles(dir, 4, 1);
  const orig = JSON.parse(await readFile(publicFile, 'utf8'));
  const variant = async (mutate: (j: any) => void): Promise<string> => {
    const j = structuredClone(orig);
    mutate(j);
    const p = join(dir, `variant-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(p, JSON.stringify(j));
    return p;
  };
  const rejects = async (p: string, re: RegExp) => {
    await assert.rejects(loadPublicKeyFile(p), (e: Error) => e instanceof KeyFileError && re.test(e.message));
  };
  await rejects(await variant((j) => (j.keySets[0].groupPublicKey = hex(infinity(96)))), /infinity/);
  await rejects(await variant((j) => (j.keySets[0].publicKeyShares[2] = hex(g2OffSubgroup()))), /subgroup/);
  await rejects(await variant((j) => (j.keySets[0].publicKeyShares[2] = j.keySets[0].publicKeyShares[1])), /Feldman/);
  await rejects(await variant((j) => (j.keySets[0].commitments[0] = j.keySets[1].commitments[0])), /C_0/);
  await rejects(await variant((j) => (j.keySets[0].threshold = 0)), /threshold/);
  await rejects(await variant((j) => (j.version = 2)), /version/);
  await rejects(await variant((j) => (j.keySets[0].groupPublicKey = 'zz')), /hex/);
  await writeFile(join(dir, 'garbage.json'), '{not json');
  await rejects(join(dir, 'garbage.json'), /JSON/);
  await rejects(join(dir, 'missing.json'), /cannot read/);

  // secret file: wrong share for the commitments, then insecure permissions
  const sec = JSON.parse(await readFile(secretFiles[0]!, 'utf8'));
  const other = JSON.parse(await readFile(secretFiles[1]!, 'utf8'));
  sec.shares[0].secret = other.shares[0].secret;
  const bad = join(dir, 'bad.secret.json');
  await writeFile(bad, JSON.stringify(sec), { mode: 0o600 });
  await assert.rejects(loadSecretKeyFile(bad), (e: Error) => e instanceof KeyFileError && /Feldman/.test(e.message));
  await chmod(secretFiles[2]!, 0o644);
  await assert.rejects(loadSecretKeyFile(secretFiles[2]!), (e: Error) => e instanceof KeyFileError && /chmod 600/.test(e.message));
});

test('checkKeyShare: Feldman check catches a share from another key set or index', () => {
  const { publicKeySets, shares } = dealKeySets(4, [{ name: 'a', threshold: 2 }, { name: 'b', threshold: 3 }]);
  checkKeyShare(publicKeySets[0]!, shares[0]![0]!);
  assert.throws(() => checkKeyShare(publicKeySets[0]!, shares[0]![1]!), WrongKeySetError);
  assert.throws(() => checkKeyShare(publicKeySets[0]!, { ...shares[1]![0]!, index: 1 }), WrongKeySetError);
});

test('cart keygen CLI writes loadable files and rejects n < 3f+1', async () => {
  const dir = await tmp();
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('keygen timed out'));
      }, 60_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
  const ok = await run(['keygen', '--replicas', '7', '--out', join(dir, 'k')]);
  assert.equal(ok.code, 0, ok.out);
  const sets = await loadPublicKeyFile(join(dir, 'k', 'cart-public.json'));
  assert.deepEqual(sets.map((s) => s.threshold), [3, 5]);
  const l = await loadSecretKeyFile(join(dir, 'k', 'replica-7.secret.json'));
  assert.equal(l.replica, 7);
  const bad = await run(['keygen', '--replicas', '3', '--faults', '1', '--out', join(dir, 'k2')]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.out, /3f\+1/);
});
