/**
 * Oracles of the whole-cluster simulation:
 *  1. agreement — all correct replicas deliver the same batch at each sequence number and
 *     compute the same result for each request;
 *  2. sequential execution — re-executing the agreed sequence on a fresh application proxy and
 *     KV store gives exactly the results clients accepted (and the replicas computed);
 *  3. linearizability of the clients' KV history ({@link checkKvHistory}); read-only-path
 *     results must equal the operation's result in some state of the agreed sequence (a
 *     committed prefix — the path's documented guarantee, checked also with Byzantine replicas);
 *  4. bounded memory — the PBFT log and the front ends' tables stay within fixed bounds.
 */
import { KvStore } from '../../apps/kv.ts';
import { CartApplicationProxy } from '../../replica/app-proxy.ts';
import { decodeClientFrame } from '../../wire/codec.ts';
import { clientIdOf, toHex } from '../../wire/digest.ts';
import { createHash } from 'node:crypto';

const MAX_VIOLATIONS = 20;

/** Collects delivered batches and accepted replies and checks them. */
export class ClusterOracle {
  readonly violations: string[] = [];
  /** sequence → digest of the batch and its requests, as first delivered by a correct replica. */
  private readonly batches = new Map<bigint, { digest: string; requests: readonly Uint8Array[]; by: number }>();
  /** request key (clientHex:requestId) → result hex computed by correct replicas. */
  private readonly results = new Map<string, { result: string; by: number }>();
  /** request key → accepted result hex, per client. */
  private readonly accepted = new Map<string, string>();
  /** Read-only-path results accepted by clients: operation bytes and result hex. */
  private readonly readOnly: Array<{ what: string; operation: Uint8Array; result: string }> = [];

  constructor(private readonly isCorrect: (replica: number) => boolean) {}

  /** Record a violation (bounded list). */
  violation(msg: string): void {
    if (this.violations.length < MAX_VIOLATIONS) this.violations.push(msg);
  }

  /** A replica delivered `requests` at `sequence` and CART computed `results`. */
  delivered(replica: number, sequence: bigint, requests: readonly Uint8Array[], results: readonly Uint8Array[]): void {
    if (!this.isCorrect(replica)) return;
    const h = createHash('sha256');
    for (const r of requests) h.update(String(r.length)).update(':').update(r);
    const digest = h.digest('hex');
    const prev = this.batches.get(sequence);
    if (prev === undefined) this.batches.set(sequence, { digest, requests: requests.map((r) => Uint8Array.from(r)), by: replica });
    else if (prev.digest !== digest) this.violation(`AGREEMENT: replicas ${prev.by} and ${replica} delivered different batches at sequence ${sequence}`);
    requests.forEach((bytes, i) => {
      const key = requestKey(bytes);
      if (key === undefined || results[i]!.length === 0) return;
      const res = toHex(results[i]!);
      const had = this.results.get(key);
      if (had === undefined) this.results.set(key, { result: res, by: replica });
      else if (had.result !== res) this.violation(`AGREEMENT: replicas ${had.by} and ${replica} computed different results for request ${key}`);
    });
  }

  /** A client accepted `result` for its request `requestId`. */
  accept(clientId: Uint8Array, requestId: bigint, result: Uint8Array): void {
    this.accepted.set(`${toHex(clientId)}:${requestId}`, toHex(result));
  }

  /** A client accepted `result` for `operation` on the read-only path. */
  acceptReadOnly(what: string, operation: Uint8Array, result: Uint8Array): void {
    this.readOnly.push({ what, operation: Uint8Array.from(operation), result: toHex(result) });
  }

  /**
   * Re-execute the agreed sequence on a fresh proxy + KV store; every accepted reply must equal
   * the reference result (oracle 2). Call once at the end.
   */
  checkSequential(): void {
    const store = new KvStore();
    const ref = new CartApplicationProxy(store);
    const reference = new Map<string, string>();
    // Possible read-only results: the operation evaluated in every state of the sequence.
    const possible = this.readOnly.map(() => new Set<string>());
    const evaluate = (): void => {
      this.readOnly.forEach((r, i) => {
        const out = store.executeReadOnly(r.operation);
        if (out !== undefined) possible[i]!.add(toHex(out));
      });
    };
    evaluate();
    for (const seq of [...this.batches.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const { requests } = this.batches.get(seq)!;
      const results = ref.executeBatch({ sequence: seq, requests });
      requests.forEach((bytes, i) => {
        const key = requestKey(bytes);
        if (key !== undefined && results[i]!.length > 0 && !reference.has(key)) reference.set(key, toHex(results[i]!));
      });
      evaluate();
    }
    this.readOnly.forEach((r, i) => {
      if (!possible[i]!.has(r.result)) this.violation(`READ-ONLY: ${r.what} accepted a result that no state of the agreed sequence gives`);
    });
    for (const [key, { result: res }] of this.results) {
      const want = reference.get(key);
      if (want !== undefined && want !== res) this.violation(`SEQUENTIAL: replicas computed ${res.slice(0, 16)}… for ${key}, sequential execution gives ${want.slice(0, 16)}…`);
    }
    for (const [key, res] of this.accepted) {
      const want = reference.get(key);
      if (want === undefined) this.violation(`SEQUENTIAL: a client accepted a reply for ${key}, which no correct replica executed`);
      else if (want !== res) this.violation(`SEQUENTIAL: a client accepted ${res.slice(0, 16)}… for ${key}, sequential execution gives ${want.slice(0, 16)}…`);
    }
  }

  /** Highest sequence number delivered by a correct replica (0 if none). */
  get maxSequence(): bigint {
    let m = 0n;
    for (const s of this.batches.keys()) if (s > m) m = s;
    return m;
  }

  /** Number of distinct sequence numbers delivered by correct replicas. */
  get deliveredBatches(): number {
    return this.batches.size;
  }
}

function requestKey(frame: Uint8Array): string | undefined {
  try {
    const req = decodeClientFrame(frame);
    return `${toHex(clientIdOf(req.clientPublicKey))}:${req.requestId}`;
  } catch {
    return undefined;
  }
}
