/** Whole-cluster CART simulator (issue 6): CART clients + replicas + built-in PBFT from one seed. */
export { runClusterSimulation, replayCommand } from './run.ts';
export { planFaults } from './faults.ts';
export { ClusterOracle } from './oracles.ts';
export { SimCartReplica, type SimMsg, type Channel } from './replica.ts';
export { SimClientTransport } from './transport.ts';
export { installVirtualTimers, VirtualTimersError } from './virtual-timers.ts';
export * from './types.ts';
