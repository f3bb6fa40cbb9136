import { type WholeFileHash } from './whole-file-hash';

/**
 * A delta is a stream of tokens: one header, any number of literal and copy tokens in file order, one end.
 * Tokens are small (a literal carries at most 256 KiB from `delta`, 1 MiB from a decoder), so the stream can be
 * produced, sent in frames and applied with bounded memory.
 */

/** First token: the geometry of the basis the copies refer to. */
export interface DeltaHeader {
  readonly kind: 'header';
  /** Block length of the signature the delta was computed against. */
  readonly blockLength: number;
  /** Length of the basis the signature was computed from: patch checks it against the basis it gets. */
  readonly basisLength: number;
  /** Algorithm of the end token's digest. */
  readonly hash: WholeFileHash;
}

/** Bytes of the new version that are not in the basis. */
export interface LiteralToken {
  readonly kind: 'literal';
  /** At least one byte. */
  readonly data: Uint8Array;
}

/** Basis blocks `start .. start + count - 1` in order (the last block of the basis may be short). */
export interface CopyToken {
  readonly kind: 'copy';
  readonly start: number;
  /** At least one block. */
  readonly count: number;
}

/** Last token: what the rebuilt file must be. */
export interface DeltaEnd {
  readonly kind: 'end';
  /** Length of the new version. */
  readonly length: number;
  /** Hash of the whole new version (32 bytes), by the header's algorithm (BLAKE3 or SHA-256). */
  readonly digest: Uint8Array;
}

export type DeltaToken = DeltaHeader | LiteralToken | CopyToken | DeltaEnd;

/** Byte range of the basis a copy token stands for. */
export function copyRange(header: DeltaHeader, token: CopyToken): { offset: number; length: number } {
  const offset = token.start * header.blockLength;
  const end = Math.min((token.start + token.count) * header.blockLength, header.basisLength);
  return { offset, length: end - offset };
}
