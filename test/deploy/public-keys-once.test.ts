/** loadPublicKeysOnce: one validation per process and file content; changed or broken files are not served from the cache. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeKeyFiles } from '../../src/crypto/index.ts';
import { loadPublicKeysOnce } from '../../src/deploy/client.ts';

test('loadPublicKeysOnce: same content → same validated key sets; new content → validated afresh; bad file → typed error, not cached', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cart-pk-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { publicFile } = await writeKeyFiles(join(dir, 'a'), 4, 1);
  const first = await loadPublicKeysOnce(publicFile);
  assert.equal(await loadPublicKeysOnce(publicFile), first, 'served from the cache');
  const { publicFile: other } = await writeKeyFiles(join(dir, 'b'), 4, 1);
  await writeFile(publicFile, await readFile(other));
  const second = await loadPublicKeysOnce(publicFile);
  assert.notEqual(second, first, 'changed file validated afresh');
  assert.notDeepEqual(second[0]!.groupPublicKey, first[0]!.groupPublicKey);
  await writeFile(publicFile, '{"format":"cart-public-keys"}');
  await assert.rejects(loadPublicKeysOnce(publicFile));
  await assert.rejects(loadPublicKeysOnce(publicFile), 'a failure is not cached as success');
});
