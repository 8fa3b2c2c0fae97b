/**
 * ResumableWatch against a scripted fake watch stream (no etcd): fragments, compaction, resume;
 * and against a real etcd member that lost its quorum (require-leader mode).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Etcd3, type IWatchRequest, type IWatchResponse } from 'etcd3';
import { ResumableWatch } from '../../src/consensus/etcd/watch.ts';
import { startEtcdCluster } from '../../src/consensus/etcd/index.ts';
import { waitUntil } from './harness.ts';

class FakeStream extends EventEmitter {
  readonly writes: IWatchRequest[] = [];
  cancelled = false;
  write(req: IWatchRequest): void {
    this.writes.push(req);
  }
  end(): void {}
  cancel(): void {
    this.cancelled = true;
  }
}

function fakeClient(streams: FakeStream[]): Etcd3 {
  return { watchClient: { watch: async () => { const s = new FakeStream(); streams.push(s); return s; } } } as unknown as Etcd3;
}

const ev = (rev: number, v: string) => ({ type: 'Put', kv: { key: Buffer.from('k'), value: Buffer.from(v), mod_revision: String(rev) } });
const res = (events: ReturnType<typeof ev>[], extra: Partial<IWatchResponse> = {}) =>
  ({ header: {}, watch_id: '1', created: false, canceled: false, compact_revision: '0', cancel_reason: '', fragment: false, events, ...extra }) as unknown as IWatchResponse;

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(cond(), 'condition not reached');
}

test('fragments are reassembled so a revision is never split; reconnects resume from the owner revision; compaction is reported', async () => {
  const streams: FakeStream[] = [];
  const delivered: string[][] = [];
  const compacted: bigint[] = [];
  let next = 5n;
  const w = new ResumableWatch(
    fakeClient(streams),
    { key: Buffer.from('k'), rangeEnd: Buffer.from('l'), nextRevision: () => next, backoff: { initialMs: 1, maxMs: 2 }, random: () => 0.5 },
    {
      onEvents: (r) => delivered.push(r.events.map((e) => `${e.kv.mod_revision}:${e.kv.value.toString()}`)),
      onCompacted: (c) => compacted.push(c),
      onError: () => {},
    },
  );
  w.start();
  await until(() => streams.length === 1 && streams[0]!.writes.length === 1);
  assert.equal(streams[0]!.writes[0]!.create_request?.start_revision, '5');
  assert.equal(streams[0]!.writes[0]!.create_request?.fragment, true);
  const s = streams[0]!;
  s.emit('data', res([], { created: true }));
  s.emit('data', res([ev(5, 'a'), ev(6, 'b')], { fragment: true })); // revision 6 may continue
  s.emit('data', res([ev(6, 'c'), ev(7, 'd')], { fragment: true }));
  s.emit('data', res([ev(7, 'e')], { fragment: false }));
  assert.deepEqual(delivered, [['5:a'], ['6:b', '6:c'], ['7:d', '7:e']]);

  next = 8n;
  s.emit('error', new Error('member crashed'));
  await until(() => streams.length === 2 && streams[1]!.writes.length === 1);
  assert.ok(s.cancelled);
  assert.equal(streams[1]!.writes[0]!.create_request?.start_revision, '8');
  s.emit('data', res([ev(99, 'stale stream')])); // events from the dead stream are ignored
  assert.equal(delivered.length, 3);

  streams[1]!.emit('data', res([], { canceled: true, compact_revision: '42' }));
  assert.deepEqual(compacted, [42n]);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(streams.length, 2, 'no reconnect after compaction until restarted');
  w.stop();
});

test('liveness: a stream that stops answering (hung member) is replaced; an answering one is probed, not replaced', async () => {
  const streams: FakeStream[] = [];
  const errors: string[] = [];
  const w = new ResumableWatch(
    fakeClient(streams),
    { key: Buffer.from('k'), rangeEnd: Buffer.from('l'), nextRevision: () => 1n, backoff: { initialMs: 1, maxMs: 2 }, livenessMs: 30 },
    { onEvents: () => {}, onCompacted: () => {}, onError: (e) => errors.push(e.message) },
  );
  try {
    w.start();
    await until(() => streams.length === 1);
    const s = streams[0]!;
    s.emit('data', res([], { created: true }));
    // Answer every progress request: the stream stays.
    for (let k = 0; k < 3; k++) {
      const before = s.writes.length;
      await until(() => s.writes.length > before);
      assert.ok(s.writes[s.writes.length - 1]!.progress_request !== undefined);
      s.emit('data', res([]));
    }
    assert.equal(streams.length, 1);
    assert.deepEqual(errors, []);
    // Stop answering: the watch gives the stream up and opens another one.
    await until(() => streams.length === 2);
    assert.ok(s.cancelled);
    assert.match(errors[0]!, /stalled/);
  } finally {
    w.stop();
  }
});

test('require-leader: a watch on a member without a leader is refused and retried until a quorum is back', async () => {
  const cluster = await startEtcdCluster({ members: 3 });
  const client = new Etcd3({ hosts: [cluster.endpoints[0]!] }); // only the member that loses its peers
  const errors: string[] = [];
  const revisions: string[] = [];
  const w = new ResumableWatch(
    client,
    { key: Buffer.from('k/'), rangeEnd: Buffer.from('k0'), nextRevision: () => 1n, backoff: { initialMs: 20, maxMs: 200 } },
    { onEvents: (r) => revisions.push(...r.events.map((e) => e.kv.mod_revision)), onCompacted: () => {}, onError: (e) => errors.push(e.message) },
  );
  try {
    await cluster.stopMember(1);
    await cluster.stopMember(2);
    w.start();
    await waitUntil(() => errors.some((m) => /no leader/.test(m)), 20_000, () => `no "no leader" error yet: ${errors.join('; ')}`);
    assert.deepEqual(revisions, []);
    await cluster.restartMember(1);
    const writer = new Etcd3({ hosts: [cluster.endpoints[1]!] });
    try {
      await writer.put('k/x').value('1');
    } finally {
      writer.close();
    }
    await waitUntil(() => revisions.length === 1, 20_000, 'event delivered once a quorum is back');
  } finally {
    w.stop();
    client.close();
    await cluster.close();
  }
});
