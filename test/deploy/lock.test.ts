/**
 * One launcher per deployment folder: `cluster.lock` names the launcher's pid; a live holder
 * makes a second launch fail with a clear error, a dead one's lock is taken over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalClusterError, lockDeployment } from '../../src/deploy/local-cluster.ts';

test('deployment lock: refused while a live launcher holds it, taken over from a dead one, released on close', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cart-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lockFile = join(dir, 'cluster.lock');

  const release = lockDeployment(dir);
  assert.equal(readFileSync(lockFile, 'utf8').trim(), String(process.pid));
  release();
  release(); // idempotent
  assert.equal(existsSync(lockFile), false);

  // another live process holds it
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  t.after(() => other.kill('SIGKILL'));
  await new Promise<void>((r) => other.once('spawn', () => r()));
  writeFileSync(lockFile, `${other.pid}\n`);
  assert.throws(() => lockDeployment(dir), (e: unknown) => e instanceof LocalClusterError && new RegExp(`already running \\(launcher pid ${other.pid}\\)`).test(e.message));
  assert.equal(readFileSync(lockFile, 'utf8').trim(), String(other.pid), 'a live holder keeps its lock');

  // the holder died (e.g. kill -9 of the launcher): its stale lock is taken over
  const exited = new Promise<void>((r) => other.once('exit', () => r()));
  other.kill('SIGKILL');
  await exited;
  const again = lockDeployment(dir);
  assert.equal(readFileSync(lockFile, 'utf8').trim(), String(process.pid));
  again();
});
