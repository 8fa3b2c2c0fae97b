/** Byte formats of the etcd adapter (no etcd needed): log entries and the local checkpoint file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  decodeCheckpointFile,
  decodeLogEntry,
  encodeCheckpointFile,
  encodeLogEntry,
  snapshotDigest,
} from '../../src/consensus/etcd/codec.ts';
import { EtcdDecodeError } from '../../src/consensus/etcd/errors.ts';
import { checkpointPath, loadLocalCheckpoint, saveLocalCheckpoint } from '../../src/consensus/etcd/local-state.ts';
import { prefixRangeEnd } from '../../src/consensus/etcd/watch.ts';

test('log entries round-trip any batch of requests', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (reqs) => {
      const back = decodeLogEntry(encodeLogEntry(reqs));
      assert.deepEqual(back.map((r) => Buffer.from(r).toString('hex')), reqs.map((r) => Buffer.from(r).toString('hex')));
    }),
  );
});

test('malformed log entries raise EtcdDecodeError, never a partial batch', () => {
  const good = encodeLogEntry([Buffer.from('abc'), Buffer.from('de')]);
  for (let cut = 0; cut < good.length; cut++) assert.throws(() => decodeLogEntry(good.subarray(0, cut)), EtcdDecodeError);
  assert.throws(() => decodeLogEntry(Buffer.concat([good, Buffer.from([0])])), EtcdDecodeError, 'trailing byte');
  const badVersion = Buffer.from(good);
  badVersion[0] = 2;
  assert.throws(() => decodeLogEntry(badVersion), EtcdDecodeError, 'version');
  assert.throws(() => decodeLogEntry(Buffer.from([1, 0xff, 0xff, 0xff, 0xff])), EtcdDecodeError, 'huge count');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (junk) => {
      try {
        decodeLogEntry(junk);
      } catch (e) {
        assert.ok(e instanceof EtcdDecodeError);
      }
    }),
  );
});

test('checkpoint files round-trip and detect corruption; saves are atomic replacements', async () => {
  const cp = { sequence: 12345678901234n, clusterId: 0xfedcba9876543210n, snapshot: Buffer.from('state bytes') };
  const back = decodeCheckpointFile(encodeCheckpointFile(cp));
  assert.equal(back.sequence, cp.sequence);
  assert.equal(back.clusterId, cp.clusterId);
  assert.deepEqual(Buffer.from(back.snapshot), cp.snapshot);
  const flipped = encodeCheckpointFile(cp);
  flipped[flipped.length - 1] ^= 1;
  assert.throws(() => decodeCheckpointFile(flipped), /digest mismatch/);
  const otherCluster = encodeCheckpointFile(cp);
  otherCluster[9 + 8] ^= 1; // the header is covered by the digest too
  assert.throws(() => decodeCheckpointFile(otherCluster), /digest mismatch/);
  assert.throws(() => decodeCheckpointFile(Buffer.from('nope')), EtcdDecodeError);
  assert.equal(snapshotDigest(Buffer.from('')), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

  const dir = await mkdtemp(join(tmpdir(), 'cart-etcd-local-'));
  try {
    const file = checkpointPath(dir, 3);
    assert.equal(await loadLocalCheckpoint(file), undefined);
    await saveLocalCheckpoint(file, cp);
    await saveLocalCheckpoint(file, { sequence: 99n, clusterId: 1n, snapshot: Buffer.from('newer') });
    const loaded = await loadLocalCheckpoint(file);
    assert.equal(loaded?.sequence, 99n);
    assert.equal(Buffer.from(loaded!.snapshot).toString(), 'newer');
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 2)); // torn file
    await assert.rejects(loadLocalCheckpoint(file), EtcdDecodeError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('prefix range end is the prefix plus one', () => {
  assert.equal(prefixRangeEnd(Buffer.from('cart/log/')).toString(), 'cart/log0');
  assert.deepEqual(prefixRangeEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
  assert.deepEqual(prefixRangeEnd(Buffer.from([0xff])), Buffer.from([0]));
});
