/**
 * Linearizability checker for histories of a sequential model.
 *
 * Algorithm: Wing & Gong's search ("Testing and Verifying Concurrent Objects", JPDC 17, 1993)
 * with Lowe's just-in-time linearization and memoisation of (linearized-set, state) pairs
 * ("Testing for linearizability", CCPE 29(4), 2017), in the form used by Porcupine
 * (github.com/anishathalye/porcupine, `checkSingle`): call and return entries are sorted by time
 * in a doubly linked list; the search repeatedly tries to linearize a pending call that precedes
 * the first return, backtracking when a return is reached whose call is not yet linearized.
 * Dancing-links removal makes every step O(1) except the memo lookup (O(n/32)).
 *
 * P-compositionality (Horn & Kroening, "Faster linearizability checking via P-compositionality",
 * FORTE 2015): a history is linearizable iff each partition is, when the model is a product of
 * independent objects (e.g. one register per key). The model supplies the partition function.
 *
 * Operations with an unknown outcome (`ret === undefined`) get a return time of +∞, so they may be
 * linearized anywhere after their call — including after every other operation, which is the
 * same as never taking effect. The model's `step` is called with `output === undefined` for them
 * and must accept any outcome.
 *
 * Budget: the search is NP-complete in general (Gibbons & Korach 1997); each partition gets a
 * step budget (and optionally a deadline on an injected clock). When it runs out the result is
 * `{ ok: 'unknown', reason: 'budget' }` — never a false verdict.
 */
import type { Operation } from './history.ts';

/** A sequential specification: the object the history claims to implement. */
export interface Model<S, I, O> {
  /** The initial state. */
  init(): S;
  /**
   * Apply `input` to `state`. `output` is the observed result, or `undefined` if unknown (then
   * any result is acceptable). Returns whether the observed output is legal in `state`, and the
   * next state. Must be pure (must not mutate `state`).
   */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  /** Canonical string of a state: equal states give equal keys (used for memoisation). */
  stateKey(state: S): string;
  /** Split a history into independently checkable partitions (default: one partition). */
  partition?(ops: readonly Operation<I, O>[]): { name: string; ops: Operation<I, O>[] }[];
  /** Human-readable rendering of one operation for counterexamples. */
  describe?(input: I, output: O | undefined): string;
}

/** Search limits per partition. */
export interface CheckBudget {
  /** Max search steps per partition (default 2_000_000). */
  readonly maxSteps?: number;
  /** Max memo entries per partition, bounds memory (default 1_000_000). */
  readonly maxMemo?: number;
  /** Wall-clock budget per partition in ms, measured with `now` (default: none). */
  readonly timeoutMs?: number;
  /** Injected clock in ms (default `performance.now`); only read when `timeoutMs` is set. */
  readonly now?: () => number;
}

/** Why and where a history is not linearizable. */
export interface Counterexample<I, O> {
  /** Partition name (e.g. the key). */
  readonly partition: string;
  /** All operations of the failing partition, in call order. */
  readonly operations: readonly Operation<I, O>[];
  /** The longest prefix of a linearization the search found, in linearization order. */
  readonly longestPrefix: readonly Operation<I, O>[];
  /** Operations that could not be placed after that prefix (calls before the first return). */
  readonly blocked: readonly Operation<I, O>[];
  /** Readable multi-line explanation. */
  readonly message: string;
}

/** Verdict of a linearizability check. */
export type CheckResult<I, O> =
  | { readonly ok: true; readonly partitions: number; readonly steps: number }
  | { readonly ok: false; readonly counterexample: Counterexample<I, O>; readonly partitions: number; readonly steps: number }
  | { readonly ok: 'unknown'; readonly reason: 'budget'; readonly partition: string; readonly partitions: number; readonly steps: number };

type PartitionResult<I, O> =
  | { kind: 'ok'; steps: number }
  | { kind: 'fail'; steps: number; counterexample: Counterexample<I, O> }
  | { kind: 'budget'; steps: number };

/**
 * Checks that `ops` is linearizable with respect to `model`.
 * Partitions are checked in order; a failing partition wins over one that ran out of budget.
 * Never throws for any history (non-finite times are treated as unknown returns / time 0).
 */
export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  budget: CheckBudget = {},
): CheckResult<I, O> {
  const parts = model.partition ? model.partition(ops) : [{ name: '*', ops: ops.slice() }];
  let steps = 0;
  let unknown: string | undefined;
  for (const p of parts) {
    const r = checkPartition(model, p.name, p.ops, budget);
    steps += r.steps;
    if (r.kind === 'fail') return { ok: false, counterexample: r.counterexample, partitions: parts.length, steps };
    if (r.kind === 'budget' && unknown === undefined) unknown = p.name;
  }
  if (unknown !== undefined) return { ok: 'unknown', reason: 'budget', partition: unknown, partitions: parts.length, steps };
  return { ok: true, partitions: parts.length, steps };
}

const CALL = 0;
const RETURN = 1;

function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  name: string,
  ops: readonly Operation<I, O>[],
  budget: CheckBudget,
): PartitionResult<I, O> {
  const n = ops.length;
  if (n === 0) return { kind: 'ok', steps: 0 };
  const maxSteps = budget.maxSteps ?? 2_000_000;
  const maxMemo = budget.maxMemo ?? 1_000_000;
  const now = budget.now ?? (() => performance.now());
  const deadline = budget.timeoutMs !== undefined ? now() + budget.timeoutMs : undefined;

  // Entries: node 2i = call of op i, 2i+1 = return of op i; node 2n = head sentinel.
  const time = (op: Operation<I, O>, kind: number): number => {
    if (kind === CALL) return Number.isFinite(op.call) ? op.call : 0;
    return op.ret !== undefined && Number.isFinite(op.ret) && op.output !== undefined ? Math.max(op.ret, time(op, CALL)) : Infinity;
  };
  const order: number[] = [];
  for (let i = 0; i < n; i++) order.push(2 * i, 2 * i + 1);
  const t = order.map((node) => time(ops[node >> 1]!, node & 1));
  order.sort((a, b) => {
    const ta = t[a]!;
    const tb = t[b]!;
    if (ta !== tb) return ta < tb ? -1 : 1;
    // Equal times: calls before returns (touching intervals count as concurrent), then by op.
    if ((a & 1) !== (b & 1)) return (a & 1) - (b & 1);
    return a - b;
  });
  const head = 2 * n;
  const next = new Int32Array(2 * n + 1).fill(-1);
  const prev = new Int32Array(2 * n + 1).fill(-1);
  let p = head;
  for (const node of order) {
    next[p] = node;
    prev[node] = p;
    p = node;
  }

  const lift = (c: number): void => {
    // c is a call node; its return c+1 is always later in the list.
    next[prev[c]!] = next[c]!;
    prev[next[c]!] = prev[c]!;
    const r = c + 1;
    next[prev[r]!] = next[r]!;
    if (next[r]! !== -1) prev[next[r]!] = prev[r]!;
  };
  const unlift = (c: number): void => {
    const r = c + 1;
    next[prev[r]!] = r;
    if (next[r]! !== -1) prev[next[r]!] = r;
    next[prev[c]!] = c;
    prev[next[c]!] = c;
  };

  const words = (n + 31) >>> 5;
  const bits = new Uint32Array(words);
  const memo = new Map<string, Uint32Array[]>();
  let memoSize = 0;
  const memoAdd = (sk: string): boolean => {
    let h = 0x811c9dc5;
    for (let w = 0; w < words; w++) h = Math.imul(h ^ bits[w]!, 0x01000193) >>> 0;
    const k = `${h}|${sk}`;
    let bucket = memo.get(k);
    if (bucket === undefined) {
      bucket = [];
      memo.set(k, bucket);
    } else {
      for (const b of bucket) {
        let same = true;
        for (let w = 0; w < words; w++) {
          if (b[w] !== bits[w]) {
            same = false;
            break;
          }
        }
        if (same) return false;
      }
    }
    bucket.push(bits.slice());
    memoSize++;
    return true;
  };

  const stack: { node: number; state: S }[] = [];
  let state = model.init();
  let best: number[] = [];
  let bestBlocked: number[] = [];
  let steps = 0;
  let entry = next[head]!;
  while (next[head]! !== -1) {
    steps++;
    if (steps > maxSteps || memoSize > maxMemo || (deadline !== undefined && (steps & 1023) === 0 && now() > deadline)) {
      return { kind: 'budget', steps };
    }
    if ((entry & 1) === CALL) {
      const op = ops[entry >> 1]!;
      const r = model.step(state, op.input, t[entry + 1] === Infinity ? undefined : op.output);
      let advanced = false;
      if (r.ok) {
        const i = entry >> 1;
        bits[i >>> 5]! |= 1 << (i & 31);
        if (memoAdd(model.stateKey(r.state))) {
          stack.push({ node: entry, state });
          state = r.state;
          lift(entry);
          entry = next[head]!;
          advanced = true;
          if (stack.length > best.length) best = stack.map((s) => s.node >> 1);
        } else {
          bits[i >>> 5]! &= ~(1 << (i & 31));
        }
      }
      if (!advanced) entry = next[entry]!;
    } else {
      // A return whose call is not linearized yet: backtrack.
      if (stack.length >= best.length) bestBlocked = blockedCalls(next, head);
      const top = stack.pop();
      if (top === undefined) {
        return { kind: 'fail', steps, counterexample: counterexample(model, name, ops, best, bestBlocked) };
      }
      state = top.state;
      const i = top.node >> 1;
      bits[i >>> 5]! &= ~(1 << (i & 31));
      unlift(top.node);
      entry = next[top.node]!;
    }
  }
  return { kind: 'ok', steps };
}

/** Calls that precede the first return in the current list (candidates that all failed). */
function blockedCalls(next: Int32Array, head: number): number[] {
  const out: number[] = [];
  for (let e = next[head]!; e !== -1 && (e & 1) === CALL; e = next[e]!) out.push(e >> 1);
  // Include the op whose return blocked the search.
  let e = next[head]!;
  while (e !== -1 && (e & 1) === CALL) e = next[e]!;
  if (e !== -1 && !out.includes(e >> 1)) out.push(e >> 1);
  return out;
}

function counterexample<S, I, O>(
  model: Model<S, I, O>,
  name: string,
  ops: readonly Operation<I, O>[],
  best: number[],
  blocked: number[],
): Counterexample<I, O> {
  const show = (op: Operation<I, O>): string => {
    const body = model.describe ? model.describe(op.input, op.output) : `${JSON.stringify(op.input)} -> ${JSON.stringify(op.output)}`;
    const end = op.ret === undefined ? '?' : String(op.ret);
    return `  [${op.call}, ${end}] ${op.client}#${op.id}: ${body}`;
  };
  const longestPrefix = best.map((i) => ops[i]!);
  const blockedOps = blocked.map((i) => ops[i]!);
  const message = [
    `partition ${name}: not linearizable (${ops.length} operations)`,
    `longest linearizable prefix (${longestPrefix.length}):`,
    ...longestPrefix.map(show),
    `none of these can come next:`,
    ...blockedOps.map(show),
  ].join('\n');
  return { partition: name, operations: ops, longestPrefix, blocked: blockedOps, message };
}
