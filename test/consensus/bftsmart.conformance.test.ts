/**
 * The adapter conformance suite on a real 4-replica BFT-SMaRt cluster (one glue JVM per
 * replica). Needs BFTSMART_HOME (a BFT-SMaRt build); skipped with the reason otherwise.
 * Checkpoint period 2 consensus instances, so a restarted replica installs a snapshot (state
 * transfer) instead of only replaying BFT-SMaRt's log — and often restarts into a cluster idle
 * exactly at a checkpoint (BFT-SMaRt then serves the state only after the next decision).
 */
import { test } from 'node:test';
import { runConformanceSuite } from './conformance.ts';
import { SKIP_REASON, startBftSmartHarness } from '../bftsmart/harness.ts';

if (SKIP_REASON !== false) {
  test('consensus adapter conformance: bftsmart', { skip: SKIP_REASON }, () => {});
} else {
  runConformanceSuite('bftsmart', {
    replicas: 4,
    // JVM start (12–14 s on an idle machine) plus leader change (request timeout 2 s) on a
    // shared 2-core machine.
    timeoutMs: 120_000,
    requestsWhileDown: 200,
    expectStateTransfer: true,
    start: (proxies) => startBftSmartHarness(proxies, { systemOverrides: { 'system.totalordermulticast.checkpoint_period': '2' } }),
  });
}
