/**
 * etcd adapter behaviour on a real 3-member etcd cluster: etcd member crashes mid-run, a CART
 * replica restart resuming from its persisted checkpoint, compaction + state transfer + garbage
 * collection, and malformed log entries. Every test starts and stops its own cluster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { Etcd3 } from 'etcd3';
import { RecordingProxy } from '../consensus/conformance.ts';
import { startEtcdHarness, waitUntil, type EtcdHarness } from './harness.ts';
import { checkpointPath } from '../../src/consensus/etcd/local-state.ts';
import {
  EtcdAdapterStoppedError,
  EtcdRequestTooLargeError,
  EtcdStaleStateError,
  createEtcdAdapter,
} from '../../src/consensus/etcd/index.ts';
import type { AdapterEvent } from '../../src/consensus/adapter.ts';

const enc = new TextEncoder();
const WAIT_MS = 30_000;
const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, k) => `${prefix}-${k}`);

/** Submit like a CART client handler: a rejected (ambiguous) submit is retried, up to 5 times. */
async function submitWithRetry(h: EtcdHarness, via: number, id: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await h.adapter(via).submit(enc.encode(id));
      return;
    } catch (e) {
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Submit `list` in sequential groups of `group` (round-robin over `via`): concurrent submits
 * at one adapter coalesce into one log entry, so groups make many etcd revisions.
 */
async function submitInGroups(h: EtcdHarness, via: readonly number[], list: readonly string[], group = 3): Promise<void> {
  for (let k = 0; k < list.length; k += group) {
    await Promise.all(list.slice(k, k + group).map((id, j) => h.adapter(via[(k + j) % via.length]!).submit(enc.encode(id))));
  }
}

function executedAll(p: RecordingProxy, wanted: readonly string[]): boolean {
  const have = new Set(p.executed);
  return wanted.every((id) => have.has(id));
}

/**
 * Same executed sequence everywhere. Without `allowDuplicates`, each request exactly once; with
 * it (etcd member crashes: an append whose answer was lost is retried, by the etcd client or by
 * us, and may then be ordered twice — CART deduplicates by request id) a request may repeat,
 * identically at every replica.
 */
function assertAgreement(proxies: readonly RecordingProxy[], allowDuplicates = false): void {
  for (const p of proxies.slice(1)) assert.deepEqual(p.executed, proxies[0]!.executed);
  if (!allowDuplicates) assert.equal(new Set(proxies[0]!.executed).size, proxies[0]!.executed.length, 'a request executed twice');
  for (const p of proxies) assert.deepEqual(p.violations, []);
}

async function withHarness(
  proxies: RecordingProxy[],
  options: Parameters<typeof startEtcdHarness>[1],
  body: (h: EtcdHarness) => Promise<void>,
): Promise<void> {
  const h = await startEtcdHarness(proxies, options);
  try {
    await body(h);
  } finally {
    await h.close();
  }
}

test('etcd members killed mid-run (each in turn): every request is still ordered, same order everywhere', async () => {
  const proxies = [0, 1, 2, 3].map(() => new RecordingProxy());
  await withHarness(proxies, { checkpointInterval: 1_000_000, compact: false, callTimeoutMs: 2000 }, async (h) => {
    const all: string[] = [];
    // Kill each member once (so every replica's watch stream loses its member at some point),
    // while a wave of submissions is outstanding; restart it before killing the next.
    for (let m = 0; m < 3; m++) {
      const wave = ids(`m${m}`, 60);
      all.push(...wave);
      const submits = Promise.all(wave.map((id, k) => submitWithRetry(h, k % 4, id)));
      await h.etcd.stopMember(m);
      await submits;
      await waitUntil(() => proxies.every((p) => executedAll(p, wave)), WAIT_MS, `wave ${m} delivered with member ${m} down`);
      await h.etcd.restartMember(m);
    }
    const last = ids('end', 20);
    all.push(...last);
    await Promise.all(last.map((id, k) => submitWithRetry(h, k % 4, id)));
    await waitUntil(() => proxies.every((p) => executedAll(p, all)), WAIT_MS, 'all delivered');
    assertAgreement(proxies, true);
    for (let i = 0; i < 4; i++) {
      // Every replica's watch stream lost its member at least once and reconnected.
      assert.ok(h.adapter(i).stats().watchConnects >= 2, `replica ${i} watch reconnected`);
    }
  });
});

test('a restarted CART replica resumes from its persisted checkpoint revision (no replay from 1)', async () => {
  const proxies = [0, 1, 2].map(() => new RecordingProxy());
  await withHarness(proxies, { useStateDir: true, checkpointInterval: 10, compact: false }, async (h) => {
    const first = ids('a', 60);
    await submitInGroups(h, [0, 1, 2], first);
    await waitUntil(() => proxies.every((p) => executedAll(p, first)), WAIT_MS, 'first wave');
    const file = checkpointPath(h.stateDirs[2]!, 2);
    await waitUntil(() => existsSync(file) && h.adapter(2).stats().checkpointsPublished > 0, WAIT_MS, 'checkpoint persisted');
    await h.stopReplica(2);
    const second = ids('b', 30);
    await submitInGroups(h, [0, 1], second);

    const fresh = new RecordingProxy();
    proxies[2] = fresh;
    await h.restart(2, fresh, { keepState: true });
    await waitUntil(() => proxies.every((p) => executedAll(p, [...first, ...second])), WAIT_MS, 'restarted replica caught up');
    const stats = h.adapter(2).stats();
    assert.equal(stats.restoredLocal, true);
    assert.equal(stats.stateTransfers, 0);
    assert.equal(fresh.restores.length, 1);
    const resumedFrom = fresh.restores[0]!;
    assert.ok(resumedFrom > 1n, 'restored a checkpoint beyond the start');
    // Only batches after the persisted revision were delivered again.
    assert.ok(fresh.deliveries.every((d) => d.sequence > resumedFrom));
    assert.ok(fresh.deliveries.length < proxies[0]!.deliveries.length);
    assertAgreement(proxies);
  });
});

test('a local checkpoint of another (wiped) etcd cluster is ignored, not used to skip the new log', async () => {
  let saved: Buffer | undefined;
  const first = [new RecordingProxy()];
  await withHarness(first, { members: 1, useStateDir: true, checkpointInterval: 5, compact: false }, async (h) => {
    await submitInGroups(h, [0], ids('old', 30), 1);
    const file = checkpointPath(h.stateDirs[0]!, 0);
    await waitUntil(() => existsSync(file), WAIT_MS, 'checkpoint persisted');
    await h.stopReplica(0);
    saved = await readFile(file);
  });
  const proxies = [new RecordingProxy()];
  await withHarness(proxies, { members: 1, useStateDir: true, compact: false }, async (h) => {
    const fresh = ids('new', 5);
    await submitInGroups(h, [0], fresh, 1);
    await waitUntil(() => executedAll(proxies[0]!, fresh), WAIT_MS, 'new cluster delivered');
    await h.stopReplica(0);
    await mkdir(h.stateDirs[0]!, { recursive: true });
    await writeFile(checkpointPath(h.stateDirs[0]!, 0), saved!);
    const restarted = new RecordingProxy();
    const events: AdapterEvent[] = [];
    await h.restart(0, restarted, { keepState: true, onEvent: (e) => events.push(e) });
    await waitUntil(() => executedAll(restarted, fresh), WAIT_MS, 'replayed the new cluster log');
    assert.equal(h.adapter(0).stats().restoredLocal, false);
    assert.deepEqual(restarted.restores, []);
    assert.deepEqual(restarted.executed, fresh);
    assert.ok(events.some((e) => e.kind === 'error' && e.error instanceof EtcdStaleStateError));
  });
});

test('compaction: a replica whose revisions were compacted restores a stable checkpoint from etcd; the log is garbage-collected', async () => {
  const proxies = [0, 1, 2, 3].map(() => new RecordingProxy());
  await withHarness(proxies, { checkpointInterval: 10, snapshotQuorum: 2, retainRevisions: 5, maxInFlight: 2 }, async (h) => {
    await h.stopReplica(3);
    const wave = ids('c', 150);
    await submitInGroups(h, [0, 1, 2], wave);
    await waitUntil(() => [0, 1, 2].every((i) => executedAll(proxies[i]!, wave)), WAIT_MS, 'wave delivered');
    await waitUntil(() => h.adapter(0).stats().garbageCollections + h.adapter(1).stats().garbageCollections > 0, WAIT_MS, 'a garbage collection');

    const probe = new Etcd3({ hosts: [...h.etcd.endpoints] });
    try {
      // History below the stable checkpoint is gone (etcd reports the revision compacted) ...
      await assert.rejects(probe.get('cart/log/0').revision(2).exec(), /compacted/);
      // ... and old checkpoint votes and blobs were deleted: only checkpoints ≥ the stable one remain.
      const votes = await probe.getAll().prefix('cart/vote/').keys();
      const seqs = new Set(votes.map((k) => k.split('/')[3]));
      assert.ok(seqs.size <= 4, `votes for ${seqs.size} checkpoints remain`);
    } finally {
      probe.close();
    }

    const fresh = new RecordingProxy();
    proxies[3] = fresh;
    const events: AdapterEvent[] = [];
    await h.restart(3, fresh, { onEvent: (e) => events.push(e) });
    const later = ids('d', 10);
    await Promise.all(later.map((id) => h.adapter(3).submit(enc.encode(id))));
    await waitUntil(
      () => proxies.every((p) => executedAll(p, [...wave, ...later])),
      WAIT_MS,
      () => `replica 3 caught up: stats ${JSON.stringify(h.adapter(3).stats(), (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}, ` +
        `executed ${proxies.map((p) => p.executed.length).join('/')}, events ${events.map((e) => (e.kind === 'error' ? e.error.message : e.kind)).join('; ')}`,
    );
    const stats = h.adapter(3).stats();
    assert.ok(stats.compactionsHit >= 1, 'replica 3 hit the compacted revision');
    assert.ok(stats.stateTransfers >= 1, 'replica 3 restored a checkpoint from etcd');
    assert.ok(fresh.restores.length >= 1);
    assert.ok(events.some((e) => e.kind === 'state-transfer'));
    assertAgreement(proxies);
  });
});

test('a replica catches up over a history larger than the gRPC message limit (fragmented watch responses)', async () => {
  const proxies = [0, 1].map(() => new RecordingProxy());
  await withHarness(proxies, { members: 1, compact: false }, async (h) => {
    await h.stopReplica(1);
    const big = 'x'.repeat(200_000);
    const wanted = ids('big', 30).map((id) => `${id}-${big}`); // 6 MB > gRPC's default 4 MB
    for (const r of wanted) await h.adapter(0).submit(enc.encode(r));
    const fresh = new RecordingProxy();
    proxies[1] = fresh;
    await h.restart(1, fresh);
    // both replicas: replica 0's submit resolves once appended, not once executed
    await waitUntil(() => proxies.every((p) => executedAll(p, wanted)), WAIT_MS, () => `replicas have ${proxies.map((p) => p.executed.length).join(' / ')} of 30`);
    assertAgreement(proxies);
  });
});

test('etcd authentication: each replica may write only its own log key and votes; expired tokens and member crashes are survived', async () => {
  const proxies = [0, 1, 2].map(() => new RecordingProxy());
  const options = { withAuth: true, etcdArgs: ['--auth-token-ttl=1'], checkpointInterval: 10, snapshotQuorum: 2, retainRevisions: 5, callTimeoutMs: 2000 };
  await withHarness(proxies, options, async (h) => {
    const first = ids('auth', 45);
    await submitInGroups(h, [0, 1, 2], first);
    await waitUntil(() => proxies.every((p) => executedAll(p, first)), WAIT_MS, 'first wave');
    await waitUntil(() => [0, 1, 2].some((i) => h.adapter(i).stats().garbageCollections > 0), WAIT_MS, 'a stable checkpoint collected under auth');

    const asReplica0 = new Etcd3({ hosts: [...h.etcd.endpoints], auth: { ...h.auth!.replicas.get(0)! } });
    const anonymous = new Etcd3({ hosts: [...h.etcd.endpoints] });
    try {
      await asReplica0.put('cart/log/0').value(Buffer.from([1, 0, 0, 0, 0])); // own key: allowed (empty batch)
      await assert.rejects(asReplica0.put('cart/log/1').value(Buffer.from([1, 0, 0, 0, 0])).exec(), /permission denied/);
      await assert.rejects(asReplica0.put(`cart/vote/1/${'9'.repeat(20)}`).value('a'.repeat(64)).exec(), /permission denied/);
      await assert.rejects(anonymous.put('cart/log/0').value('x').exec(), /user name is empty|permission denied|authentication/i);
    } finally {
      asReplica0.close();
      anonymous.close();
    }

    // Idle past the token TTL (1 s), then crash every member in turn: each replica's watch
    // reconnects with an expired token, is refused, and logs in again.
    await new Promise((r) => setTimeout(r, 2500));
    for (let m = 0; m < 3; m++) {
      await h.etcd.stopMember(m);
      await h.etcd.restartMember(m);
    }
    // Only replica 0 submits: replicas 1 and 2 make no unary call that would log them in again.
    const second = ids('auth2', 30);
    await Promise.all(second.map((id) => submitWithRetry(h, 0, id)));
    await waitUntil(() => proxies.every((p) => executedAll(p, [...first, ...second])), WAIT_MS, 'second wave after member restarts');
    assertAgreement(proxies, true);
  });
});

test('malformed log entries written into etcd are dropped and counted at every replica, which stay in agreement', async () => {
  const proxies = [0, 1].map(() => new RecordingProxy());
  await withHarness(proxies, { members: 1, compact: false }, async (h) => {
    const writer = new Etcd3({ hosts: [...h.etcd.endpoints] });
    try {
      await writer.put('cart/log/99').value(Buffer.from([1, 0, 0, 0, 9, 0])); // claims 9 requests
      await writer.put('cart/log/99').value('not a log entry');
      // Valid but extreme: 200 000 empty requests in one entry (delivered, no stack overflow).
      const many = Buffer.alloc(5 + 4 * 200_000);
      many.writeUInt8(1, 0);
      many.writeUInt32BE(200_000, 1);
      await writer.put('cart/log/99').value(many);
    } finally {
      writer.close();
    }
    const good = ids('g', 10);
    await Promise.all(good.map((id, k) => h.adapter(k % 2).submit(enc.encode(id))));
    await waitUntil(() => proxies.every((p) => executedAll(p, good)), WAIT_MS, 'good requests delivered');
    for (let i = 0; i < 2; i++) assert.equal(h.adapter(i).stats().malformedEntries, 2);
    assert.equal(proxies[0]!.executed.filter((r) => r === '').length, 200_000);
    assert.deepEqual(proxies[0]!.executed.filter((r) => r !== '').sort(), good.slice().sort());
    assertAgreement(proxies, true); // the empty requests repeat by construction; good ones checked above
  });
});

test('etcd adapter typed errors: stopped, oversized, bad options, unreachable etcd', async () => {
  assert.throws(() => createEtcdAdapter({ endpoints: [], replicaId: 0 }), RangeError);
  assert.throws(() => createEtcdAdapter({ endpoints: ['127.0.0.1:1'], replicaId: -1 }), RangeError);
  assert.throws(() => createEtcdAdapter({ endpoints: ['127.0.0.1:1'], replicaId: 0, prefix: 'x' }), RangeError);
  const idle = createEtcdAdapter({ endpoints: ['127.0.0.1:1'], replicaId: 0 });
  await assert.rejects(idle.submit(enc.encode('x')), EtcdAdapterStoppedError);
  // Nothing listens on port 1: start fails with a typed error within the call deadline.
  const unreachable = createEtcdAdapter({ endpoints: ['http://127.0.0.1:1'], replicaId: 0, callTimeoutMs: 500 });
  await assert.rejects(unreachable.start(new RecordingProxy()), /etcd not reachable/);
  await unreachable.stop();

  const proxies = [new RecordingProxy()];
  await withHarness(proxies, { members: 1, maxRequestBytes: 100 }, async (h) => {
    await assert.rejects(h.adapter(0).submit(new Uint8Array(101)), EtcdRequestTooLargeError);
    await h.adapter(0).submit(new Uint8Array(100));
    await h.adapter(0).stop();
    await h.adapter(0).stop();
    await assert.rejects(h.adapter(0).submit(enc.encode('late')), EtcdAdapterStoppedError);
  });
});
