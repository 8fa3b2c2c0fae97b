/**
 * End to end over real OS processes on loopback: `cart replica` processes started from a
 * generated deployment (built-in PBFT), driven by CART clients that read only the public files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchLocalDeployment } from '../../src/deploy/launch.ts';
import { connectToCluster } from '../../src/deploy/client.ts';
import { DeployConfigError, loadClusterConfig, loadReplicaConfig, parseClusterConfig } from '../../src/deploy/config.ts';
import { generateDeployment } from '../../src/deploy/generate.ts';
import { decodeKvResult, encodeKvOperation, kvRecordFromStrings, kvRecordToStrings } from '../../src/apps/kv-codec.ts';
import { runDemo } from '../../src/cli/demo.ts';

const insert = (key: string, v: string) => encodeKvOperation({ type: 'insert', table: 'usertable', key, values: kvRecordFromStrings({ field0: v }) });
const read = (key: string) => encodeKvOperation({ type: 'read', table: 'usertable', key });

function field0(bytes: Uint8Array): string | undefined {
  const r = decodeKvResult(bytes);
  return r.type === 'record' ? kvRecordToStrings(r.record)['field0'] : undefined;
}

test('deployment files: secrets are 0600, public files parse, bad configs are refused with the field named', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cart-deploy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const d = await generateDeployment({ dir, f: 1 });
  assert.equal(d.replicaFiles.length, 4);
  for (const f of d.replicaFiles) assert.equal((await stat(f)).mode & 0o777, 0o600, f);
  const { secret, cluster } = await loadReplicaConfig(d.replicaFiles[2]!);
  assert.equal(secret.index, 3);
  assert.equal(cluster.replicas.length, 4);
  const json = JSON.parse(await readFile(d.clusterFile, 'utf8')) as Record<string, unknown>;
  assert.doesNotMatch(JSON.stringify(json), /PRIVATE|identityKey/i, 'cluster.json holds no secrets');
  assert.throws(() => parseClusterConfig({ ...json, f: 2 }), (e: unknown) => e instanceof DeployConfigError && /3f\+1/.test(e.message));
  assert.throws(() => parseClusterConfig({ ...json, version: 9 }), (e: unknown) => e instanceof DeployConfigError && /version/.test(e.message));
  assert.throws(() => parseClusterConfig({ ...json, consensus: { protocol: 'raft' } }), DeployConfigError);
  const bad = join(dir, 'bad.json');
  await writeFile(bad, '{ not json');
  await assert.rejects(loadClusterConfig(bad), (e: unknown) => e instanceof DeployConfigError && e.message.includes(bad));
});

test('replica processes serve verified KV operations; a killed contact replica is failed over', async (t) => {
  const running = await launchLocalDeployment({ f: 1, protocol: 'pbft', logLevel: 'warn' });
  t.after(() => running.close());
  // hints off: the client must stay on replica 2 (not follow the hint to the leader) for the kill to hit it
  const client = await connectToCluster(running.deployment.clusterFile, { contact: 1, timeoutMs: 2000, maxAttempts: 50, followContactHints: false });
  t.after(() => client.close());
  assert.equal(decodeKvResult(await client.invoke(insert('user1', 'hello'))).type, 'ok');
  assert.equal(field0(await client.invoke(read('user1'))), 'hello');

  // kill the contact replica (index 2): the client times out, fails over, and completes
  await running.cluster.kill(2);
  assert.equal(running.cluster.replicas[1]!.running(), false);
  assert.equal(decodeKvResult(await client.invoke(insert('user2', 'after-kill'))).type, 'ok');
  assert.equal(field0(await client.invoke(read('user2'))), 'after-kill');
  assert.ok(client.stats().failovers >= 1, 'the client failed over');

  // /status and /metrics are served
  const r1 = running.deployment.cluster.replicas[0]!;
  const status = (await (await fetch(`http://${r1.host}:${r1.metricsPort}/status`)).json()) as { index: number; protocol: string };
  assert.deepEqual([status.index, status.protocol], [1, 'pbft']);
  const metrics = await (await fetch(`http://${r1.host}:${r1.metricsPort}/metrics`)).text();
  assert.match(metrics, /cart_replies_sent_total/);

  // the killed replica restarts (state transfer / catch-up) and serves a client that contacts it
  await running.cluster.restart(2);
  const c2 = await connectToCluster(running.deployment.clusterFile, { contact: 1, timeoutMs: 3000, maxAttempts: 50 });
  t.after(() => c2.close());
  assert.equal(field0(await c2.invoke(read('user2'))), 'after-kill');
});

test('cart demo (small): kills the primary halfway, every operation completes and is verified', async () => {
  const s = await runDemo({ records: 60, operations: 120, clients: 4, faults: 1, consensus: 'pbft', byzantine: 0, kill: true, json: true, seed: 7, property: [] });
  assert.equal(s.operations, 120);
  assert.equal(s.failed, 0);
  assert.equal(s.verified, 60 + 120);
  // the reasons name what was rejected (seen once under heavy CPU stress, during a ~55 s view-change
  // run to view 7 after the primary's kill: one rejected reply, reason not recorded then)
  assert.equal(s.rejected, 0, `rejected by reason: ${JSON.stringify(s.rejectedByReason)}`);
  assert.equal(s.killedReplica, 1);
  assert.equal(s.integrityErrors, 0);
});

test('cart demo --byzantine 1: lying replica is detected, only correct verified replies are accepted', async () => {
  const s = await runDemo({ records: 40, operations: 80, clients: 4, faults: 1, consensus: 'pbft', byzantine: 1, kill: true, json: true, seed: 3, property: [] });
  assert.equal(s.operations, 80);
  assert.equal(s.failed, 0);
  assert.equal(s.verified, 40 + 80);
  assert.deepEqual(s.byzantineReplicas, [4]);
  assert.equal(s.integrityErrors, 0, 'no wrong result was accepted');
  assert.equal(s.killedReplica, null, 'no crash on top of the Byzantine replica (f = 1)');
  assert.ok(s.rejected > 0, 'the Byzantine contact replica\'s replies were rejected by clients');
  assert.ok(s.badSharesDetected > 0, 'honest replicas detected its bad shares');
});
