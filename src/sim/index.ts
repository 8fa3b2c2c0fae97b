/** Generic deterministic simulation toolkit: seeded randomness, virtual-time scheduler, network. */
export { SimRandom } from './rng.ts';
export { Scheduler, SimTimers, SimulationError, type EventHandle } from './scheduler.ts';
export { SimNetwork, RELIABLE, type LinkFaults, type NetworkStats } from './network.ts';
