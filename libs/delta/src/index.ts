/**
 * @packageDocumentation
 * Berth's delta engine: the rsync algorithm as a streaming library.
 *
 * Transfer of one changed file, the receiver holding the old version (basis) and the agent the new one:
 *
 * ```ts
 * // receiver
 * const sig = await signature(basisPath);                 // block checksums, read once
 * send(encodeSignature(sig));                             // a few bytes per block
 * // agent
 * const tokens = delta(decodeSignature(received), newPath);
 * for await (const frame of encodeDelta(tokens)) send(frame);   // frames of at most 1 MiB
 * // receiver
 * await patchInto(basisHandle, decodeDelta(frames), (bytes) => write(bytes));  // or: for await (... of patch(...))
 * // patch throws (hash_mismatch...) before completing if the result is not the agent's file
 * ```
 *
 * Pure: node:crypto, node:fs, hash-wasm and a native BLAKE3 (@napi-rs/blake-hash, with a WebAssembly fallback). Memory is bounded by the block length (a few MiB), whatever
 * the file size.
 */
export { signature, withStrongLength, type Signature, type SignatureOptions } from './signature';
export { delta, type DeltaOptions, type DeltaStats, type DeltaStream, FALSE_HIT_BUDGET_FIXED, FALSE_HIT_BUDGET_PER_BYTE } from './delta';
export { patch, patchInto, type BasisReader, type PatchBasis, type PatchOptions } from './patch';
export { decodeSignature, encodeSignature, SIGNATURE_FORMAT_VERSION } from './signature-codec';
export {
  decodeDelta,
  DELTA_FORMAT_VERSION,
  DELTA_FORMAT_VERSION_SHA256,
  DeltaDecoder,
  encodeDelta,
  encodeDeltaToBuffer,
  type EncodeDeltaOptions,
  MIN_DELTA_FRAME_BYTES,
} from './delta-codec';
export { copyRange, type CopyToken, type DeltaEnd, type DeltaHeader, type DeltaToken, type LiteralToken } from './tokens';
export { DeltaError, DeltaErrorCode, DeltaFormatError, isDeltaError } from './errors';
export {
  alignedBlockLength,
  blockLengthFor,
  blockCountOf,
  DEFAULT_DELTA_FRAME_BYTES,
  DEFAULT_MIN_BLOCK_LENGTH,
  MAX_BLOCK_LENGTH,
  MAX_BUCKET_COMPARISONS,
  MAX_DECODED_LITERAL_BYTES,
  MAX_LITERAL_TOKEN_BYTES,
  MAX_STRONG_LENGTH,
  MIN_STRONG_LENGTH,
  strongLengthFor,
} from './parameters';
export { weakChecksum } from './weak-checksum';
export { STRONG_HASH_ALGORITHM } from './strong-hash';
export { blake3IsNative, DEFAULT_WHOLE_FILE_HASH, WHOLE_FILE_HASHES, wholeFileHashName, type WholeFileHash } from './whole-file-hash';
export { Sha256Stream, startHashHelper } from './sha256-stream';
export { chunkCountFor, chunkListHash, CONTENT_CHUNK_BYTES, CONTENT_HASH_BYTES, ContentHasher, isChunkListHash } from './content-hash';
export { type ByteInput, type ByteSource } from './sources';
