import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore, encodeKvOperation, decodeKvResult, kvRecordFromStrings, kvRecordToStrings } from '../../src/apps/kv.ts';
import { startTestCluster } from './cluster.ts';

const put = (key: string, v: string) => encodeKvOperation({ type: 'insert', table: 'usertable', key, values: kvRecordFromStrings({ field0: v }) });
const get = (key: string) => encodeKvOperation({ type: 'read', table: 'usertable', key });

test('ordered KV operations return verified results', async (t) => {
  const cluster = await startTestCluster({ app: () => new KvStore() });
  t.after(() => cluster.close());
  const client = await cluster.client();
  const ok = decodeKvResult(await client.invoke(put('user1', 'hello')));
  assert.equal(ok.type, 'ok');
  const r = decodeKvResult(await client.invoke(get('user1')));
  assert.equal(r.type, 'record');
  assert.deepEqual(kvRecordToStrings((r as { record: Record<string, Uint8Array> }).record), { field0: 'hello' });
  const s = client.stats();
  assert.equal(s.verified, 2);
  assert.equal(s.failed, 0);
});
