/**
 * CART's BLS ciphersuite: BLS12-381, signatures in G1 (48 bytes), public keys in G2 (96 bytes),
 * hash to G1 per RFC 9380 §8.8.1 suite `BLS12381G1_XMD:SHA-256_SSWU_RO_`, one domain separation
 * tag (DST, RFC 9380 §3.1) per {@link Domain}. Tag format follows draft-irtf-cfrg-bls-signature-05
 * §4.2 ("<app>_<h2c suite>"): `CART-V1-<DOMAIN>_BLS12381G1_XMD:SHA-256_SSWU_RO_`.
 *
 * Pure data, no I/O: safe for browser bundles.
 */
import type { Domain } from './types.ts';

/** The RFC 9380 hash-to-curve suite used for every domain. */
export const H2C_SUITE = 'BLS12381G1_XMD:SHA-256_SSWU_RO_';
/** Version tag of the CART ciphersuite and of the key file format. */
export const SUITE_VERSION = 1;
/** Human-readable ciphersuite name recorded in key files. */
export const CIPHERSUITE = 'CART-V1-THRESHOLD-BLS12381-MINSIG';
/** The group signatures live in. */
export const SIGNATURE_GROUP = 'G1' as const;
/** Compressed signature length in bytes (G1). */
export const SIGNATURE_BYTES = 48;
/** Compressed public key length in bytes (G2). */
export const PUBLIC_KEY_BYTES = 96;
/** Secret scalar length in bytes (big-endian Fr element). */
export const SECRET_KEY_BYTES = 32;

/** The ciphersuite string (= RFC 9380 DST, ASCII) of each domain. */
export const CIPHERSUITE_IDS: Readonly<Record<Domain, string>> = Object.freeze({
  'ordered-reply': `CART-V1-ORDERED-REPLY_${H2C_SUITE}`,
  'readonly-reply': `CART-V1-READONLY-REPLY_${H2C_SUITE}`,
  'batch-root': `CART-V1-BATCH-ROOT_${H2C_SUITE}`,
  pop: `CART-V1-POP_${H2C_SUITE}`,
});

const encoder = new TextEncoder();
const DST_BYTES: Readonly<Record<Domain, Uint8Array>> = Object.freeze({
  'ordered-reply': encoder.encode(CIPHERSUITE_IDS['ordered-reply']),
  'readonly-reply': encoder.encode(CIPHERSUITE_IDS['readonly-reply']),
  'batch-root': encoder.encode(CIPHERSUITE_IDS['batch-root']),
  pop: encoder.encode(CIPHERSUITE_IDS.pop),
});

/** True iff `d` is one of the four domains (guards untrusted strings, e.g. from a worker message). */
export function isDomain(d: unknown): d is Domain {
  return d === 'ordered-reply' || d === 'readonly-reply' || d === 'batch-root' || d === 'pop';
}

/**
 * The DST bytes of a domain (ASCII of {@link CIPHERSUITE_IDS}). Do not mutate the result.
 * @throws TypeError for an unknown domain (a programming error, not bad input).
 */
export function domainSeparationTag(domain: Domain): Uint8Array {
  if (!isDomain(domain)) throw new TypeError(`unknown signature domain ${JSON.stringify(domain)}`);
  return DST_BYTES[domain];
}
