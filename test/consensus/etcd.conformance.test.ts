/**
 * The adapter conformance suite against the etcd adapter on a real 3-member etcd cluster
 * (started and stopped by each test). Requires the `etcd` binary (Debian: etcd-server); without
 * it every test fails with "install Debian's etcd-server".
 */
import { runConformanceSuite } from './conformance.ts';
import { startEtcdHarness } from '../etcd/harness.ts';

// History kept: a replica restarted with empty state replays the log from revision 1.
runConformanceSuite('etcd (replay)', {
  replicas: 4,
  timeoutMs: 20_000,
  requestsWhileDown: 100,
  start: (proxies) => startEtcdHarness(proxies, { compact: false, checkpointInterval: 1_000_000 }),
});

// Frequent checkpoints + compaction: a restarted replica finds revision 1 compacted and restores
// a stable checkpoint (f+1 = 2 matching digests) from etcd. Small log entries (maxBatchBytes)
// make many revisions, so checkpoints and compactions happen during the suite.
runConformanceSuite('etcd (compaction + state transfer)', {
  replicas: 4,
  timeoutMs: 20_000,
  requestsWhileDown: 100,
  start: (proxies) => startEtcdHarness(proxies, { checkpointInterval: 8, snapshotQuorum: 2, maxInFlight: 2, maxBatchBytes: 48 }),
});
