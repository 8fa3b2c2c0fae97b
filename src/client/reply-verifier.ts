/**
 * Client-side reply verification (issue 4 §what is signed, issue 5 §batch signatures).
 *
 * A reply is accepted only if (1) it names this client, this request id and the expected key
 * set, (2) its Merkle proof shows that the reply digest this client computes itself — from its
 * own operation digest and the received result — is a leaf under `root`, and (3) the group
 * signature over `batchRootMessage(keySet, sequence, root, leafCount)` verifies under the key
 * set's group public key. Verified roots are cached (bounded), and concurrent checks of the
 * same root share one pairing check, so k replies from one batch cost one pairing check.
 */
import { batchVerifySignatures, verifyMerkleProof, verifySignature, type BatchItem, type Domain } from '../crypto/verify.ts';
import type { CartReply } from '../wire/codec.ts';
import { batchRootMessage, bytesEqual, ORDERED_KEY_SET, replyDigest, toHex } from '../wire/digest.ts';

/** Verifies BLS group signatures; may be asynchronous (e.g. a worker pool). */
export interface SignatureVerifier {
  verify(groupPublicKey: Uint8Array, domain: Domain, message: Uint8Array, signature: Uint8Array): boolean | Promise<boolean>;
  /**
   * Optional: all items valid (random linear combination; with one group key this costs about
   * one pairing check for any number of items). Used when several replies arrive together.
   */
  batchVerify?(items: readonly BatchItem[]): boolean | Promise<boolean>;
}

/** The default verifier: pure-JS pairing checks from `src/crypto/verify.ts` (browser-safe). */
export const defaultSignatureVerifier: SignatureVerifier = { verify: verifySignature, batchVerify: batchVerifySignatures };

interface QueuedCheck {
  readonly item: BatchItem;
  readonly resolve: (ok: boolean) => void;
}

/** Why a reply was rejected. */
export type ReplyRejectReason =
  | 'malformed'
  | 'unknown-request'
  | 'wrong-client'
  | 'wrong-key-set'
  | 'bad-proof'
  | 'bad-signature';

/** What the client expects a reply to be about. */
export interface ExpectedReply {
  readonly keySet: string;
  readonly clientId: Uint8Array;
  readonly requestId: bigint;
  /** SHA-256 of the operation the client sent. */
  readonly operationDigest: Uint8Array;
}

/** Verdict of {@link ReplyVerifier.check}. */
export type ReplyVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: ReplyRejectReason };

/** Signature domain of a key set's batch roots (must match the replica's choice). */
export function domainOfKeySet(keySet: string): Domain {
  return keySet === ORDERED_KEY_SET ? 'batch-root' : 'readonly-reply';
}

/** See the module comment. */
export class ReplyVerifier {
  private readonly verified = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<boolean>>();
  /** Pairing checks performed (signature verifications not answered from the cache). */
  pairingChecks = 0;
  /** Replies whose root was already verified. */
  cacheHits = 0;
  /** Batch verifications (each covering several distinct roots) and the roots they covered. */
  batchChecks = 0;
  batchedRoots = 0;
  private queue: QueuedCheck[] = [];

  /**
   * @param groupKeys group public key per key set name
   * @param signatures signature verifier
   * @param cacheSize verified roots kept (default 4096)
   * @param batching verify distinct roots of replies that arrive together in one batch check (default true)
   */
  constructor(
    private readonly groupKeys: ReadonlyMap<string, Uint8Array>,
    private readonly signatures: SignatureVerifier = defaultSignatureVerifier,
    private readonly cacheSize = 4096,
    private readonly batching = true,
  ) {}

  /** Queue one signature check; checks queued in the same turn are verified together. */
  private verifySignature(item: BatchItem): Promise<boolean> {
    if (!this.batching || !this.signatures.batchVerify) {
      this.pairingChecks++;
      return Promise.resolve().then(() => this.signatures.verify(item.publicKey, item.domain, item.message, item.signature));
    }
    return new Promise<boolean>((resolve) => {
      this.queue.push({ item, resolve });
      if (this.queue.length === 1) queueMicrotask(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const checks = this.queue;
    this.queue = [];
    if (checks.length > 1) {
      this.pairingChecks++;
      this.batchChecks++;
      this.batchedRoots += checks.length;
      let ok = false;
      try {
        ok = await this.signatures.batchVerify!(checks.map((c) => c.item));
      } catch {
        ok = false;
      }
      if (ok) {
        for (const c of checks) c.resolve(true);
        return;
      }
      // some item is bad: fall back to one check per item (only while someone misbehaves)
    }
    for (const c of checks) {
      this.pairingChecks++;
      let ok = false;
      try {
        ok = await this.signatures.verify(c.item.publicKey, c.item.domain, c.item.message, c.item.signature);
      } catch {
        ok = false;
      }
      c.resolve(ok);
    }
  }

  /** Check `reply` against what the client expects. Never throws. */
  async check(reply: CartReply, expected: ExpectedReply): Promise<ReplyVerdict> {
    if (reply.requestId !== expected.requestId) return { ok: false, reason: 'unknown-request' };
    if (!bytesEqual(reply.clientId, expected.clientId)) return { ok: false, reason: 'wrong-client' };
    if (reply.keySet !== expected.keySet) return { ok: false, reason: 'wrong-key-set' };
    const groupKey = this.groupKeys.get(reply.keySet);
    if (!groupKey) return { ok: false, reason: 'wrong-key-set' };
    let leaf: Uint8Array;
    try {
      leaf = replyDigest({ keySet: reply.keySet, clientId: expected.clientId, requestId: expected.requestId, operationDigest: expected.operationDigest, result: reply.result });
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (!verifyMerkleProof(reply.root, leaf, { index: reply.leafIndex, size: reply.leafCount, path: [...reply.proof] })) {
      return { ok: false, reason: 'bad-proof' };
    }
    const message = batchRootMessage(reply.keySet, reply.sequence, reply.root, reply.leafCount);
    const msgKey = `${reply.keySet}/${toHex(message)}`;
    const sigHex = toHex(reply.groupSignature);
    if (this.verified.get(msgKey) === sigHex) {
      this.cacheHits++;
      return { ok: true };
    }
    const flightKey = `${msgKey}/${sigHex}`;
    let p = this.inflight.get(flightKey);
    if (p) this.cacheHits++;
    else {
      p = this.verifySignature({ publicKey: groupKey, domain: domainOfKeySet(reply.keySet), message, signature: reply.groupSignature })
        .catch(() => false)
        .finally(() => this.inflight.delete(flightKey));
      this.inflight.set(flightKey, p);
    }
    const ok = await p;
    if (!ok) return { ok: false, reason: 'bad-signature' };
    this.verified.set(msgKey, sigHex);
    if (this.verified.size > this.cacheSize) this.verified.delete(this.verified.keys().next().value as string);
    return { ok: true };
  }
}
