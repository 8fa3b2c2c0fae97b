/**
 * End to end: `cart demo --consensus bftsmart` — YCSB workload A through the unchanged,
 * verifying CART client over 4 CART replicas on BFT-SMaRt (8 processes: 4 Node replicas, 4 glue
 * JVMs), with the primary (BFT-SMaRt's leader) killed halfway. Needs BFTSMART_HOME.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BFTSMART_HOME, SKIP_REASON } from './harness.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const LIMIT_MS = 240_000;

test('cart demo --consensus bftsmart: YCSB through verifying CART clients, leader killed halfway', { skip: SKIP_REASON }, async (t) => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'demo', '--consensus', 'bftsmart', '--bftsmart-home', BFTSMART_HOME!, '--records', '100', '--operations', '300', '--clients', '4', '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  // The demo stops its own cluster; if this test fails or times out, kill its whole process group.
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not finish within ${LIMIT_MS} ms; stderr tail:\n${stderr}`)), LIMIT_MS);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0, `demo exit code; stderr tail:\n${stderr}`);
  const summary = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  assert.equal(summary['consensus'], 'bftsmart');
  assert.equal(summary['recordsLoaded'], 100);
  assert.equal(summary['operations'], 300);
  assert.equal(summary['failed'], 0, 'every operation completed');
  assert.equal(summary['rejected'], 0, 'no reply failed verification (all replicas honest)');
  assert.equal(summary['integrityErrors'], 0, 'read results match what was written');
  assert.ok((summary['verified'] as number) >= 400, 'one verified reply per load and transaction operation');
  assert.equal(typeof summary['killedReplica'], 'number', 'the primary was killed mid-run');
});
