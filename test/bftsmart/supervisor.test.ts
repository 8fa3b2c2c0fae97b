/**
 * GlueProcess supervision with a stand-in JVM (test/bftsmart/fake-jvm.mjs run by node): restart
 * after a crash, stderr surfaced in errors, start failures, link authentication, ready timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GlueProcess, type GlueProcessOptions } from '../../src/consensus/bftsmart/process.ts';
import { GlueProcessError } from '../../src/consensus/bftsmart/errors.ts';
import { MsgType, encodeRequest, type GlueMessage } from '../../src/consensus/bftsmart/protocol.ts';

const FAKE = fileURLToPath(new URL('./fake-jvm.mjs', import.meta.url));

function fake(behaviour: string, extra: Partial<GlueProcessOptions> = {}): GlueProcess {
  return new GlueProcess({
    name: `fake ${behaviour}`,
    classpath: ['unused'],
    cwd: tmpdir(),
    java: process.execPath,
    jvmArgs: [FAKE],
    args: (port) => [behaviour, '--port', String(port)],
    onMessage: () => {},
    backoff: { initialMs: 20, maxMs: 50 },
    random: () => 0.5,
    ...extra,
  });
}

async function until(cond: () => boolean, label: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a crashed glue process is restarted, reported, and its link works again', async (t) => {
  const exits: GlueProcessError[] = [];
  const messages: GlueMessage[] = [];
  const p = fake('ready', { onExit: (e) => exits.push(e), onMessage: (m) => messages.push(m) });
  t.after(() => p.stop());
  await p.start();
  assert.equal(p.ready, true);
  assert.equal(p.incarnations, 1);
  assert.ok(p.send(encodeRequest(MsgType.SUBMIT, 7, Buffer.from('x'))));
  await until(() => messages.some((m) => m.type === 'submitted' && m.id === 7), 'SUBMITTED 7');

  p.kill('SIGKILL');
  await until(() => exits.length === 1, 'exit report');
  assert.ok(exits[0] instanceof GlueProcessError);
  assert.match(exits[0]!.message, /SIGKILL/);
  assert.equal(p.ready, false);
  assert.equal(p.send(Buffer.from([1])), false, 'no link while restarting');
  await until(() => p.ready, 'restarted incarnation ready');
  assert.equal(p.incarnations, 2);
  assert.equal(p.stats.crashes, 1);
  assert.ok(p.send(encodeRequest(MsgType.SUBMIT, 8, Buffer.from('y'))));
  await until(() => messages.some((m) => m.type === 'submitted' && m.id === 8), 'SUBMITTED 8');
  await p.stop();
  assert.equal(p.pid, undefined);
});

test('a first incarnation that fails rejects start with its stderr', async () => {
  const p = fake('fail-start');
  await assert.rejects(p.start(), (e: unknown) => e instanceof GlueProcessError && /Address already in use/.test(e.stderrTail) && /code 1/.test(e.message));
  assert.equal(p.incarnations, 1, 'not restarted after a failed first start');
});

test('a link with a wrong token is refused (the process loses its link and exits)', async () => {
  const p = fake('bad-token');
  await assert.rejects(p.start(), (e: unknown) => e instanceof GlueProcessError && /exited with code 3/.test(e.message));
  assert.equal(p.stats.rejectedConnections, 1);
});

test('no READY within readyTimeoutMs: the process is killed and start rejects', async () => {
  const p = fake('silent', { readyTimeoutMs: 1000 });
  await assert.rejects(p.start(), (e: unknown) => e instanceof GlueProcessError && /not READY within 1000 ms/.test(e.message));
  assert.equal(p.stats.rejectedConnections, 0);
});

test('java missing: start rejects with a clear error', async () => {
  const p = fake('ready', { java: '/nonexistent/java' });
  await assert.rejects(p.start(), /could not run \/nonexistent\/java/);
});

test('stop() while starting rejects start and leaves no process behind', async () => {
  const p = fake('silent', { readyTimeoutMs: 60_000 });
  const starting = p.start();
  await until(() => p.pid !== undefined, 'spawned');
  const pid = p.pid!;
  await p.stop();
  await assert.rejects(starting, /stopped before the glue JVM was ready/);
  assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the stand-in process is gone');
});

test('exit code 75 before READY (transient) restarts instead of failing start; other codes fail', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cart-fake-jvm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const exits: GlueProcessError[] = [];
  const p = fake('retry-once', { args: (port) => ['retry-once', '--port', String(port), '--marker', join(dir, 'marker')], onExit: (e) => exits.push(e) });
  t.after(() => p.stop());
  await p.start();
  assert.equal(p.incarnations, 2);
  assert.equal(p.stats.crashes, 1);
  assert.equal(exits.length, 0, 'a retried start is not reported as a crash of a running replica');
});
