/**
 * A busy contact orders read-only requests with the writes (`readOnlyBusyThreshold`, default 1):
 * the client accepts the 'ordered' reply for its read-only invocation; an idle contact, or one
 * with the threshold at 0, serves the read-only path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, encodeCounterOperation, decodeCounterResult } from '../../src/apps/counter.ts';
import type { ConsensusAdapter } from '../../src/consensus/adapter.ts';
import type { CartReplicaTuning } from '../../src/replica/index.ts';
import { startTestCluster, waitFor } from './cluster.ts';

const add = (amount: bigint) => encodeCounterOperation({ type: 'add', amount });
const get = encodeCounterOperation({ type: 'get' });
const valueOf = (bytes: Uint8Array): bigint => (decodeCounterResult(bytes) as { value: bigint }).value;

const total = async (c: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> => (await c.get()).values.reduce((a, v) => a + v.value, 0);

/** Holds replica 1's submissions until `release()`: its ordered requests stay in flight. */
class Gate {
  readonly held: (() => void)[] = [];
  private open = false;
  wrap(a: ConsensusAdapter): ConsensusAdapter {
    return {
      protocol: a.protocol,
      start: (proxy) => a.start(proxy),
      submit: (request) => (this.open ? a.submit(request) : new Promise<void>((resolve, reject) => this.held.push(() => void a.submit(request).then(resolve, reject)))),
      onEvent: (listener) => a.onEvent?.(listener),
      stop: () => a.stop(),
    };
  }
  release(): void {
    this.open = true;
    for (const go of this.held.splice(0)) go();
  }
  /** Hold submissions again. */
  close(): void {
    this.open = false;
  }
}

async function scenario(tuning: CartReplicaTuning) {
  const gate = new Gate();
  const cluster = await startTestCluster({ app: () => new Counter(), tuning: () => tuning, wrapAdapter: (i, a) => (i === 1 ? gate.wrap(a) : a) });
  const client = await cluster.client({ contact: 0 });
  const write = client.invoke(add(5n));
  await waitFor(() => gate.held.length === 1, 10_000, 'write held in flight at the contact');
  const read = client.invokeReadOnly(get);
  return { cluster, client, gate, write, read };
}

test('a read arriving while the contact has a write in flight is ordered after it; the client accepts the ordered reply', async (t) => {
  const { cluster, client, gate, write, read } = await scenario({});
  t.after(() => cluster.close());
  await waitFor(() => gate.held.length === 2, 10_000, 'read held behind the write (ordered, not read-only)');
  gate.release();
  assert.equal(valueOf(await write), 5n);
  assert.equal(valueOf(await read), 5n, 'the ordered read sees the write before it');
  let s = client.stats();
  assert.equal(s.readOnlyVerified, 1);
  assert.equal(s.readOnlyOrdered, 1);
  assert.equal(s.readOnlyFallbacks, 0);
  const m = cluster.replicas[0]!.metrics;
  assert.equal(await total(m.readOnlyBatches), 0, 'no read-only batch coordinated');
  assert.equal(await total(m.readOnlyOrdered), 1);
  // idle contact: the read-only path
  assert.equal(valueOf(await client.invokeReadOnly(get)), 5n);
  s = client.stats();
  assert.equal(s.readOnlyVerified, 2);
  assert.equal(s.readOnlyOrdered, 1);
  assert.equal(await total(m.readOnlyBatches), 1);
});

test('readOnlyBusyThreshold 0: the read takes the read-only path even while a write is in flight', async (t) => {
  const { cluster, client, gate, write, read } = await scenario({ readOnlyBusyThreshold: 0 });
  t.after(() => cluster.close());
  assert.equal(valueOf(await read), 0n, 'served unordered from the committed state (the write is not ordered yet)');
  assert.equal(gate.held.length, 1);
  gate.release();
  assert.equal(valueOf(await write), 5n);
  assert.equal(client.stats().readOnlyOrdered, 0);
});

test('a busy contact still serves a read on the read-only path when ordering would refuse it (unknown client, stale freshness)', async (t) => {
  const gate = new Gate();
  gate.release(); // not held while the history grows
  const cluster = await startTestCluster({ app: () => new Counter(), tuning: () => ({ freshnessHorizon: 2n }), wrapAdapter: (i, a) => (i === 1 ? gate.wrap(a) : a) });
  t.after(() => cluster.close());
  const writer = await cluster.client({ contact: 0 });
  for (let i = 0; i < 5; i++) await writer.invoke(add(1n)); // sequences move past the horizon
  gate.close(); // hold the next write: the contact is busy
  const write = writer.invoke(add(1n));
  await waitFor(() => gate.held.length === 1, 10_000, 'write held in flight at the contact');
  const reader = await cluster.client({ contact: 0 }); // never ordered anything: fresh = 0, unknown to the table
  assert.equal(valueOf(await reader.invokeReadOnly(get)), 5n);
  const s = reader.stats();
  assert.equal(s.readOnlyOrdered, 0, 'not ordered (it would be refused as stale)');
  assert.equal(s.freshnessRetries + s.readOnlyFallbacks, 0, 'no extra round trip');
  gate.release();
  assert.equal(valueOf(await write), 6n);
});
