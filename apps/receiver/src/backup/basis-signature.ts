import { encodeSignature, signature } from '@berth/delta';
import { type FileContent, type ReadOptions } from '@berth/repository';

export interface ContentReader {
  readFileContent(content: FileContent, options?: ReadOptions): AsyncIterable<Buffer>;
}

/** Signature bytes per Signature frame: well below the smallest frame limit a receiver may negotiate (2 MiB). */
export const SIGNATURE_FRAME_BYTES = 1024 * 1024;

/**
 * The encoded signature of a stored file version, cut into frames. Computed on demand from the repository
 * (one sequential read) rather than cached: about 0.1 s for 64 MiB here, and a cache would have to be kept
 * consistent with the blobs it describes. The chunks are not checked against their ids: a signature of damaged
 * bytes only makes a delta that does not rebuild the agent's file, which the whole-file SHA-256 catches (the
 * file is then asked for whole), so checking them would hash the basis a second time for nothing.
 */
export async function basisSignatureFrames(reader: ContentReader, content: FileContent, size: bigint): Promise<Buffer[]> {
  const encoded = encodeSignature(await signature(reader.readFileContent(content, { verify: false }), { expectedLength: Number(size) }));
  const frames: Buffer[] = [];
  for (let offset = 0; offset < encoded.length; offset += SIGNATURE_FRAME_BYTES) frames.push(encoded.subarray(offset, offset + SIGNATURE_FRAME_BYTES));
  return frames;
}
