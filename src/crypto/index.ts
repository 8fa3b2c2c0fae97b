/**
 * CART crypto layer — public API. Threshold BLS12-381 (signatures in G1, keys in G2, RFC 9380
 * hash to curve with one CART DST per domain), Merkle batch proofs, key dealing and key files,
 * and an asynchronous service running the crypto on worker threads.
 *
 * Clients that only verify should import `src/crypto/verify.ts` instead (no Node modules, no wasm).
 * See docs/crypto.md for the ciphersuite, file formats and measured figures.
 */
export type {
  BatchItem,
  CombineAndVerifyResult,
  CryptoService,
  CryptoServiceOptions,
  Domain,
  KeySetSpec,
  KeyShare,
  PublicKeySet,
  SignatureShare,
  ThresholdBls,
} from './types.ts';
export { DOMAINS } from './types.ts';
export * from './errors.ts';
export {
  CIPHERSUITE,
  CIPHERSUITE_IDS,
  H2C_SUITE,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  SIGNATURE_BYTES,
  SIGNATURE_GROUP,
  SUITE_VERSION,
  domainSeparationTag,
  isDomain,
} from './suite.ts';
export { bytesEqual, fromHex, toHex } from './encoding.ts';
export { MerkleTree, merkleProof, merkleRoot, verifyMerkleProof, leafHash, nodeHash, MERKLE_HASH_BYTES, type MerkleProof } from './merkle.ts';
export { SecretKeyShare, checkKeyShare, dealKeySets, defaultKeySetSpecs, validatePublicKeySet, type DealOptions } from './dealer.ts';
export { BACKENDS, DEFAULT_BACKEND, FALLBACK_BACKEND, loadThresholdBls, setFallbackWarning, type FallbackWarn } from './backends.ts';
export { createCryptoService } from './service.ts';
export { loadPublicKeyFile, loadSecretKeyFile, writeKeyFiles } from './keyfile.ts';
export { parsePublicKeyFile, publicKeySetFromJson, publicKeySetToJson, type PublicKeySetJson } from './keyset-json.ts';
