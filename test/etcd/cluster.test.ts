/** The local etcd cluster launcher: missing binary, member stop/restart, cleanup. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { EtcdNotInstalledError, startEtcdCluster } from '../../src/consensus/etcd/index.ts';

test('a missing etcd binary fails with a clear, typed error naming the Debian package', async () => {
  await assert.rejects(startEtcdCluster({ binary: '/nonexistent/etcd' }), (e: unknown) => {
    assert.ok(e instanceof EtcdNotInstalledError);
    assert.match(e.message, /apt-get install etcd-server/);
    return true;
  });
});

test('cluster: distinct loopback ports, a killed member restarts healthy, close kills all; a given dataDir restarts the same cluster', async () => {
  const parent = await mkdtemp(join(tmpdir(), 'cart-etcd-cluster-'));
  const dataDir = join(parent, 'given');
  const cluster = await startEtcdCluster({ members: 3, dataDir });
  try {
    const ports = cluster.endpoints.map((u) => new URL(u).port);
    assert.equal(new Set(ports).size, 3);
    assert.ok(cluster.endpoints.every((u) => u.startsWith('http://127.0.0.1:')));
    assert.ok(!ports.includes('2379'));
    await cluster.stopMember(1);
    assert.equal(cluster.isRunning(1), false);
    const down = await fetch(`${cluster.endpoints[1]}/health`).then(() => 'up', () => 'down');
    assert.equal(down, 'down');
    await cluster.restartMember(1);
    assert.equal(cluster.isRunning(1), true);
    const health = (await (await fetch(`${cluster.endpoints[1]}/health`)).json()) as { health: string };
    assert.equal(health.health, 'true');
    assert.throws(() => cluster.isRunning(7), RangeError);
    const client = new Etcd3({ hosts: [...cluster.endpoints] });
    try {
      await client.put('kept').value('yes');
    } finally {
      client.close();
    }
  } finally {
    await cluster.close();
    await cluster.close(); // idempotent
  }
  assert.deepEqual([0, 1, 2].map((i) => cluster.isRunning(i)), [false, false, false]);
  assert.ok(existsSync(join(dataDir, 'member-0')), 'a given dataDir is kept');

  // Starting again on the same dataDir restarts the same cluster: same ports, data kept.
  const again = await startEtcdCluster({ members: 3, dataDir });
  try {
    assert.deepEqual(again.endpoints, cluster.endpoints);
    const client = new Etcd3({ hosts: [...again.endpoints] });
    try {
      assert.equal(await client.get('kept').string(), 'yes');
    } finally {
      client.close();
    }
  } finally {
    await again.close();
  }
  await assert.rejects(startEtcdCluster({ members: 5, dataDir }), /3-member etcd cluster, not 5/);
  await rm(parent, { recursive: true, force: true });
});
