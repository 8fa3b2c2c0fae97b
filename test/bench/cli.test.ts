/**
 * Real-process runs of `cart bench`: a tiny run (2 modes, 1 client, ~1 s points, few records) and
 * an interrupted run. Each bench process runs in its own process group (detached), so every
 * replica process it starts is killed in `finally` even if the bench itself hangs or crashes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const MAIN = resolve('src/cli/main.ts');

interface Bench {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
  /** Resolves when a stderr line matches `re`; rejects after `ms`. */
  waitFor(re: RegExp, ms: number): Promise<void>;
}

function startBench(args: string[]): Bench {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const watchers: { re: RegExp; done: () => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => stdout.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => {
    stderr.push(l);
    for (const w of watchers.splice(0)) {
      if (w.re.test(l)) w.done();
      else watchers.push(w);
    }
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return {
    child,
    stdout,
    stderr,
    exited,
    waitFor: (re, ms) =>
      new Promise<void>((res, rej) => {
        if (stderr.some((l) => re.test(l))) return res();
        const t = setTimeout(() => rej(new Error(`no stderr line matching ${re} within ${ms} ms:\n${stderr.slice(-20).join('\n')}`)), ms);
        watchers.push({ re, done: () => (clearTimeout(t), res()) });
      }),
  };
}

/** Exit code, or a failure after `ms`. */
async function exitWithin(b: Bench, ms: number): Promise<number | null> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`bench did not exit within ${ms} ms:\n${b.stderr.slice(-20).join('\n')}`)), ms)));
  try {
    return await Promise.race([b.exited, timeout]);
  } finally {
    clearTimeout(t);
  }
}

/** PIDs still alive in the bench's process group (the bench and its replicas). */
function groupMembers(pgid: number): number[] {
  const r = spawnSync('ps', ['-e', '-o', 'pid=,pgid=,stat='], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => Number(c[1]) === pgid && !c[2]?.startsWith('Z'))
    .map((c) => Number(c[0]));
}

function killGroup(b: Bench): void {
  try {
    process.kill(-b.child.pid!, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

test('cart bench --json: a tiny run of two modes writes the report files and a {"results":[...]} last line', { timeout: 150_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'cart-bench-test-'));
  const b = startBench(['--modes', 'native,cart-all', '--clients', '1', '--duration', '1', '--warmup', '0.5', '--records', '12', '--out', out, '--json']);
  try {
    const code = await exitWithin(b, 140_000);
    assert.equal(code, 0, b.stderr.slice(-30).join('\n'));
    const last = JSON.parse(b.stdout[b.stdout.length - 1]!) as { results: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(last), ['results']);
    assert.deepEqual(last.results.map((r) => [r['mode'], r['clients']]), [['native', 1], ['cart-all', 1]]);
    for (const r of last.results) {
      for (const k of ['throughputOpsPerSec', 'latencyP50Ms', 'latencyP90Ms', 'latencyP99Ms']) assert.equal(typeof r[k], 'number', k);
      assert.ok((r['throughputOpsPerSec'] as number) > 0, 'some operations completed');
      assert.ok((r['latencyP50Ms'] as number) <= (r['latencyP99Ms'] as number));
      assert.equal(r['integrityErrors'], 0, 'no wrong result accepted');
    }
    assert.equal(last.results[0]!['pairingChecksPerReply'], null, 'native: no BLS');
    assert.ok((last.results[1]!['pairingChecksPerReply'] as number) <= 1, 'CART client: at most one pairing check per reply');
    for (const f of ['results.md', 'results.json', 'throughput-latency.svg', 'throughput-by-mode.svg']) assert.ok((await stat(join(out, f))).size > 0, f);
    const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { results: unknown[]; ratios: { name: string }[]; partial: boolean };
    assert.equal(json.results.length, 2);
    assert.equal(json.partial, false);
    assert.ok(json.ratios.some((q) => q.name === 'cart-all ÷ native'));
    assert.match(await readFile(join(out, 'results.md'), 'utf8'), /\| pbft \| cart-all \| 1 \|/);
    assert.deepEqual(groupMembers(b.child.pid!), [], 'no replica process left behind');
  } finally {
    killGroup(b);
    await rm(out, { recursive: true, force: true });
  }
});

test('cart bench: SIGINT mid-measurement stops, cleans up every replica and writes a partial report', { timeout: 150_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'cart-bench-int-'));
  const b = startBench(['--modes', 'cart-none,cart-all', '--clients', '1', '--duration', '600', '--warmup', '0', '--records', '8', '--out', out, '--json']);
  try {
    await b.waitFor(/cart-none clients=1 \[\d+ s measuring\]/, 120_000);
    b.child.kill('SIGINT');
    const code = await exitWithin(b, 60_000);
    assert.equal(code, 0, b.stderr.slice(-30).join('\n'));
    const last = JSON.parse(b.stdout[b.stdout.length - 1]!) as { results: { mode: string }[] };
    assert.deepEqual(last.results.map((r) => r.mode), ['cart-none'], 'the interrupted point is reported, the next mode never started');
    const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { partial: boolean };
    assert.equal(json.partial, true);
    assert.deepEqual(groupMembers(b.child.pid!), [], 'no replica process left behind');
  } finally {
    killGroup(b);
    await rm(out, { recursive: true, force: true });
  }
});
