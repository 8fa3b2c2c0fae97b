/**
 * Replicated counter: a signed 64-bit integer with `add n` and `get` — the smallest useful
 * deterministic state machine (Schneider 1990), for tests and demos.
 *
 * Wire format (browser-safe helpers below):
 * ```
 * operation := 0x01 (0x01 n:i64 = add | 0x02 = get)
 * result    := 0x01 (0x00 value:i64 | 0x01 code:u8 message)
 * snapshot  := 0x01 value:i64
 * ```
 * `add` returns the new value; an addition that would overflow int64 is refused with an
 * `overflow` error result and leaves the value unchanged.
 */
import type { Application } from './application.ts';
import { ByteReader, ByteWriter, DecodeError } from './codec.ts';

/** Version byte of counter operations, results and snapshots. */
export const COUNTER_VERSION = 1;

/** A counter operation. */
export type CounterOperation = { readonly type: 'add'; readonly amount: bigint } | { readonly type: 'get' };

/** Error codes of counter error results. */
export type CounterErrorCode = 'malformed' | 'unsupported-version' | 'unknown-operation' | 'overflow';

/** A counter result. */
export type CounterResult =
  | { readonly type: 'value'; readonly value: bigint }
  | { readonly type: 'error'; readonly code: CounterErrorCode; readonly message: string };

const ERROR_CODES: readonly CounterErrorCode[] = ['malformed', 'unsupported-version', 'unknown-operation', 'overflow'];
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** A counter decoding failure with the error code reported for it. */
export class CounterDecodeError extends DecodeError {
  override readonly name = 'CounterDecodeError';
  constructor(
    readonly code: CounterErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Encode a counter operation.
 * @throws {EncodeError} if `amount` is outside the int64 range.
 */
export function encodeCounterOperation(op: CounterOperation): Uint8Array {
  const w = new ByteWriter(10).u8(COUNTER_VERSION);
  if (op.type === 'add') w.u8(1).i64(op.amount);
  else w.u8(2);
  return w.finish();
}

/**
 * Decode a counter operation.
 * @throws {CounterDecodeError} on an unknown version/opcode or malformed bytes.
 */
export function decodeCounterOperation(bytes: Uint8Array): CounterOperation {
  const r = new ByteReader(bytes);
  try {
    const version = r.u8();
    if (version !== COUNTER_VERSION) throw new CounterDecodeError('unsupported-version', `unsupported counter version ${version}`);
    const opcode = r.u8();
    let op: CounterOperation;
    if (opcode === 1) op = { type: 'add', amount: r.i64() };
    else if (opcode === 2) op = { type: 'get' };
    else throw new CounterDecodeError('unknown-operation', `unknown counter opcode ${opcode}`);
    r.end();
    return op;
  } catch (err) {
    if (err instanceof CounterDecodeError) throw err;
    throw new CounterDecodeError('malformed', (err as Error).message);
  }
}

/** Encode a counter result. */
export function encodeCounterResult(result: CounterResult): Uint8Array {
  const w = new ByteWriter(16).u8(COUNTER_VERSION);
  if (result.type === 'value') w.u8(0).i64(result.value);
  else w.u8(1).u8(ERROR_CODES.indexOf(result.code) + 1).string(result.message.slice(0, 256), 1024);
  return w.finish();
}

/**
 * Decode a counter result.
 * @throws {DecodeError} on malformed bytes or an unknown version/status.
 */
export function decodeCounterResult(bytes: Uint8Array): CounterResult {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== COUNTER_VERSION) throw new CounterDecodeError('unsupported-version', `unsupported counter result version ${version}`);
  const status = r.u8();
  let result: CounterResult;
  if (status === 0) result = { type: 'value', value: r.i64() };
  else if (status === 1) {
    const code = ERROR_CODES[r.u8() - 1];
    if (code === undefined) throw new CounterDecodeError('malformed', 'unknown counter error code');
    result = { type: 'error', code, message: r.string(1024, 'error message') };
  } else throw new CounterDecodeError('malformed', `unknown counter result status ${status}`);
  r.end();
  return result;
}

/** The counter application. */
export class Counter implements Application {
  readonly name = 'counter';
  private value = 0n;

  /** Current value. */
  get current(): bigint {
    return this.value;
  }

  /** Execute `add` or `get`; returns an encoded {@link CounterResult}. Never throws. */
  execute(operation: Uint8Array): Uint8Array {
    return encodeCounterResult(this.run(operation, false)!);
  }

  /** Execute `get` without ordering; `undefined` for `add`. */
  executeReadOnly(operation: Uint8Array): Uint8Array | undefined {
    const r = this.run(operation, true);
    return r === undefined ? undefined : encodeCounterResult(r);
  }

  private run(operation: Uint8Array, readOnly: boolean): CounterResult | undefined {
    let op: CounterOperation;
    try {
      op = decodeCounterOperation(operation);
    } catch (err) {
      const e = err as CounterDecodeError;
      return { type: 'error', code: e.code ?? 'malformed', message: e.message };
    }
    if (op.type === 'get') return { type: 'value', value: this.value };
    if (readOnly) return undefined;
    const next = this.value + op.amount;
    if (next < INT64_MIN || next > INT64_MAX) return { type: 'error', code: 'overflow', message: `adding ${op.amount} to ${this.value} overflows int64` };
    this.value = next;
    return { type: 'value', value: next };
  }

  /** Snapshot: `0x01 value:i64`. */
  snapshot(): Uint8Array {
    return new ByteWriter(9).u8(COUNTER_VERSION).i64(this.value).finish();
  }

  /**
   * Restore from {@link snapshot} bytes.
   * @throws {DecodeError} on malformed bytes (state unchanged).
   */
  restore(snapshot: Uint8Array): void {
    const r = new ByteReader(snapshot);
    const version = r.u8();
    if (version !== COUNTER_VERSION) throw new CounterDecodeError('unsupported-version', `unsupported counter snapshot version ${version}`);
    const v = r.i64();
    r.end();
    this.value = v;
  }
}
