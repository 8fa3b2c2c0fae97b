/**
 * Byte-level checks of compressed BLS12-381 point encodings (ZCash format, see
 * draft-irtf-cfrg-pairing-friendly-curves-11 Appendix C.2): flag bits in the top three bits of
 * byte 0 (0x80 compressed, 0x40 infinity, 0x20 sign of y), then big-endian x (G1: 48 bytes;
 * G2: x = x_c1 || x_c0, 96 bytes). These checks run before any library decode so every backend
 * classifies bad input the same way; the library then checks on-curve and subgroup membership.
 *
 * Pure JS, no Node modules: safe for browser bundles.
 */
import { InfinityPointError, MalformedEncodingError } from './errors.ts';

/** The BLS12-381 base field modulus p. */
export const FIELD_P = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaabn;

/** Which group an encoding belongs to: G1 (48 bytes) or G2 (96 bytes). */
export type Group = 'G1' | 'G2';

function bytesToBigInt(b: Uint8Array, start: number, end: number, mask0 = 0xff): bigint {
  let v = BigInt(b[start]! & mask0);
  for (let i = start + 1; i < end; i++) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/**
 * Validates the structure of a compressed point encoding: length, compression flag, canonical
 * infinity, coordinates < p. Does not check on-curve / subgroup (the backend does).
 * @param what - used in error messages, e.g. 'signature share'.
 * @throws MalformedEncodingError — not a Uint8Array, wrong length, uncompressed form, infinity flag
 *   with other bits set, coordinate ≥ p.
 * @throws InfinityPointError — the canonical encoding of the point at infinity.
 */
export function checkCompressedPoint(bytes: unknown, group: Group, what: string): asserts bytes is Uint8Array {
  const len = group === 'G1' ? 48 : 96;
  if (!(bytes instanceof Uint8Array)) throw new MalformedEncodingError(`${what}: expected Uint8Array, got ${typeof bytes}`);
  if (bytes.length !== len) throw new MalformedEncodingError(`${what}: expected ${len} bytes (compressed ${group}), got ${bytes.length}`);
  const b0 = bytes[0]!;
  if ((b0 & 0x80) === 0) throw new MalformedEncodingError(`${what}: compression flag not set`);
  if ((b0 & 0x40) !== 0) {
    if ((b0 & 0x3f) !== 0 || (b0 & 0x20) !== 0) throw new MalformedEncodingError(`${what}: infinity flag with non-zero remaining bits`);
    for (let i = 1; i < len; i++) if (bytes[i] !== 0) throw new MalformedEncodingError(`${what}: infinity flag with non-zero remaining bits`);
    throw new InfinityPointError(`${what}: point at infinity`);
  }
  if (group === 'G1') {
    if (bytesToBigInt(bytes, 0, 48, 0x1f) >= FIELD_P) throw new MalformedEncodingError(`${what}: x coordinate ≥ p`);
  } else {
    if (bytesToBigInt(bytes, 0, 48, 0x1f) >= FIELD_P || bytesToBigInt(bytes, 48, 96) >= FIELD_P) {
      throw new MalformedEncodingError(`${what}: x coordinate ≥ p`);
    }
  }
}

/** Lower-case hex of bytes. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

/**
 * Parses hex (even length, [0-9a-fA-F] only, optional expected byte length).
 * @throws MalformedEncodingError
 */
export function fromHex(s: unknown, expectedBytes?: number, what = 'hex string'): Uint8Array {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new MalformedEncodingError(`${what}: not an even-length hex string`);
  }
  if (expectedBytes !== undefined && s.length !== expectedBytes * 2) {
    throw new MalformedEncodingError(`${what}: expected ${expectedBytes} bytes, got ${s.length / 2}`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Constant-length byte equality (not constant-time; for public data). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
