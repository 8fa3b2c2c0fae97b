import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateLocalCluster } from '../../src/consensus/pbft/config.ts';
import { loadPublicKeyFile, writeKeyFiles } from '../../src/crypto/index.ts';
import { connect } from '../../src/client/index.ts';
import { encodeCounterOperation, decodeCounterResult } from '../../src/apps/counter.ts';

const add = encodeCounterOperation({ type: 'add', amount: 1n });
const val = (b: Uint8Array) => (decodeCounterResult(b) as { value: bigint }).value;
const CHILD = fileURLToPath(new URL('./replica-process.ts', import.meta.url));

/** Reads JSON lines from a child's stdout; each `next()` is bounded by a timeout. */
function jsonLines(child: ChildProcessWithoutNullStreams): (timeoutMs?: number) => Promise<Record<string, number>> {
  const it = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return async (timeoutMs = 60_000) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('child did not answer in time')), timeoutMs)));
    try {
      const r = await Promise.race([it.next(), timeout]);
      if (r.done) throw new Error('child exited early');
      return JSON.parse(r.value) as Record<string, number>;
    } finally {
      clearTimeout(timer);
    }
  };
}

interface ProcessCluster {
  readonly children: ChildProcessWithoutNullStreams[];
  readonly endpoints: Array<{ host: string; port: number }>;
  readonly publicFile: string;
}

/** Start n = 4 replica processes (CART over PBFT, TCP everywhere); cleaned up by t.after. */
async function startProcessCluster(t: import('node:test').TestContext, byzantine: Record<number, object> = {}): Promise<ProcessCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'cart-proc-'));
  const children: ChildProcessWithoutNullStreams[] = [];
  t.after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  const n = 4;
  const { publicFile, secretFiles } = await writeKeyFiles(dir, n, 1);
  const gen = await generateLocalCluster({ f: 1, ports: 0, protocol: { requestTimeoutMs: 1000, statusIntervalMs: 200, checkpointInterval: 16, watermarkWindow: 64, batchMaxSize: 32 } });
  const readers: Array<ReturnType<typeof jsonLines>> = [];
  for (let i = 1; i <= n; i++) {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.on('data', () => {}); // keep the pipe drained
    children.push(child);
    readers.push(jsonLines(child));
    child.stdin.write(JSON.stringify({ index: i, cluster: gen.config, pbftKey: gen.replicaKeys[i - 1], secretFile: secretFiles[i - 1], byzantine: byzantine[i] }) + '\n');
  }
  const bound = await Promise.all(readers.map((r) => r()));
  for (const c of children) c.stdin.write(JSON.stringify({ addresses: bound }) + '\n');
  const ready = await Promise.all(readers.map((r) => r()));
  return { children, publicFile, endpoints: ready.map((r) => ({ host: '127.0.0.1', port: r.cartPort! })) };
}

test('real processes on loopback: CART over PBFT, verified replies; kill -9 of the primary mid-load loses nothing', async (t) => {
  const { children, endpoints, publicFile } = await startProcessCluster(t);
  const client = await connect({ replicas: endpoints, publicKeySets: await loadPublicKeyFile(publicFile), contact: 0, timeoutMs: 2000, maxAttempts: 12 });
  t.after(() => client.close());
  const first = await Promise.all(Array.from({ length: 10 }, () => client.invoke(add)));
  const during = Array.from({ length: 20 }, () => client.invoke(add));
  children[0]!.kill('SIGKILL'); // replica 1 hosts the PBFT primary of view 0 and is the contact
  const rest = await Promise.all(during);
  const after = await Promise.all(Array.from({ length: 10 }, () => client.invoke(add)));
  const values = [...first, ...rest, ...after].map(val).sort((a, b) => (a < b ? -1 : 1));
  assert.deepEqual(values, Array.from({ length: 40 }, (_, i) => BigInt(i + 1)), 'every increment executed exactly once and verified');
  const s = client.stats();
  assert.equal(s.verified, 40);
  assert.ok(s.failovers > 0);
  assert.equal(s.rejected['bad-signature'] + s.rejected['bad-proof'], 0);
  for (const c of children.slice(1)) c.stdin.end();
});

test('real processes on loopback: a Byzantine replica process (wrong results, bad shares) — clients accept only correct verified replies', async (t) => {
  const { children, endpoints, publicFile } = await startProcessCluster(t, { 2: { wrongResults: true, badShares: true } });
  const keys = await loadPublicKeyFile(publicFile);
  const liarFirst = await connect({ replicas: endpoints, publicKeySets: keys, contact: 1, timeoutMs: 2000, maxAttempts: 12 });
  const honestFirst = await connect({ replicas: endpoints, publicKeySets: keys, contact: 0, timeoutMs: 2000, maxAttempts: 12 });
  t.after(() => Promise.all([liarFirst.close(), honestFirst.close()]));
  const values = (await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? liarFirst : honestFirst).invoke(add)))).map(val);
  assert.deepEqual(values.sort((a, b) => (a < b ? -1 : 1)), Array.from({ length: 30 }, (_, i) => BigInt(i + 1)));
  assert.ok(liarFirst.stats().rejected['bad-proof'] >= 1, 'the liar\'s corrupted result was rejected');
  for (const c of children) c.stdin.end();
});
