import { createHash } from 'node:crypto';
import { DeltaFormatError } from './errors';
import { blockCountOf, MAX_BLOCK_COUNT, MAX_BLOCK_LENGTH, MAX_FILE_LENGTH, MAX_STRONG_LENGTH, MIN_STRONG_LENGTH } from './parameters';
import { type Signature } from './signature';
import { readVarint, varintLength, writeVarint, type VarintRead } from './varint';

/**
 * Encoded signature, version 1:
 *
 *   "BSIG" | u8 version (1) | u8 weak algorithm (1: rsync rolling, unsigned bytes) | u8 strong algorithm (1: xxh128)
 *   | u8 strong length | varint block length | varint file length
 *   | weak checksums: u32 little-endian per block | strong hashes: strong-length bytes per block
 *   | 16-byte check: the first 16 bytes of SHA-256 of everything before it
 *
 * The block count is not stored: it follows from the lengths, and the decoder checks that the input holds
 * exactly that many entries before it allocates anything.
 */
export const SIGNATURE_MAGIC = Buffer.from('BSIG', 'latin1');
export const SIGNATURE_FORMAT_VERSION = 1;
const WEAK_ALGORITHM_RSYNC = 1;
const STRONG_ALGORITHM_XXH128 = 1;
const CHECK_BYTES = 16;
const FIXED_HEADER_BYTES = 8;

export function encodeSignature(signature: Signature): Buffer {
  const { blockLength, fileLength, strongLength, blockCount, weak, strong } = signature;
  const headerBytes = FIXED_HEADER_BYTES + varintLength(blockLength) + varintLength(fileLength);
  const out = Buffer.allocUnsafe(headerBytes + blockCount * (4 + strongLength) + CHECK_BYTES);
  SIGNATURE_MAGIC.copy(out, 0);
  out[4] = SIGNATURE_FORMAT_VERSION;
  out[5] = WEAK_ALGORITHM_RSYNC;
  out[6] = STRONG_ALGORITHM_XXH128;
  out[7] = strongLength;
  let offset = writeVarint(out, FIXED_HEADER_BYTES, blockLength);
  offset = writeVarint(out, offset, fileLength);
  for (let i = 0; i < blockCount; i++) offset = out.writeUInt32LE(weak[i] as number, offset);
  out.set(strong.subarray(0, blockCount * strongLength), offset);
  offset += blockCount * strongLength;
  createHash('sha256').update(out.subarray(0, offset)).digest().copy(out, offset, 0, CHECK_BYTES);
  return out;
}

/**
 * Decodes and validates an encoded signature. Allocates only what the input's own length can back.
 * @throws DeltaFormatError with code `truncated`, `bad_magic`, `unsupported`, `out_of_range`, `trailing_data`
 *   or `corrupt`.
 */
export function decodeSignature(input: Uint8Array): Signature {
  if (input.length < FIXED_HEADER_BYTES) throw new DeltaFormatError('truncated', `signature is ${input.length} bytes, shorter than its header`);
  if (!SIGNATURE_MAGIC.equals(input.subarray(0, 4))) throw new DeltaFormatError('bad_magic', 'not a Berth signature (magic is not "BSIG")');
  if (input[4] !== SIGNATURE_FORMAT_VERSION) throw new DeltaFormatError('unsupported', `signature format version ${input[4]} is not supported`);
  if (input[5] !== WEAK_ALGORITHM_RSYNC) throw new DeltaFormatError('unsupported', `weak checksum algorithm ${input[5]} is not supported`);
  if (input[6] !== STRONG_ALGORITHM_XXH128) throw new DeltaFormatError('unsupported', `strong hash algorithm ${input[6]} is not supported`);
  const strongLength = input[7] as number;
  if (strongLength < MIN_STRONG_LENGTH || strongLength > MAX_STRONG_LENGTH) {
    throw new DeltaFormatError('out_of_range', `strong hash length ${strongLength} is outside ${MIN_STRONG_LENGTH}..${MAX_STRONG_LENGTH}`);
  }
  const read: VarintRead = { value: 0, end: 0 };
  const blockLength = requireVarint(input, FIXED_HEADER_BYTES, 'block length', MAX_BLOCK_LENGTH, read);
  if (blockLength === 0) throw new DeltaFormatError('out_of_range', 'block length is 0');
  const fileLength = requireVarint(input, read.end, 'file length', MAX_FILE_LENGTH, read);
  const blockCount = blockCountOf(fileLength, blockLength);
  if (blockCount > MAX_BLOCK_COUNT) throw new DeltaFormatError('out_of_range', `signature declares ${blockCount} blocks, more than ${MAX_BLOCK_COUNT}`);
  const bodyStart = read.end;
  const expected = bodyStart + blockCount * (4 + strongLength) + CHECK_BYTES;
  if (input.length < expected) {
    throw new DeltaFormatError('truncated', `signature of ${blockCount} blocks needs ${expected} bytes, got ${input.length}`);
  }
  if (input.length > expected) throw new DeltaFormatError('trailing_data', `${input.length - expected} bytes follow the signature`);
  const checkStart = expected - CHECK_BYTES;
  const check = createHash('sha256').update(input.subarray(0, checkStart)).digest();
  if (!check.subarray(0, CHECK_BYTES).equals(input.subarray(checkStart))) {
    throw new DeltaFormatError('corrupt', 'signature check bytes do not match its content (damaged signature)');
  }
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.length);
  const weak = new Uint32Array(blockCount);
  for (let i = 0, offset = bodyStart; i < blockCount; i++, offset += 4) weak[i] = bytes.readUInt32LE(offset);
  const strongStart = bodyStart + blockCount * 4;
  // A copy, not a view: the caller may reuse its input buffer.
  const strong = new Uint8Array(input.subarray(strongStart, strongStart + blockCount * strongLength));
  return { blockLength, fileLength, strongLength, blockCount, weak, strong };
}

function requireVarint(input: Uint8Array, offset: number, field: string, max: number, read: VarintRead): number {
  readVarint(input, offset, input.length, field, max, read);
  if (read.end < 0) throw new DeltaFormatError('truncated', `signature ends inside its ${field}`);
  return read.value;
}
