/**
 * What a new (or careless) user runs into: files from two deployments, a cluster that is not
 * running, `cart` started outside the repository, Ctrl-C on `cart demo`, a replica whose parent
 * died. Each failure must say what is wrong and leave no process or temp folder behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectToCluster } from '../../src/deploy/client.ts';
import { DeployConfigError } from '../../src/deploy/config.ts';
import { generateDeployment } from '../../src/deploy/generate.ts';
import { writeKeyFiles } from '../../src/crypto/index.ts';
import { NoQuorumError } from '../../src/client/index.ts';
import { encodeKvOperation } from '../../src/apps/kv-codec.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CART = join(ROOT, 'bin/cart.mjs');

async function tempDir(t: { after(fn: () => Promise<void>): void }, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Resolves with the exit code, or rejects after `ms`. */
function exited(child: ReturnType<typeof spawn>, ms: number): Promise<number | string | null> {
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`process ${child.pid} still running after ${ms} ms`)), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      res(code ?? (signal ? `signal ${signal}` : null));
    });
  });
}

test('cart keygen --replicas 0 names the bad flag', () => {
  const r = spawnSync(process.execPath, [CART, 'keygen', '--replicas', '0', '--out', join(tmpdir(), 'never-written')], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--replicas must be at least 1/);
});

test('a public key file from another deployment (other n) is refused when the client starts', async (t) => {
  const dir = await tempDir(t, 'cart-nu-mix-');
  const d = await generateDeployment({ dir: join(dir, 'a'), f: 1 });
  await writeKeyFiles(join(dir, 'b'), 7, 2);
  await copyFile(join(dir, 'b', 'cart-public.json'), d.publicKeyFile);
  await assert.rejects(connectToCluster(d.clusterFile), (e: unknown) => e instanceof DeployConfigError && /n = 7 .*n = 4, f = 1.*same deployment/.test(e.message));
});

test('no replica running: the error says the connections were refused, not just "no verified reply"', async (t) => {
  const dir = await tempDir(t, 'cart-nu-down-');
  const d = await generateDeployment({ dir, f: 1 });
  const client = await connectToCluster(d.clusterFile, { timeoutMs: 500 });
  t.after(() => client.close());
  await assert.rejects(
    client.invoke(encodeKvOperation({ type: 'read', table: 'usertable', key: 'k' })),
    (e: unknown) => e instanceof NoQuorumError && /connection refused or closed .*is the cluster running/.test(e.message),
  );
});

test('crypto worker threads start when the cwd is outside the repository', async (t) => {
  const cwd = await tempDir(t, 'cart-nu-cwd-');
  // like bin/cart.mjs (tsx registered in-process, so no `--import tsx` in execArgv to inherit)
  const script = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register();
const { createCryptoService } = await import(${JSON.stringify(join(ROOT, 'src/crypto/service.ts'))});
const s = await createCryptoService({ workers: 1 });
await s.ping();
await s.close();
console.log('ok');`;
  const entry = join(cwd, 'probe.mjs');
  await writeFile(entry, script);
  const r = spawnSync(process.execPath, [entry], { cwd, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.stdout.trim(), 'ok', r.stderr);
});

test('a replica whose parent died (stderr pipe closed) still exits on SIGINT', async (t) => {
  const dir = await tempDir(t, 'cart-nu-orphan-');
  const d = await generateDeployment({ dir, f: 1 });
  const child = spawn(process.execPath, [CART, 'replica', '--config', d.replicaFiles[0]!, '--events'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => void child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  await new Promise<void>((res, rej) => {
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('"ready"')) res();
    });
    child.once('exit', (code) => rej(new Error(`replica exited (${code}) before ready`)));
  });
  child.stderr!.destroy(); // as if the `cart cluster` reading it had been killed
  child.kill('SIGINT');
  assert.equal(await exited(child, 15_000), 0, `stdout:\n${out}\nstderr:\n${err}`);
});

test('Ctrl-C on cart demo stops its replicas and removes the temp deployment (secret keys)', async (t) => {
  const tmp = await tempDir(t, 'cart-nu-demo-');
  const child = spawn(process.execPath, [CART, 'demo', '--records', '20', '--operations', '1000000', '--no-kill'], {
    cwd: ROOT,
    env: { ...process.env, TMPDIR: tmp },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => void child.kill('SIGKILL'));
  let err = '';
  await new Promise<void>((res, rej) => {
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (/ops\/s/.test(err)) res();
    });
    child.once('exit', (code) => rej(new Error(`demo exited (${code}) early:\n${err}`)));
  });
  child.kill('SIGINT');
  assert.equal(await exited(child, 30_000), 130, err);
  assert.deepEqual((await readdir(tmp)).filter((f) => f.startsWith('cart-')), [], 'temp deployment folder removed');
  const left = spawnSync('pgrep', ['-f', tmp], { encoding: 'utf8' });
  assert.equal(left.stdout.trim(), '', 'no replica process of the demo left');
});

test('kill -9 of cart cluster takes its replica processes down too (no orphans holding the ports)', async (t) => {
  const dir = await tempDir(t, 'cart-nu-k9-');
  const child = spawn(process.execPath, [CART, 'cluster', '--dir', join(dir, 'deploy'), '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => void child.kill('SIGKILL'));
  let out = '';
  await new Promise<void>((res, rej) => {
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('Ctrl-C stops the cluster')) res();
    });
    child.once('exit', (code) => rej(new Error(`cart cluster exited (${code}) early:\n${out}`)));
  });
  const replicas = (): string => spawnSync('pgrep', ['-f', join(dir, 'deploy')], { encoding: 'utf8' }).stdout.trim();
  assert.notEqual(replicas(), '', 'replicas running');
  child.kill('SIGKILL');
  const deadline = Date.now() + 20_000;
  while (replicas() !== '' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const left = replicas();
  if (left !== '') spawnSync('kill', ['-9', ...left.split('\n')]);
  assert.equal(left, '', 'no replica left after its launcher was killed');
});
