/**
 * Byzantine replica behaviours for the PBFT simulation, applied to the faulty replica's
 * outgoing frames (its core runs the correct protocol; the network rewrites what it says).
 */
import type { Authenticator } from './api.ts';
import { batchDigest, decodeMessage, encodeMessage, signedBytes } from './codec.ts';
import type { PbftMessage, PrePrepareMsg } from './messages.ts';
import type { SimRandom } from '../../sim/rng.ts';

/**
 * - `equivocate`: as primary, sends a different (validly signed) PRE-PREPARE to odd backups.
 * - `silent`: sends nothing at all (but keeps receiving).
 * - `liar`: validly signed lies — wrong results in REPLYs, random digests in PREPARE/COMMIT/
 *   CHECKPOINT, tampered batches and snapshots in STATE, inflated progress in STATUS.
 * - `garble`: random bit flips, truncations and junk frames on a third of its messages.
 */
export type ByzantineBehaviour = 'equivocate' | 'silent' | 'liar' | 'garble';

/** Byzantine behaviour of one replica (the others are correct). */
export interface ByzantineSpec {
  readonly replica: number;
  readonly behaviour: ByzantineBehaviour;
}

/**
 * Build a network interceptor `(from, to, bytes) → frames to send instead` for `spec`;
 * frames from other senders pass unchanged.
 */
export function byzantineInterceptor(
  spec: ByzantineSpec,
  auth: Authenticator,
  rng: SimRandom,
): (from: number, to: number, bytes: Uint8Array) => Uint8Array[] {
  const resign = <T extends PbftMessage & { sig: Uint8Array }>(m: T): Uint8Array =>
    encodeMessage({ ...m, sig: auth.sign(signedBytes(m as never)) } as PbftMessage);
  const randomDigest = (): Uint8Array => Uint8Array.from({ length: 32 }, () => rng.int(256));
  return (from, to, bytes) => {
    if (from !== spec.replica) return [bytes];
    switch (spec.behaviour) {
      case 'silent':
        return [];
      case 'garble': {
        if (!rng.chance(1 / 3)) return [bytes];
        const b = bytes.slice();
        const kind = rng.int(3);
        if (kind === 0 && b.length > 0) b[rng.int(b.length)] ^= 1 << rng.int(8);
        if (kind === 1) return [b.slice(0, rng.int(b.length + 1))];
        if (kind === 2) return [Uint8Array.from({ length: rng.int(64) }, () => rng.int(256)), b];
        return [b];
      }
      case 'equivocate':
      case 'liar':
        break;
    }
    let m: PbftMessage;
    try {
      m = decodeMessage(bytes);
    } catch {
      return [bytes];
    }
    if (spec.behaviour === 'equivocate') {
      if (m.type !== 'pre-prepare' || m.batch.length < 2 || to % 2 === 0) return [bytes];
      const batch = [...m.batch].reverse();
      const forged: PrePrepareMsg = { ...m, batch, digest: batchDigest(batch) };
      return [resign(forged)];
    }
    switch (m.type) {
      case 'reply':
        return [resign({ ...m, result: Uint8Array.of(0xba, 0xd0) })];
      case 'prepare':
        return [resign({ ...m, digest: randomDigest() })];
      case 'commit':
        return [encodeMessage({ ...m, digest: randomDigest() })];
      case 'checkpoint':
        return [resign({ ...m, stateDigest: randomDigest() })];
      case 'status':
        return [encodeMessage({ ...m, lastExecuted: m.lastExecuted + 1000n, stableSeq: m.stableSeq + 1000n })];
      case 'state': {
        const snapshot = m.checkpoint ? { ...m.checkpoint, snapshot: Uint8Array.from([...m.checkpoint.snapshot, 1]) } : undefined;
        const batches = m.batches.map((b) => ({ seq: b.seq, batch: [...b.batch].reverse().slice(0, Math.max(0, b.batch.length - 1)) }));
        return [encodeMessage({ ...m, checkpoint: snapshot, batches })];
      }
      default:
        return [bytes];
    }
  };
}
