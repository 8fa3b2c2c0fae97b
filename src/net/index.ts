/**
 * CART transport library: length-prefixed frames over TCP, reconnecting client connections,
 * a frame server, and the authenticated replica mesh ({@link PeerNetwork}). See
 * `docs/networking.md`.
 */
export * from './errors.ts';
export * from './frame.ts';
export * from './backoff.ts';
export * from './rate-limited-log.ts';
export * from './framed-socket.ts';
export * from './server-limits.ts';
export * from './server.ts';
export * from './connection.ts';
export * from './keys.ts';
export * from './peer-network.ts';
export * from './tcp-peer-network.ts';
export * from './memory-peer-network.ts';
