/**
 * Typed errors of the CART wire layer (`src/wire/`). Every error has a machine-readable
 * `reason` so receivers can count drops by reason without parsing messages.
 */

/** Why a frame was rejected. */
export type WireErrorReason = 'malformed' | 'unsupported-version' | 'too-large' | 'invalid-field';

/** Base class: a frame or field that cannot be accepted. */
export class WireError extends Error {
  override name = 'WireError';
  constructor(
    readonly reason: WireErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/** The bytes are not a valid protobuf encoding of the expected top-level message. */
export class MalformedFrameError extends WireError {
  override name = 'MalformedFrameError';
  constructor(message: string) {
    super('malformed', message);
  }
}

/** The frame's `version` is not one this implementation speaks. */
export class UnsupportedVersionError extends WireError {
  override name = 'UnsupportedVersionError';
  constructor(
    readonly version: number,
    readonly supported: number,
  ) {
    super('unsupported-version', `unsupported protocol version ${version} (supported: ${supported})`);
  }
}

/** A frame or a field exceeds its size limit (see {@link WireLimits}). */
export class TooLargeError extends WireError {
  override name = 'TooLargeError';
  constructor(
    readonly field: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super('too-large', `${field} has ${size} bytes, limit ${limit}`);
  }
}

/** A field decodes but has an invalid value (wrong length, zero id, out-of-range index, ...). */
export class InvalidFieldError extends WireError {
  override name = 'InvalidFieldError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('invalid-field', `${field}: ${message}`);
  }
}
