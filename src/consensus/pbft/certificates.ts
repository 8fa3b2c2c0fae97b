/**
 * Validation of PBFT certificates and the deterministic NEW-VIEW computation (Castro & Liskov,
 * ACM TOCS 2002: §4.3 checkpoint proofs, §4.4 prepared certificates, VIEW-CHANGE and NEW-VIEW).
 * Pure functions of their inputs and the injected {@link Authenticator}.
 */
import type { Authenticator, PbftConfig } from './api.ts';
import { batchDigest, bytesEqual, signedBytes, toHex } from './codec.ts';
import type { CheckpointMsg, NewViewMsg, PreparedCert, RequestMsg, ViewChangeMsg } from './messages.ts';

/** Context the validators need. */
export interface CertContext {
  readonly config: PbftConfig;
  readonly auth: Authenticator;
}

/** Primary of view `v` (§4.1): replica v mod n. */
export function primaryOf(view: bigint, n: number): number {
  return Number(view % BigInt(n));
}

/** 2f+1. */
export function quorum(config: PbftConfig): number {
  return 2 * config.f + 1;
}

/**
 * Check a stable-checkpoint proof: at least 2f+1 CHECKPOINTs from distinct replicas for `seq`
 * with one common digest, each correctly signed.
 * @returns the certified state digest, or undefined if the proof is invalid
 */
export function verifyCheckpointProof(
  ctx: CertContext,
  seq: bigint,
  proof: readonly CheckpointMsg[],
): Uint8Array | undefined {
  const { n } = ctx.config;
  if (proof.length < quorum(ctx.config) || proof.length > n) return undefined;
  const first = proof[0]!;
  const seen = new Set<number>();
  for (const c of proof) {
    if (c.seq !== seq || c.replica >= n || seen.has(c.replica)) return undefined;
    if (!bytesEqual(c.stateDigest, first.stateDigest)) return undefined;
    seen.add(c.replica);
  }
  for (const c of proof) if (!ctx.auth.verify(c.replica, signedBytes(c), c.sig)) return undefined;
  return first.stateDigest;
}

/**
 * Check a prepared certificate: PRE-PREPARE signed by the primary of its view, batch matches
 * the digest, and ≥ 2f PREPAREs from distinct backups (not the primary) for the same
 * (view, seq, digest), each correctly signed.
 */
export function verifyPreparedCert(ctx: CertContext, cert: PreparedCert): boolean {
  const { n, f } = ctx.config;
  const pp = cert.prePrepare;
  const primary = primaryOf(pp.view, n);
  if (pp.replica !== primary) return false;
  if (cert.prepares.length < 2 * f || cert.prepares.length > n - 1) return false;
  if (!bytesEqual(batchDigest(pp.batch), pp.digest)) return false;
  const seen = new Set<number>();
  for (const p of cert.prepares) {
    if (p.view !== pp.view || p.seq !== pp.seq || !bytesEqual(p.digest, pp.digest)) return false;
    if (p.replica === primary || p.replica >= n || seen.has(p.replica)) return false;
    seen.add(p.replica);
  }
  if (!ctx.auth.verify(pp.replica, signedBytes(pp), pp.sig)) return false;
  for (const p of cert.prepares) if (!ctx.auth.verify(p.replica, signedBytes(p), p.sig)) return false;
  return true;
}

/**
 * Check a VIEW-CHANGE message: signature of its sender, checkpoint proof for `stableSeq`
 * (none when 0), prepared certificates for distinct sequence numbers in
 * (stableSeq, stableSeq + L] from views below `newView`.
 */
export function verifyViewChange(ctx: CertContext, vc: ViewChangeMsg): boolean {
  const { n, watermarkWindow } = ctx.config;
  if (vc.replica >= n) return false;
  if (vc.stableSeq === 0n) {
    if (vc.checkpointProof.length !== 0) return false;
  } else if (!verifyCheckpointProof(ctx, vc.stableSeq, vc.checkpointProof)) {
    return false;
  }
  const seqs = new Set<bigint>();
  for (const c of vc.prepared) {
    const s = c.prePrepare.seq;
    if (s <= vc.stableSeq || s > vc.stableSeq + BigInt(watermarkWindow) || seqs.has(s)) return false;
    if (c.prePrepare.view >= vc.newView) return false;
    seqs.add(s);
  }
  if (!ctx.auth.verify(vc.replica, signedBytes(vc), vc.sig)) return false;
  for (const c of vc.prepared) if (!verifyPreparedCert(ctx, c)) return false;
  return true;
}

/** One re-proposal of a NEW-VIEW: the batch for `seq` (empty = null request). */
export interface Reproposal {
  readonly seq: bigint;
  readonly digest: Uint8Array;
  readonly batch: readonly RequestMsg[];
}

/** The deterministic content O of a NEW-VIEW computed from V (§4.4). */
export interface NewViewPlan {
  /** min-s: the latest stable checkpoint among V. */
  readonly minS: bigint;
  /** The VIEW-CHANGE carrying that checkpoint's proof (undefined when minS = 0). */
  readonly checkpointFrom: ViewChangeMsg | undefined;
  /** max-s: highest prepared sequence number in V (≥ minS). */
  readonly maxS: bigint;
  /** One entry per seq in (minS, maxS], ascending. */
  readonly reproposals: readonly Reproposal[];
}

const NULL_DIGEST = batchDigest([]);

/**
 * Compute O from a set V of (already validated) VIEW-CHANGEs: for every seq in (min-s, max-s]
 * the batch of the prepared certificate with the highest view, else a null request.
 */
export function planNewView(viewChanges: readonly ViewChangeMsg[]): NewViewPlan {
  let minS = 0n;
  let checkpointFrom: ViewChangeMsg | undefined;
  for (const vc of viewChanges) {
    if (vc.stableSeq > minS) {
      minS = vc.stableSeq;
      checkpointFrom = vc;
    }
  }
  let maxS = minS;
  const best = new Map<bigint, PreparedCert>();
  for (const vc of viewChanges) {
    for (const c of vc.prepared) {
      const s = c.prePrepare.seq;
      if (s <= minS) continue;
      if (s > maxS) maxS = s;
      const cur = best.get(s);
      if (!cur || c.prePrepare.view > cur.prePrepare.view) best.set(s, c);
    }
  }
  const reproposals: Reproposal[] = [];
  for (let s = minS + 1n; s <= maxS; s++) {
    const c = best.get(s);
    reproposals.push(
      c ? { seq: s, digest: c.prePrepare.digest, batch: c.prePrepare.batch } : { seq: s, digest: NULL_DIGEST, batch: [] },
    );
  }
  return { minS, checkpointFrom, maxS, reproposals };
}

/**
 * Validate a NEW-VIEW (§4.4): sent and signed by the primary of its view, V holds 2f+1 valid
 * VIEW-CHANGEs for that view from distinct replicas, and O equals {@link planNewView}(V) with
 * every PRE-PREPARE signed by the new primary.
 * @returns the plan, or undefined if the NEW-VIEW is invalid
 */
export function verifyNewView(ctx: CertContext, nv: NewViewMsg): NewViewPlan | undefined {
  const { n } = ctx.config;
  if (nv.replica !== primaryOf(nv.view, n)) return undefined;
  if (nv.viewChanges.length < quorum(ctx.config) || nv.viewChanges.length > n) return undefined;
  const seen = new Set<number>();
  for (const vc of nv.viewChanges) {
    if (vc.newView !== nv.view || seen.has(vc.replica)) return undefined;
    seen.add(vc.replica);
  }
  if (!ctx.auth.verify(nv.replica, signedBytes(nv), nv.sig)) return undefined;
  for (const vc of nv.viewChanges) if (!verifyViewChange(ctx, vc)) return undefined;
  const plan = planNewView(nv.viewChanges);
  if (nv.prePrepares.length !== plan.reproposals.length) return undefined;
  for (let i = 0; i < plan.reproposals.length; i++) {
    const want = plan.reproposals[i]!;
    const pp = nv.prePrepares[i]!;
    if (pp.view !== nv.view || pp.seq !== want.seq || pp.replica !== nv.replica) return undefined;
    if (!bytesEqual(pp.digest, want.digest) || !bytesEqual(batchDigest(pp.batch), pp.digest)) return undefined;
    if (!ctx.auth.verify(pp.replica, signedBytes(pp), pp.sig)) return undefined;
  }
  return plan;
}

/** Map key of a client request. */
export function requestKey(clientId: string, requestId: bigint): string {
  return `${requestId}@${clientId}`;
}

/** Hex of a digest, for map keys. */
export const digestKey = toHex;
