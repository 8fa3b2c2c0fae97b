/**
 * CART replica — public API: {@link startCartReplica} and the parts it is built from.
 * See docs/protocol.md for the wire protocol and the flows.
 */
export { startCartReplica, CartReplicaConfigError, type CartReplica, type CartReplicaOptions, type CartReplicaKeys, type CartReplicaTuning } from './server.ts';
export { CartApplicationProxy, type AppProxyOptions, type ExecutedBatch, type ExecutedReply, type OrderedRejectReason } from './app-proxy.ts';
export { ShareExchange, domainForKeySet, type ByzantineOptions, type ShareExchangeOptions, type ShareRejectReason, type MisbehaviourKind, type SignedBatch } from './share-exchange.ts';
export { DedupTable, type DedupEntry, type DedupVerdict } from './dedup.ts';
export { RequestVerifier } from './request-verifier.ts';
export { ReplicaMetrics, serveMetrics } from './metrics.ts';
export { SnapshotFormatError } from './bytes.ts';
export { ReadOnlyCoordinator, readOnlyKey, type ReadOnlyOptions, type ReadOnlyStart } from './read-only.ts';
export { Aggregator, type AggregationState, type AggregatorOptions, type CombineOutcome } from './aggregator.ts';
export { WaiterRegistry, type WaiterRegistryOptions } from './waiters.ts';
