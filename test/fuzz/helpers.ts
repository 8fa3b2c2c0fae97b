/**
 * Shared helpers of the decoder fuzz tests: a mutation arbitrary over a corpus of valid
 * encodings, and a check that a decoder either returns or throws one of its typed errors,
 * without allocating more than a bound.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';

/** Hostile 32-bit values planted into length/count fields. */
const HOSTILE_U32 = [0xffffffff, 0x80000000, 0x7fffffff, 0x40000000, 0x01000000, 0x0000ffff];

/** mulberry32: a tiny deterministic PRNG so that mutations are uniform and reproducible. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % Math.max(1, n)) >>> 0;
  };
}

/**
 * Applies one random mutation: bit flip, byte overwrite, truncation, insertion, a hostile u32
 * (length prefix 2^31, 2^32-1, ...), an over-long varint run, or trailing garbage.
 */
export function mutate(b: Uint8Array, rnd: (n: number) => number): Uint8Array {
  const c = Uint8Array.from(b); // a copy (Buffer#slice would alias the pool)
  const at = rnd(Math.max(1, c.length));
  switch (rnd(7)) {
    case 0:
      if (c.length > 0) c[at]! ^= 1 << rnd(8);
      return c;
    case 1:
      if (c.length > 0) c[at] = rnd(256);
      return c;
    case 2:
      return c.slice(0, at);
    case 3: {
      const ins = Uint8Array.from({ length: 1 + rnd(16) }, () => rnd(256));
      const i = rnd(c.length + 1);
      return Uint8Array.from([...c.subarray(0, i), ...ins, ...c.subarray(i)]);
    }
    case 4:
      if (c.length >= 4) new DataView(c.buffer).setUint32(rnd(c.length - 3), HOSTILE_U32[rnd(HOSTILE_U32.length)]!);
      return c;
    case 5:
      for (let k = 0, n = 1 + rnd(11); k < n && at + k < c.length; k++) c[at + k] = 0xff;
      return c;
    default:
      return Uint8Array.from([...c, ...Array.from({ length: 1 + rnd(8) }, () => rnd(256))]);
  }
}

/** Random bytes, or a valid corpus entry with 1–3 uniform random mutations applied. */
export function fuzzBytes(corpus: readonly Uint8Array[], maxRandom = 512): fc.Arbitrary<Uint8Array> {
  const mutated = fc.noBias(fc.integer()).map((seed) => {
    const rnd = prng(seed);
    let b = corpus[rnd(corpus.length)]!;
    for (let k = 0, n = 1 + rnd(3); k < n; k++) b = mutate(b, rnd);
    return b;
  });
  return fc.oneof({ arbitrary: mutated, weight: 4 }, { arbitrary: fc.uint8Array({ maxLength: maxRandom }), weight: 1 });
}

/** Largest growth of external (ArrayBuffer) memory one decode may cause. */
export const ALLOC_BOUND_BYTES = 64 * 1024 * 1024;

/**
 * Runs `decode(input)`. Asserts that it either returns (then the value is returned) or throws an
 * error accepted by `isTyped` (then `undefined` is returned); any other exception fails the test
 * with the input in hex. Also asserts that ArrayBuffer memory grew by less than
 * {@link ALLOC_BOUND_BYTES} during the call (catches a length field trusted for allocation).
 */
export function decodeOrTypedError<T>(decode: (b: Uint8Array) => T, input: Uint8Array, isTyped: (e: unknown) => boolean): T | undefined {
  const before = process.memoryUsage().arrayBuffers;
  let out: T | undefined;
  try {
    out = decode(input);
  } catch (e) {
    if (!isTyped(e)) {
      assert.fail(`untyped ${(e as Error)?.name ?? typeof e}: ${(e as Error)?.message ?? String(e)} for input ${Buffer.from(input).toString('hex')}`);
    }
  }
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < ALLOC_BOUND_BYTES, `decode allocated ${grown} bytes for a ${input.length}-byte input`);
  return out;
}

/** Default run count of one fuzz property (kept small: the whole fuzz suite must stay fast). */
export const RUNS = 300;

/**
 * Fixed fast-check seed, so a CI run is reproducible (a random seed made the suite fail whenever
 * it happened to find something new). Explore other inputs with FUZZ_SEED=<n> npm test.
 */
export const FUZZ_SEED = Number(process.env['FUZZ_SEED'] ?? 20261130);
fc.configureGlobal({ seed: FUZZ_SEED });

/** Deep copy with every Uint8Array/Buffer turned into a hex string (for structural comparison). */
export function norm(v: unknown): unknown {
  if (v instanceof Uint8Array) return `hex:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  if (Array.isArray(v)) return v.map(norm);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

/** JSON mutations: replace a value at a random path by an arbitrary JSON value, or delete it. */
export function mutateJson(v: unknown, path: number[], repl: unknown, del: boolean): unknown {
  if (path.length === 0 || v === null || typeof v !== 'object') return repl;
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v as object);
  if (entries.length === 0) return repl;
  const k = path[0]! % entries.length;
  const out: Record<string, unknown> | unknown[] = Array.isArray(v) ? v.slice() : { ...(v as object) };
  const key = entries[k]![0];
  if (del && path.length === 1) {
    if (Array.isArray(out)) out.splice(k, 1);
    else delete (out as Record<string, unknown>)[key];
    return out;
  }
  (out as Record<string, unknown>)[key] = mutateJson(entries[k]![1], path.slice(1), repl, del);
  return out;
}

