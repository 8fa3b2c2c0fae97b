/**
 * Application proxy + deduplication table: freshness-gated admission (no replay after eviction),
 * BUSY when full, eviction only after the horizon, the cached-result byte budget, snapshots.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Counter, encodeCounterOperation, decodeCounterResult } from '../../src/apps/counter.ts';
import { KvStore, decodeKvResult, encodeKvOperation, kvRecordFromStrings, kvRecordToStrings } from '../../src/apps/kv.ts';
import type { Application } from '../../src/apps/application.ts';
import { CartApplicationProxy, SnapshotFormatError, type AppProxyOptions, type ExecutedBatch, type OrderedRejectReason } from '../../src/replica/index.ts';
import { DedupTable } from '../../src/replica/dedup.ts';
import { createNodeClientIdentity } from '../../src/client/node-identity.ts';
import { toHex } from '../../src/wire/digest.ts';
import { signedFrame } from './raw.ts';

const add = (amount: bigint) => encodeCounterOperation({ type: 'add', amount });
const val = (b: Uint8Array) => (decodeCounterResult(b) as { value: bigint }).value;
const setBalance = (v: string) => encodeKvOperation({ type: 'update', table: 'accounts', key: 'victim', values: kvRecordFromStrings({ balance: v }) });
const readBalance = encodeKvOperation({ type: 'read', table: 'accounts', key: 'victim' });
const newId = () => createNodeClientIdentity();

function harness(app: Application, opts: AppProxyOptions) {
  const executed: ExecutedBatch[] = [];
  const rejected: OrderedRejectReason[] = [];
  const proxy = new CartApplicationProxy(app, { ...opts, onExecuted: (b) => executed.push(b), onRejected: (r) => rejected.push(r) });
  return { proxy, executed, rejected };
}

test('the replay attack: a victim evicted by throwaway clients cannot have its old request executed again', () => {
  const kv = new KvStore();
  const h = harness(kv, { window: 8, maxClients: 4, freshnessHorizon: 10n });
  const victim = newId();
  const first = signedFrame(victim, 1n, setBalance('100'), undefined, 0n);
  h.proxy.executeBatch({ sequence: 1n, requests: [encodeKvOperation({ type: 'insert', table: 'accounts', key: 'victim', values: kvRecordFromStrings({ balance: '0' }) })].map((op) => signedFrame(newId(), 1n, op)) });
  h.proxy.executeBatch({ sequence: 2n, requests: [first] });
  h.proxy.executeBatch({ sequence: 3n, requests: [signedFrame(victim, 2n, setBalance('0'), undefined, 2n)] });
  // six throwaway clients, one read each, spread over many sequences so the victim becomes evictable
  let seq = 3n;
  for (let i = 0; i < 6; i++) {
    seq += 5n;
    h.proxy.executeBatch({ sequence: seq, requests: [signedFrame(newId(), 1n, readBalance, undefined, seq - 1n)] });
  }
  assert.equal(h.proxy.knowsClient(toHex(victim.clientId)), false, 'the victim was evicted');
  // the attacker replays request 1's captured frame (and in the same batch as a new client)
  const before = kv.snapshot();
  seq += 1n;
  h.proxy.executeBatch({ sequence: seq, requests: [first, first] });
  assert.deepEqual([...kv.snapshot()], [...before], 'replay not executed');
  assert.deepEqual(h.rejected.slice(-2), ['stale-freshness', 'stale-freshness']);
  const r = decodeKvResult(kv.execute(readBalance));
  assert.equal(r.type, 'record');
  assert.deepEqual(kvRecordToStrings((r as { record: Record<string, Uint8Array> }).record), { balance: '0' });
});

test('freshness bounds for a client not in the table: accepted iff S - H <= fresh <= S; a client in the table is not checked', () => {
  const c = new Counter();
  const h = harness(c, { freshnessHorizon: 100n });
  const [a, b, d, e] = [newId(), newId(), newId(), newId()];
  h.proxy.executeBatch({ sequence: 1000n, requests: [signedFrame(a, 1n, add(1n), undefined, 899n)] });
  assert.deepEqual(h.rejected, ['stale-freshness'], 'too old (one below the horizon)');
  h.proxy.executeBatch({ sequence: 1001n, requests: [signedFrame(b, 1n, add(1n), undefined, 1002n)] });
  assert.deepEqual(h.rejected, ['stale-freshness', 'stale-freshness'], 'from the future');
  assert.equal(c.current, 0n);
  h.proxy.executeBatch({ sequence: 1002n, requests: [signedFrame(d, 1n, add(1n), undefined, 902n), signedFrame(e, 1n, add(1n), undefined, 1002n)] });
  assert.equal(c.current, 2n, 'both edges of [S - H, S] accepted');
  assert.equal(h.executed.at(-1)!.replies.length, 2);
  // d is in the table now: an old fresh no longer matters (its window decides)
  h.proxy.executeBatch({ sequence: 5000n, requests: [signedFrame(d, 2n, add(1n), undefined, 0n)] });
  assert.equal(c.current, 3n);
  // a rejected request was not recorded: its retry, re-signed with a fresh sequence, executes once
  h.proxy.executeBatch({ sequence: 5001n, requests: [signedFrame(a, 1n, add(1n), undefined, 5000n), signedFrame(a, 1n, add(1n), undefined, 899n)] });
  assert.equal(c.current, 4n);
  assert.deepEqual(h.executed.at(-1)!.replies.map((r) => r.duplicate), [false, true], 'the old frame of the same id is a duplicate now');
});

test('a full table answers BUSY (nothing executed) until its least recently active client has been idle for more than H', () => {
  const c = new Counter();
  const h = harness(c, { maxClients: 2, freshnessHorizon: 10n });
  const [a, b, x] = [newId(), newId(), newId()];
  h.proxy.executeBatch({ sequence: 1n, requests: [signedFrame(a, 1n, add(1n)), signedFrame(b, 1n, add(1n))] });
  h.proxy.executeBatch({ sequence: 5n, requests: [signedFrame(a, 2n, add(1n))] }); // a active at 5, b at 1
  h.proxy.executeBatch({ sequence: 11n, requests: [signedFrame(x, 1n, add(100n), undefined, 10n)] });
  assert.deepEqual(h.rejected, ['busy'], 'b was active at 1: 1 + 10 < 11 is false');
  assert.equal(c.current, 3n);
  // a duplicate answered from the table counts as activity
  h.proxy.executeBatch({ sequence: 12n, requests: [signedFrame(b, 1n, add(1n))] });
  h.proxy.executeBatch({ sequence: 13n, requests: [signedFrame(x, 1n, add(100n), undefined, 10n)] });
  assert.deepEqual(h.rejected, ['busy', 'busy']);
  assert.equal(c.current, 3n);
  // at 16, a (last active 5) is evictable: x executes, a is gone, b stays
  h.proxy.executeBatch({ sequence: 16n, requests: [signedFrame(x, 1n, add(100n), undefined, 10n)] });
  assert.equal(c.current, 103n);
  assert.equal(h.proxy.knowsClient(toHex(a.clientId)), false);
  assert.equal(h.proxy.knowsClient(toHex(b.clientId)), true);
  assert.equal(h.proxy.dedupStats.clients, 2);
  // a's captured frames (fresh 0 <= last activity 5 < 16 - 10) can never run again
  h.proxy.executeBatch({ sequence: 17n, requests: [signedFrame(a, 1n, add(1n)), signedFrame(a, 2n, add(1n))] });
  assert.equal(c.current, 103n);
  assert.deepEqual(h.rejected.slice(-2), ['stale-freshness', 'stale-freshness']);
});

test('the cached-result byte budget drops the oldest result bytes but keeps the request marked: a retransmission is refused, never re-executed', () => {
  const c = new Counter();
  // each counter result is 9 bytes: a budget of 20 holds two
  const h = harness(c, { maxCachedResultBytes: 20 });
  const [a, b] = [newId(), newId()];
  const resultSize = c.execute(encodeCounterOperation({ type: 'get' })).length;
  assert.ok(resultSize > 6 && resultSize <= 10, `result size ${resultSize}`);
  h.proxy.executeBatch({ sequence: 1n, requests: [signedFrame(a, 1n, add(1n)), signedFrame(b, 1n, add(1n))] });
  h.proxy.executeBatch({ sequence: 2n, requests: [signedFrame(a, 2n, add(1n))] });
  assert.ok(h.proxy.dedupStats.cachedResultBytes <= 20);
  assert.equal(h.proxy.dedupStats.cachedResultBytes, 2 * resultSize);
  const dropped = h.proxy.lookup(toHex(a.clientId), 1n);
  assert.ok(dropped && dropped !== 'stale' && dropped.result === undefined, 'oldest result dropped');
  const kept = h.proxy.lookup(toHex(b.clientId), 1n);
  assert.ok(kept && kept !== 'stale' && kept.result !== undefined);
  const out = h.proxy.executeBatch({ sequence: 3n, requests: [signedFrame(a, 1n, add(1n)), signedFrame(b, 1n, add(1n))] });
  assert.equal(c.current, 3n, 'nothing re-executed');
  assert.deepEqual(h.rejected, ['result-unavailable']);
  assert.equal(out[0]!.length, 0);
  assert.equal(val(out[1]!), 2n, 'b still answered from the cache');
  assert.throws(() => new DedupTable({ window: 1, maxClients: 1, horizon: 1n, maxResultBytes: -1 }), RangeError);
});

test('snapshot round trip keeps last activity, dropped results and the budget order: both sides then decide identically', () => {
  const opts = { window: 4, maxClients: 3, freshnessHorizon: 10n, maxCachedResultBytes: 30 };
  const a = harness(new Counter(), opts);
  const ids = [newId(), newId(), newId(), newId()];
  a.proxy.executeBatch({ sequence: 1n, requests: [signedFrame(ids[0]!, 1n, add(1n)), signedFrame(ids[1]!, 1n, add(2n))] });
  a.proxy.executeBatch({ sequence: 4n, requests: [signedFrame(ids[2]!, 1n, add(3n)), signedFrame(ids[0]!, 2n, add(4n))] });
  const snap = a.proxy.snapshot();
  const b = harness(new Counter(), opts);
  b.proxy.restore(snap, 4n);
  assert.deepEqual([...b.proxy.snapshot()], [...snap], 'byte-identical re-encoding');
  assert.deepEqual(b.proxy.dedupStats, a.proxy.dedupStats);
  // the same later batches: a new client (busy, then evicting ids[1]), retransmissions, replays
  const later = [
    { sequence: 11n, requests: [signedFrame(ids[3]!, 1n, add(5n), undefined, 10n)] },
    { sequence: 12n, requests: [signedFrame(ids[3]!, 1n, add(5n), undefined, 10n), signedFrame(ids[0]!, 1n, add(1n)), signedFrame(ids[1]!, 1n, add(2n))] },
    { sequence: 13n, requests: [signedFrame(ids[2]!, 1n, add(3n)), signedFrame(ids[0]!, 3n, add(1n))] },
  ];
  for (const batch of later) {
    const ra = a.proxy.executeBatch(batch).map((x) => toHex(x));
    const rb = b.proxy.executeBatch(batch).map((x) => toHex(x));
    assert.deepEqual(ra, rb);
    assert.deepEqual(a.executed.at(-1)!.replies.map((r) => toHex(r.digest)), b.executed.at(-1)!.replies.map((r) => toHex(r.digest)));
  }
  assert.deepEqual(a.rejected, b.rejected);
  assert.ok(a.rejected.includes('busy') && a.rejected.includes('stale-freshness'), `decisions exercised: ${a.rejected.join(',')}`);
  assert.deepEqual([...a.proxy.snapshot()], [...b.proxy.snapshot()]);
  // malformed and over-limit tables are refused
  assert.throws(() => b.proxy.restore(snap.slice(0, snap.length - 2), 20n), SnapshotFormatError);
  const small = harness(new Counter(), { ...opts, maxClients: 1 });
  assert.throws(() => small.proxy.restore(snap, 4n), SnapshotFormatError);
});

test('property: honest clients (fresh from their replies or honest hints, same id re-signed only after a rejection) under eviction pressure and arbitrary replays: no request id executes twice', () => {
  const pool = Array.from({ length: 6 }, () => newId());
  fc.assert(
    fc.property(
      fc.array(fc.record({ client: fc.nat(5), action: fc.constantFrom('new', 'retry', 'replay'), pick: fc.nat(1000), gap: fc.nat(6), lag: fc.nat(3) }), { minLength: 1, maxLength: 80 }),
      (steps) => {
        const executedOps = new Set<string>();
        let twice = false;
        const app = {
          execute(op: Uint8Array) {
            const k = toHex(op);
            if (executedOps.has(k)) twice = true;
            executedOps.add(k);
            return op;
          },
          executeReadOnly: (op: Uint8Array) => op,
          isReadOnly: () => false,
          snapshot: () => new Uint8Array(0),
          restore: () => undefined,
        } as unknown as Application;
        const rejected: { hex: string; id: bigint; reason: OrderedRejectReason }[] = [];
        const proxy = new CartApplicationProxy(app, {
          window: 4,
          maxClients: 3,
          freshnessHorizon: 8n,
          onRejected: (reason, r) => r && rejected.push({ hex: r.clientHex, id: r.requestId, reason }),
        });
        const state = pool.map(() => ({ nextId: 1n, fresh: 0n, retryable: [] as bigint[] }));
        const seen: Uint8Array[] = [];
        let seq = 0n;
        for (const s of steps) {
          seq += BigInt(s.gap) + 1n;
          const c = state[s.client]!;
          const who = pool[s.client]!;
          let frame: Uint8Array;
          let id: bigint;
          if (s.action === 'replay' && seen.length > 0) {
            frame = seen[s.pick % seen.length]!;
            id = -1n;
          } else if (s.action === 'retry' && c.retryable.length > 0) {
            // honest hint: a sequence already executed (<= the current one)
            id = c.retryable.splice(s.pick % c.retryable.length, 1)[0]!;
            const hint = seq - 1n - BigInt(s.lag) > 0n ? seq - 1n - BigInt(s.lag) : 0n;
            frame = signedFrame(who, id, Uint8Array.of(s.client, Number(id)), undefined, hint > c.fresh ? hint : c.fresh);
          } else {
            id = c.nextId++;
            frame = signedFrame(who, id, Uint8Array.of(s.client, Number(id)), undefined, c.fresh);
          }
          seen.push(frame);
          rejected.length = 0;
          let replied = false;
          const before = executedOps.size;
          proxy.executeBatch({ sequence: seq, requests: [frame] });
          const hex = toHex(who.clientId);
          replied = executedOps.size > before || (proxy.lookup(hex, id) !== undefined && rejected.length === 0);
          if (id > 0n && replied) c.fresh = seq; // the client saw a verified reply at seq
          if (id > 0n && rejected.some((r) => r.reason === 'stale-freshness' && r.id === id)) c.retryable.push(id);
        }
        return !twice;
      },
    ),
    { numRuns: 150 },
  );
});
