/**
 * A busy contact orders read-only requests with the writes (`readOnlyBusyThreshold`, default 1,
 * while ordering makes progress: `readOnlyBusyProgressMs`): the client accepts the 'ordered' reply
 * for its read-only invocation; an idle contact, a stalled protocol, or the threshold at 0 use the
 * read-only path. Replica clocks are injected, so "progress" is decided without sleeping.
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

/** Holds replica 1's submissions while closed: its ordered requests stay in flight. */
class Gate {
  readonly held: (() => void)[] = [];
  private open = true;
  wrap(a: ConsensusAdapter): ConsensusAdapter {
    return {
      protocol: a.protocol,
      start: (proxy) => a.start(proxy),
      submit: (request) => (this.open ? a.submit(request) : new Promise<void>((resolve, reject) => this.held.push(() => void a.submit(request).then(resolve, reject)))),
      onEvent: (listener) => a.onEvent?.(listener),
      stop: () => a.stop(),
    };
  }
  close(): void {
    this.open = false;
  }
  release(): void {
    this.open = true;
    for (const go of this.held.splice(0)) go();
  }
}

/**
 * Replica 1 (the contact) with a gate and a manual clock; one write executed (ordering has
 * progressed "now"), then a second write held in flight.
 */
async function scenario(tuning: CartReplicaTuning) {
  const gate = new Gate();
  const clock = { ms: 1_000_000 };
  const cluster = await startTestCluster({ app: () => new Counter(), tuning: () => ({ ...tuning, now: () => clock.ms }), wrapAdapter: (i, a) => (i === 1 ? gate.wrap(a) : a) });
  const client = await cluster.client({ contact: 0 });
  assert.equal(valueOf(await client.invoke(add(1n))), 1n);
  gate.close();
  const write = client.invoke(add(5n));
  await waitFor(() => gate.held.length === 1, 10_000, 'write held in flight at the contact');
  return { cluster, client, gate, clock, write };
}

test('a read arriving while the contact has a write in flight is ordered after it; the client accepts the ordered reply; a read leaves no deduplication state', async (t) => {
  // (the manual clock does not move, so ordering counts as progressing; no read-only hedge for a minute)
  const { cluster, gate, write } = await scenario({ readOnlyBusyProgressMs: 60_000 });
  t.after(() => cluster.close());
  const reader = await cluster.client({ contact: 0 });
  const read = reader.invokeReadOnly(get);
  await waitFor(() => gate.held.length === 2, 10_000, 'read held behind the write (ordered, not read-only)');
  gate.release();
  assert.equal(valueOf(await write), 6n);
  assert.equal(valueOf(await read), 6n, 'the ordered read sees the write before it');
  let s = reader.stats();
  assert.deepEqual([s.readOnlyVerified, s.readOnlyOrdered, s.readOnlyFallbacks, s.freshnessRetries], [1, 1, 0, 0]);
  const m = cluster.replicas[0]!.metrics;
  assert.equal(await total(m.readOnlyBatches), 0, 'no read-only batch coordinated');
  assert.equal(await total(m.readOnlyOrdered), 1);
  const readerHex = Buffer.from(reader.clientId).toString('hex');
  const last = cluster.replicas[0]!.proxy.lastSequence;
  await waitFor(() => cluster.replicas.every((r) => r!.proxy.lastSequence >= last), 10_000, 'all replicas executed');
  for (const r of cluster.replicas) assert.equal(r!.proxy.knowsClient(readerHex), false, 'an ordered read takes no table slot');
  // idle contact: the read-only path
  assert.equal(valueOf(await reader.invokeReadOnly(get)), 6n);
  s = reader.stats();
  assert.deepEqual([s.readOnlyVerified, s.readOnlyOrdered], [2, 1]);
  assert.equal(await total(m.readOnlyBatches), 1);
});

test('ordering stalled (no batch executed within readOnlyBusyProgressMs, e.g. a view change): the read takes the read-only path at once', async (t) => {
  const { cluster, gate, clock, write } = await scenario({ readOnlyBusyProgressMs: 250 });
  t.after(() => cluster.close());
  clock.ms += 1000; // nothing executed for a second while the write is stuck
  const reader = await cluster.client({ contact: 0 });
  assert.equal(valueOf(await reader.invokeReadOnly(get)), 1n, 'served unordered from the committed state');
  assert.equal(reader.stats().readOnlyOrdered, 0);
  assert.equal(gate.held.length, 1);
  gate.release();
  assert.equal(valueOf(await write), 6n);
});

test('readOnlyBusyThreshold 0: the read takes the read-only path even while a write is in flight', async (t) => {
  const { cluster, gate, write } = await scenario({ readOnlyBusyThreshold: 0 });
  t.after(() => cluster.close());
  const reader = await cluster.client({ contact: 0 });
  assert.equal(valueOf(await reader.invokeReadOnly(get)), 1n);
  assert.equal(reader.stats().readOnlyOrdered, 0);
  gate.release();
  assert.equal(valueOf(await write), 6n);
});

test('an ordered read stuck behind a stalled protocol is started on the read-only path after readOnlyBusyProgressMs and answered from there', async (t) => {
  const { cluster, gate, write } = await scenario({ readOnlyBusyProgressMs: 100 });
  t.after(() => cluster.close());
  const reader = await cluster.client({ contact: 0, timeoutMs: 60_000 });
  // ordered (progress is recent on the manual clock), held by the gate like the write
  const read = reader.invokeReadOnly(get);
  await waitFor(() => gate.held.length === 2, 10_000, 'read held behind the write');
  assert.equal(valueOf(await read), 1n, 'the read-only hedge answered from the committed state');
  const s = reader.stats();
  assert.deepEqual([s.readOnlyVerified, s.readOnlyOrdered, s.readOnlyFallbacks, s.timeouts], [1, 0, 0, 0]);
  gate.release();
  assert.equal(valueOf(await write), 6n);
});

test('a write sent as read-only to a busy contact is refused at execution with READ_ONLY_FAILED (no client timeout) and re-issued ordered once', async (t) => {
  const { cluster, gate, write } = await scenario({ readOnlyBusyProgressMs: 60_000 });
  t.after(() => cluster.close());
  const sneaky = await cluster.client({ contact: 0, timeoutMs: 60_000 });
  const flagged = sneaky.invokeReadOnly(add(10n));
  await waitFor(() => gate.held.length === 2, 10_000, 'flagged write ordered behind the write');
  gate.release();
  assert.equal(valueOf(await write), 6n);
  assert.equal(valueOf(await flagged), 16n, 'executed exactly once, by the ordered re-issue');
  const s = sneaky.stats();
  assert.deepEqual([s.readOnlyFallbacks, s.timeouts, s.failed], [1, 0, 0]);
  assert.equal((cluster.apps[0] as Counter).current, 16n);
});
