/**
 * Typed errors of the transport layer (`src/net/`).
 *
 * Every error carries a machine-readable `code` so callers can count drops by reason without
 * parsing messages. None of these errors ever escapes a socket event handler: the transport
 * catches them, closes or drops, and counts.
 */

/** Reasons a byte stream can fail to decode as frames. */
export type FrameErrorCode = 'oversize' | 'decoder-failed';

/** A malformed byte stream (e.g. a length prefix above the configured maximum frame size). */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(
    readonly code: FrameErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Reasons a transport operation can fail. */
export type NetErrorCode =
  | 'closed'
  | 'queue-full'
  | 'too-large'
  | 'unknown-peer'
  | 'handshake-failed'
  | 'timeout'
  | 'bad-config';

/** A transport operation that could not be carried out. */
export class NetError extends Error {
  override readonly name = 'NetError';
  constructor(
    readonly code: NetErrorCode,
    message: string,
  ) {
    super(message);
  }
}
