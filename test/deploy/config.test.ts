/**
 * `cart replica` refuses inconsistent or unsafe deployment files before it starts anything:
 * readable secret files, an identity key of another replica, a public key file that does not
 * match the replica's key shares, wrongly typed tuning, unknown applications.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDeployment, loadDeployment } from '../../src/deploy/generate.ts';
import { runReplica } from '../../src/deploy/run-replica.ts';
import { autoCryptoWorkers, DeployConfigError, loadClusterConfig, parseClusterConfig } from '../../src/deploy/config.ts';

const isConfigError = (re: RegExp) => (e: unknown) => e instanceof DeployConfigError && re.test(e.message);

test('replica start refuses unsafe or inconsistent deployment files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cart-cfg-'));
  const other = await mkdtemp(join(tmpdir(), 'cart-cfg-other-'));
  t.after(() => Promise.all([rm(dir, { recursive: true, force: true }), rm(other, { recursive: true, force: true })]));
  const d = await generateDeployment({ dir, f: 1 });
  const d2 = await generateDeployment({ dir: other, f: 1 });
  const r1 = d.replicaFiles[0]!;
  const original = await readFile(r1, 'utf8');

  // readable by group/others
  await chmod(r1, 0o644);
  await assert.rejects(runReplica({ configFile: r1, logLevel: 'silent' }), isConfigError(/chmod 600/));
  await chmod(r1, 0o600);

  // identity key of replica 2 in replica 1's file
  const r2 = JSON.parse(await readFile(d.replicaFiles[1]!, 'utf8')) as { identityKey: string };
  await writeFile(r1, JSON.stringify({ ...JSON.parse(original), identityKey: r2.identityKey }), { mode: 0o600 });
  await assert.rejects(runReplica({ configFile: r1, logLevel: 'silent' }), isConfigError(/does not belong to replica 1/));
  await writeFile(r1, original, { mode: 0o600 });

  // a public key file from another deployment (clients would get other group keys)
  const pub = d.publicKeyFile;
  const saved = await readFile(pub, 'utf8');
  await copyFile(d2.publicKeyFile, pub);
  await assert.rejects(runReplica({ configFile: r1, logLevel: 'silent' }), isConfigError(/does not match the group public key/));
  await writeFile(pub, saved);

  // tuning with a wrong type is an error, not silently the default
  const clusterText = await readFile(d.clusterFile, 'utf8');
  const cluster = JSON.parse(clusterText) as Record<string, unknown>;
  await writeFile(d.clusterFile, JSON.stringify({ ...cluster, tuning: { batchSignatures: 'no' } }));
  await assert.rejects(runReplica({ configFile: r1, logLevel: 'silent' }), isConfigError(/tuning\.batchSignatures/));
  for (const cryptoWorkers of ['many', -1, 1.5, 65]) {
    await writeFile(d.clusterFile, JSON.stringify({ ...cluster, tuning: { cryptoWorkers } }));
    await assert.rejects(runReplica({ configFile: r1, logLevel: 'silent' }), isConfigError(/tuning\.cryptoWorkers must be an integer 0\.\.64 or 'auto'/));
  }
  assert.equal(parseClusterConfig({ ...cluster, tuning: { cryptoWorkers: 'auto' } }).tuning.cryptoWorkers, 'auto');
  assert.equal(parseClusterConfig({ ...cluster, tuning: { cryptoWorkers: 3 } }).tuning.cryptoWorkers, 3);
  assert.deepEqual(parseClusterConfig({ ...cluster, tuning: { contactHints: false, readOnlyBusyThreshold: 0 } }).tuning, { contactHints: false, readOnlyBusyThreshold: 0 });
  for (const bad of [{ contactHints: 1 }, { readOnlyBusyThreshold: -1 }, { readOnlyBusyThreshold: 0.5 }, { readOnlyBusyThreshold: 'x' }]) {
    assert.throws(() => parseClusterConfig({ ...cluster, tuning: bad }), /tuning\.(contactHints|readOnlyBusyThreshold)/);
  }
  await writeFile(d.clusterFile, JSON.stringify({ ...cluster, application: 'nope' }));
  await assert.rejects(runReplica({ configFile: r1, logLevel: 'silent' }), isConfigError(/application/));
  await writeFile(d.clusterFile, clusterText);

  // the untouched files load again as a deployment
  const again = await loadDeployment(dir);
  assert.equal(again.replicaFiles.length, 4);
  await assert.rejects(generateDeployment({ dir: join(dir, 'x'), application: 'nope' }), isConfigError(/unknown application/));
});

test("crypto workers 'auto': a free core per replica process on the host, at most 2", () => {
  assert.equal(autoCryptoWorkers(2, 4), 0, 'local cluster of 4 on 2 cores: crypto stays on the event loop');
  assert.equal(autoCryptoWorkers(8, 4), 1);
  assert.equal(autoCryptoWorkers(2, 1), 1, 'one replica on a 2-core host');
  assert.equal(autoCryptoWorkers(16, 1), 2);
  assert.equal(autoCryptoWorkers(1, 1), 0);
  assert.equal(autoCryptoWorkers(4, 0), 2, 'degenerate count treated as 1');
});

test('a missing cluster file is named once in the error', async () => {
  const path = join(tmpdir(), `cart-missing-${process.pid}`, 'cluster.json');
  await assert.rejects(loadClusterConfig(path), (e: unknown) => {
    assert.ok(e instanceof DeployConfigError);
    assert.match(e.message, /^cannot read .*cluster\.json: ENOENT/);
    assert.equal(e.message.split(path).length - 1, 1, e.message);
    return true;
  });
});
