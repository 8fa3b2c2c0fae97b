/**
 * CART client — public API. `connect({ replicas, publicKeySets | groupPublicKey })` returns a
 * {@link CartClient} with `invoke` / `invokeReadOnly`. See docs/protocol.md.
 */
export { CartClient, connect, type CartClientOptions, type CartClientStats } from './client.ts';
export * from './errors.ts';
export { createClientIdentity, signRequest, type ClientIdentity } from './identity.ts';
// Node-only: `createNodeClientIdentity` from './node-identity.ts' (not re-exported: browser-safe index)
export { ReplyVerifier, defaultSignatureVerifier, domainOfKeySet, type SignatureVerifier, type ReplyRejectReason, type ExpectedReply, type ReplyVerdict } from './reply-verifier.ts';
export type { ClientTransport, ReplicaEndpoint, TransportConnection, TransportHandlers } from './transport.ts';
