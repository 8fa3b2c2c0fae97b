/**
 * Built-in PBFT: deterministic core (replica + native client), codec and authenticators.
 * Runtime pieces (TCP node, client transport, config file, CART adapter) live next to these
 * files and build on this API; see `api.ts` for the contract.
 */
export * from './api.ts';
export * from './messages.ts';
export { CODEC_LIMITS, CODEC_VERSION, DecodeError, type DecodeErrorCode, batchDigest, decodeMessage, encodeMessage, sha256, signedBytes } from './codec.ts';
export { Ed25519Authenticator, Ed25519ClientSigner, SimAuthenticator, type Ed25519AuthenticatorOptions } from './auth.ts';
export { PbftReplica } from './replica.ts';
export { PbftConfigError, validateConfig } from './replica-base.ts';
export { PbftClientCore, ClientBusyError, type ClientDropReason } from './client-core.ts';
export { primaryOf } from './certificates.ts';
