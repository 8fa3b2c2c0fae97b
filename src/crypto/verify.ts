/**
 * Verify-only entry point for CART clients (Node or browser bundles): no Node built-ins, no
 * wasm, only @noble/curves and @noble/hashes. A client needs the group public key (or the
 * public key file) and this module.
 *
 *   import { verifySignature, verifyMerkleProof } from 'cart/src/crypto/verify.ts';
 *   verifySignature(groupPublicKey, 'ordered-reply', replyDigest, signature) // → boolean
 *
 * Decoded group public keys are cached with their Miller-loop precomputation, so repeated
 * verification under the same key costs one double Miller loop + one final exponentiation.
 */
import { nobleCurveOps } from './backend-noble.ts';
import { GenericThresholdBls } from './threshold.ts';
import type { BatchItem, Domain } from './types.ts';

export type { BatchItem, Domain, PublicKeySet, SignatureShare } from './types.ts';
export { MerkleTree, merkleRoot, verifyMerkleProof, leafHash, nodeHash, type MerkleProof } from './merkle.ts';
export { CIPHERSUITE, CIPHERSUITE_IDS, H2C_SUITE, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, domainSeparationTag, isDomain } from './suite.ts';
export { fromHex, toHex, bytesEqual } from './encoding.ts';
export * from './errors.ts';
export { parsePublicKeyFile, publicKeySetFromJson, publicKeySetToJson, type PublicKeySetJson } from './keyset-json.ts';

let verifier: GenericThresholdBls<unknown, unknown> | undefined;
function get(): GenericThresholdBls<unknown, unknown> {
  verifier ??= new GenericThresholdBls(nobleCurveOps()) as unknown as GenericThresholdBls<unknown, unknown>;
  return verifier;
}

/**
 * Verifies a (group) BLS signature: e(σ, g2) = e(H_domain(message), P).
 * @param groupPublicKey - compressed G2 point, 96 bytes.
 * @param signature - compressed G1 point, 48 bytes.
 * @returns false — never throws — for a wrong signature and for malformed, infinity or
 *   out-of-subgroup encodings.
 */
export function verifySignature(groupPublicKey: Uint8Array, domain: Domain, message: Uint8Array, signature: Uint8Array): boolean {
  return get().verify(groupPublicKey, domain, message, signature);
}

/** Batch verification with random weights (see ThresholdBls.batchVerify); false on any bad item. */
export function batchVerifySignatures(items: readonly BatchItem[]): boolean {
  return get().batchVerify(items);
}

/**
 * Decodes and validates a group public key once (throws typed errors), so that later
 * verification errors cannot be caused by the key.
 * @throws MalformedEncodingError, InfinityPointError, InvalidPointError
 */
export function checkPublicKey(groupPublicKey: Uint8Array): void {
  get().preparePublicKey(groupPublicKey, 'group public key');
}

/**
 * Decodes and validates a signature (infinity, on-curve, subgroup).
 * @throws MalformedEncodingError, InfinityPointError, InvalidPointError
 */
export function checkSignature(signature: Uint8Array): void {
  get().decodeSignature(signature);
}
