/** A deterministic application for simulations and tests of the PBFT core. */
import type { PbftApplication } from './api.ts';
import { sha256, toHex } from './byte-io.ts';

/** Deterministic test application: a hash chain over executed payloads, exactly-once checked. */
export class HashChainApp implements PbftApplication {
  private chain: Uint8Array = new Uint8Array(32);
  private executed = new Set<string>();
  /** Problems found (a payload executed twice). */
  readonly violations: string[] = [];
  constructor(private readonly onExecute?: (seq: bigint, payloads: readonly Uint8Array[], results: readonly Uint8Array[]) => void) {}
  executeBatch(sequence: bigint, requests: readonly Uint8Array[]): Uint8Array[] {
    const results: Uint8Array[] = [];
    for (const p of requests) {
      const key = toHex(p);
      if (this.executed.has(key)) this.violations.push(`payload ${key} executed twice (seq ${sequence})`);
      this.executed.add(key);
      const buf = new Uint8Array(32 + p.length);
      buf.set(this.chain);
      buf.set(p, 32);
      this.chain = sha256(buf);
      results.push(this.chain.slice(0, 8));
    }
    this.onExecute?.(sequence, requests, results);
    return results;
  }
  snapshot(): Uint8Array {
    const keys = [...this.executed].sort().join(',');
    const body = new TextEncoder().encode(keys);
    const out = new Uint8Array(32 + body.length);
    out.set(this.chain);
    out.set(body, 32);
    return out;
  }
  restore(snapshot: Uint8Array): void {
    if (snapshot.length < 32) throw new Error('snapshot too short');
    const keys = new TextDecoder().decode(snapshot.subarray(32));
    this.chain = snapshot.slice(0, 32);
    this.executed = new Set(keys.length ? keys.split(',') : []);
  }
}
