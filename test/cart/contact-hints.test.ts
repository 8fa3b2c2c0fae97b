/**
 * Contact hints (docs/protocol.md §3.5): replies name the protocol leader's replica as
 * `preferredContact`; clients move new requests there, but never back to a replica that just
 * failed them, and not at all when hints are off on either side.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, encodeCounterOperation, decodeCounterResult } from '../../src/apps/counter.ts';
import { startTestCluster } from './cluster.ts';

const add = (amount: bigint) => encodeCounterOperation({ type: 'add', amount });
const valueOf = (bytes: Uint8Array): bigint => (decodeCounterResult(bytes) as { value: bigint }).value;

async function sequential(invoke: () => Promise<Uint8Array>, count: number): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) out.push(valueOf(await invoke()));
  return out;
}

test('the client moves to the hinted leader replica after one reply and stays there', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter(), leader: 2 });
  t.after(() => cluster.close());
  const client = await cluster.client({ contact: 0 });
  assert.equal(valueOf(await client.invoke(add(1n))), 1n);
  assert.equal(client.stats().contactHintsFollowed, 1, 'moved on the first reply');
  // the old contact goes away: requests now go to replica 3, so nothing fails over
  await cluster.kill(1);
  assert.deepEqual(await sequential(() => client.invoke(add(1n)), 5), [2n, 3n, 4n, 5n, 6n]);
  assert.equal(client.stats().failovers, 0);
  assert.equal(client.stats().contactHintsFollowed, 1);
});

test('a hint to a dead replica is followed once, then ignored while that replica is held off', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter(), leader: 3 });
  t.after(() => cluster.close());
  await cluster.kill(4); // the "leader" every reply points to
  const client = await cluster.client({ contact: 0, contactHintHoldoffMs: 60_000 });
  assert.deepEqual(await sequential(() => client.invoke(add(1n)), 8), [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
  const s = client.stats();
  assert.equal(s.contactHintsFollowed, 1, 'followed once');
  assert.equal(s.failovers, 1, 'one failover off the dead replica, none after');
  assert.equal(s.failed, 0);
});

test('hints off: a client with followContactHints false stays; replicas with contactHints false send none', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter(), leader: 2 });
  t.after(() => cluster.close());
  const stubborn = await cluster.client({ contact: 0, followContactHints: false });
  assert.deepEqual(await sequential(() => stubborn.invoke(add(1n)), 3), [1n, 2n, 3n]);
  assert.equal(stubborn.stats().contactHintsFollowed, 0);

  const quiet = await startTestCluster({ app: () => new Counter(), leader: 2, tuning: () => ({ contactHints: false }) });
  t.after(() => quiet.close());
  const client = await quiet.client({ contact: 0 });
  assert.deepEqual(await sequential(() => client.invoke(add(1n)), 3), [1n, 2n, 3n]);
  assert.equal(client.stats().contactHintsFollowed, 0);
});

test('replicas that disagree about the leader (a view change in progress) cannot make the client bounce: at most one move per timeoutMs', async (t) => {
  // replica 1 names replica 3 the leader, replica 3 names replica 1
  const cluster = await startTestCluster({ app: () => new Counter(), leader: (i) => (i === 1 ? 2 : 0) });
  t.after(() => cluster.close());
  const clock = { ms: 0 };
  const client = await cluster.client({ contact: 0, timeoutMs: 1000, now: () => clock.ms });
  assert.deepEqual(await sequential(() => client.invoke(add(1n)), 10), [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n]);
  assert.equal(client.stats().contactHintsFollowed, 1, 'one move, then no hint within timeoutMs');
  clock.ms += 1000;
  await client.invoke(add(1n));
  assert.equal(client.stats().contactHintsFollowed, 2, 'one more after timeoutMs');
});

test('a hinted replica that keeps failing is held off twice as long after each failure', async (t) => {
  const cluster = await startTestCluster({ app: () => new Counter(), leader: 3 });
  t.after(() => cluster.close());
  await cluster.kill(4); // e.g. a leader whose client endpoint is unreachable
  const clock = { ms: 0 };
  const client = await cluster.client({ contact: 0, timeoutMs: 1000, contactHintHoldoffMs: 1000, now: () => clock.ms });
  const step = async (advanceMs: number) => {
    clock.ms += advanceMs;
    await client.invoke(add(1n));
    await client.invoke(add(1n)); // goes wherever the first one's hint sent it
    return [client.stats().contactHintsFollowed, client.stats().failovers];
  };
  assert.deepEqual(await step(0), [1, 1], 'followed, failed once');
  assert.deepEqual(await step(999), [1, 1], 'held off for 1000 ms');
  assert.deepEqual(await step(1), [2, 2], 'followed again after 1000 ms, failed twice');
  assert.deepEqual(await step(1999), [2, 2], 'now held off for 2000 ms');
  assert.deepEqual(await step(1), [3, 3]);
  assert.equal(client.stats().failed, 0);
});
