/**
 * The adapter conformance suite against the etcd adapter on a real 3-member etcd cluster
 * (started and stopped by each test). Requires the `etcd` binary (Debian: etcd-server); without
 * it every test fails with "install Debian's etcd-server".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runConformanceSuite, type ConformanceCluster } from './conformance.ts';
import { startEtcdHarness, type HarnessAdapterOptions } from '../etcd/harness.ts';
import type { ApplicationProxy } from '../../src/consensus/adapter.ts';
import type { EtcdAdapter } from '../../src/consensus/etcd/index.ts';

/** Adapters created by the suite's restarts, per configuration (inspected after the suite). */
const restarted: Record<string, EtcdAdapter[]> = { replay: [], compaction: [] };

function factory(name: string, options: HarnessAdapterOptions, requestsWhileDown = 100) {
  return {
    replicas: 4,
    timeoutMs: 20_000,
    requestsWhileDown,
    async start(proxies: readonly ApplicationProxy[]): Promise<ConformanceCluster> {
      const h = await startEtcdHarness(proxies, options);
      return {
        ...h,
        async restartReplica(i: number, proxy: ApplicationProxy) {
          await h.restartReplica(i, proxy);
          restarted[name]!.push(h.adapter(i));
        },
      };
    },
  };
}

// History kept: a replica restarted with empty state replays the log from revision 1.
runConformanceSuite('etcd (replay)', factory('replay', { compact: false, checkpointInterval: 1_000_000 }));

// Frequent checkpoints + compaction: a restarted replica finds revision 1 compacted and restores
// a stable checkpoint (f+1 = 2 matching digests) from etcd. Small log entries (maxBatchBytes)
// make many revisions, so checkpoints and compactions happen during the suite.
runConformanceSuite(
  'etcd (compaction + state transfer)',
  factory('compaction', { checkpointInterval: 8, retainRevisions: 24, snapshotQuorum: 2, maxInFlight: 2, maxBatchBytes: 32 }, 200),
);

test('the two etcd configurations exercised replay and state transfer respectively', () => {
  assert.ok(restarted['replay']!.length > 0 && restarted['compaction']!.length > 0);
  assert.ok(restarted['replay']!.every((a) => a.stats().stateTransfers === 0), 'replay config never transfers state');
  assert.ok(restarted['compaction']!.some((a) => a.stats().stateTransfers > 0), 'compaction config transferred state');
});
