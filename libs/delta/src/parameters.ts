import { CONTENT_CHUNK_BYTES } from './content-hash';

/**
 * Parameters of the algorithm. Block length follows rsync's rule (generator.c, sum_sizes_sqroot) with a
 * higher cap: rsync stops at 128 KiB, which makes the signature of a 1 TiB file 8 M blocks; at 1 MiB the sqrt
 * rule holds up to 1 TiB files and the agent's lookup table stays small (1 M blocks for 1 TiB).
 */

/** rsync's BLOCK_SIZE: every file up to 700 * 700 = 490,000 bytes uses 700-byte blocks. */
export const DEFAULT_MIN_BLOCK_LENGTH = 700;
/** Largest block the rule picks, and the largest a signature may declare. */
export const MAX_BLOCK_LENGTH = 1024 * 1024;
/** Strong hashes are xxh128 (16 bytes) truncated to this range. */
export const MIN_STRONG_LENGTH = 4;
export const MAX_STRONG_LENGTH = 16;
/** Files are addressed with JavaScript numbers: lengths and offsets stay below 2^53. */
export const MAX_FILE_LENGTH = Number.MAX_SAFE_INTEGER;
/** A signature holds at most this many blocks (typed arrays of this length must be allocatable). */
export const MAX_BLOCK_COUNT = 2 ** 31 - 1;
/** The search checks at most this many same-weak-checksum blocks per position, as rsync 3.5 does. */
export const MAX_BUCKET_COMPARISONS = 1024;
/** Literal tokens produced by `delta` carry at most this many bytes. */
export const MAX_LITERAL_TOKEN_BYTES = 256 * 1024;
/** Decoders refuse literal tokens larger than this (hostile allocations). */
export const MAX_DECODED_LITERAL_BYTES = 1024 * 1024;
/** Default size of an encoded delta frame: the transfer layer's data frames carry at most 1 MiB. */
export const DEFAULT_DELTA_FRAME_BYTES = 1024 * 1024;

/**
 * Block length for a file of `fileLength` bytes: 700 bytes up to 490 kB, then the largest multiple of 8 whose
 * square does not exceed the length (about sqrt(length)), at most `MAX_BLOCK_LENGTH`.
 */
export function blockLengthFor(fileLength: number): number {
  if (fileLength < DEFAULT_MIN_BLOCK_LENGTH * DEFAULT_MIN_BLOCK_LENGTH) return DEFAULT_MIN_BLOCK_LENGTH;
  // Same bit-by-bit integer square root as rsync, so equal inputs give rsync's block length below the cap.
  let c = 1;
  for (let l = Math.floor(fileLength / 4); l >= 1; l = Math.floor(l / 4)) c *= 2;
  if (c >= MAX_BLOCK_LENGTH) return MAX_BLOCK_LENGTH;
  let length = 0;
  do {
    length |= c;
    if (fileLength < length * length) length &= ~c;
    c >>>= 1;
  } while (c >= 8);
  return Math.min(Math.max(length, DEFAULT_MIN_BLOCK_LENGTH), MAX_BLOCK_LENGTH);
}

/**
 * Bytes of xxh128 kept per block. A wrong match needs a weak and a truncated strong collision at one of at
 * most `fileLength` positions; ignoring the weak checksum altogether, (log2(length) + 40) bits keep that
 * below 2^-40 per delta. The whole-file SHA-256 catches the rest (and any crafted collision).
 */
export function strongLengthFor(fileLength: number): number {
  const bits = Math.log2(fileLength + 1) + 40;
  return Math.min(MAX_STRONG_LENGTH, Math.max(8, Math.ceil(bits / 8)));
}

/** Number of blocks of a file: the last one may be shorter. */
export function blockCountOf(fileLength: number, blockLength: number): number {
  return Math.ceil(fileLength / blockLength);
}

/**
 * The block length of a delta against a file of `fileLength` bytes whose content is stored in 1 MiB chunks: the
 * square-root rule (blockLengthFor), rounded down to a power of two for files of more than one chunk, so that
 * blocks never straddle two chunks (a power of two no larger than 1 MiB divides CONTENT_CHUNK_BYTES). The receiver
 * signs stored files with it; a delta compares chunks by id (`basisChunks`) only with such blocks.
 */
export function alignedBlockLength(fileLength: number): number {
  const rule = blockLengthFor(fileLength);
  if (fileLength <= CONTENT_CHUNK_BYTES) return rule;
  return Math.min(CONTENT_CHUNK_BYTES, 2 ** Math.floor(Math.log2(rule)));
}
