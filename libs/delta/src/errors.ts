/** Why a delta operation failed. Codes are stable: callers (CLI, transfer layer) branch on them. */
export const DeltaErrorCode = {
  /** Input ended before a field or payload was complete. */
  Truncated: 'truncated',
  /** The first bytes are not a Berth signature or delta. */
  BadMagic: 'bad_magic',
  /** A format version or algorithm id this build does not know. */
  Unsupported: 'unsupported',
  /** A field holds a value outside its allowed range (a length, a block index, a varint). */
  OutOfRange: 'out_of_range',
  /** Bytes follow the end of a signature or delta. */
  TrailingData: 'trailing_data',
  /** An embedded checksum over the encoded bytes does not match: the encoding was damaged. */
  Corrupt: 'corrupt',
  /** Tokens arrive in an order the stream grammar forbids (no header, data after the end...). */
  BadSequence: 'bad_sequence',
  /** The basis handed to patch is not the one the signature was made from (different length). */
  BasisMismatch: 'basis_mismatch',
  /** The rebuilt file's length differs from the one the delta announces. */
  LengthMismatch: 'length_mismatch',
  /** The rebuilt file's SHA-256 differs from the one the delta announces. */
  HashMismatch: 'hash_mismatch',
  /** A caller passed an invalid option or source. */
  InvalidArgument: 'invalid_argument',
} as const;
export type DeltaErrorCode = (typeof DeltaErrorCode)[keyof typeof DeltaErrorCode];

/** Any failure of the delta engine that is not an I/O error of the underlying files. */
export class DeltaError extends Error {
  override readonly name: string = 'DeltaError';

  constructor(
    readonly code: DeltaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** An encoded signature or delta that cannot be decoded: truncated, damaged, hostile or from another format. */
export class DeltaFormatError extends DeltaError {
  override readonly name: string = 'DeltaFormatError';
}

export function isDeltaError(value: unknown): value is DeltaError {
  return value instanceof DeltaError;
}
