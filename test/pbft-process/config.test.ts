import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, generateLocalCluster, parseClusterConfig, protocolConfig, peerAddresses, peerMaxMessageBytes, STATE_MESSAGE_HEADROOM_BYTES } from '../../src/consensus/pbft/config.ts';
import { defaultPbftConfig } from '../../src/consensus/pbft/api.ts';
import { PbftConfigError, validateConfig } from '../../src/consensus/pbft/replica-base.ts';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../src/net/index.ts';

test('generated local cluster validates, has n = 3f+1 distinct free ports, and round-trips through JSON', async () => {
  const g = await generateLocalCluster({ f: 1, clients: ['c1'], protocol: { batchMaxSize: 8 } });
  assert.equal(g.config.replicas.length, 4);
  const ports = g.config.replicas.flatMap((r) => [r.peerPort, r.clientPort]);
  assert.equal(new Set(ports).size, 8);
  assert.ok(ports.every((p) => p > 0));
  const again = parseClusterConfig(JSON.parse(JSON.stringify(g.config)));
  assert.deepEqual(again, g.config);
  assert.equal(protocolConfig(again).batchMaxSize, 8);
  assert.equal(protocolConfig(again).n, 4);
  assert.deepEqual(peerAddresses(again).map((p) => p.id), [0, 1, 2, 3]);
  assert.equal(g.replicaKeys.length, 4);
  assert.ok(g.clientKeys['c1']);
});

test('config validation rejects n != 3f+1, bad ids, bad keys, unknown settings', async () => {
  const g = await generateLocalCluster({ f: 1, ports: 0 });
  const base = JSON.parse(JSON.stringify(g.config));
  const bad = (mut: (c: any) => void, pattern: RegExp): void => {
    const c = JSON.parse(JSON.stringify(base));
    mut(c);
    assert.throws(() => parseClusterConfig(c), (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
  };
  bad((c) => c.replicas.pop(), /3f\+1/);
  bad((c) => (c.f = 2), /3f\+1/);
  bad((c) => (c.replicas[3].id = 7), /0\.\.3/);
  bad((c) => (c.replicas[1].publicKey = 'AAAA'), /publicKey/);
  bad((c) => (c.replicas[0].peerPort = 70000), /peerPort/);
  bad((c) => (c.protocol = { batchSize: 3 }), /unknown protocol setting/);
  bad((c) => (c.clients = [{ id: 'x', publicKey: base.replicas[0].publicKey }, { id: 'x', publicKey: base.replicas[0].publicKey }]), /duplicate/);
  assert.throws(() => parseClusterConfig(null), ConfigError);
});

test('the replica mesh message limit covers a maxSnapshotBytes snapshot; snapshots above the 1 GiB codec bound are refused', () => {
  // default: a 256 MiB snapshot plus headroom (above the transport's 256 MiB default)
  assert.equal(peerMaxMessageBytes(defaultPbftConfig(1)), (256 << 20) + STATE_MESSAGE_HEADROOM_BYTES);
  assert.equal(peerMaxMessageBytes(defaultPbftConfig(1, { maxSnapshotBytes: 1 << 20 })), DEFAULT_MAX_MESSAGE_BYTES, 'never below the transport default');
  assert.equal(peerMaxMessageBytes(defaultPbftConfig(1, { maxSnapshotBytes: 512 << 20 })), (512 << 20) + STATE_MESSAGE_HEADROOM_BYTES);
  assert.ok(peerMaxMessageBytes(defaultPbftConfig(1, { maxSnapshotBytes: 1 << 30 })) < 2 ** 32);
  validateConfig(defaultPbftConfig(1, { maxSnapshotBytes: 1 << 30 }));
  assert.throws(() => validateConfig(defaultPbftConfig(1, { maxSnapshotBytes: (1 << 30) + 1 })), PbftConfigError);
});
