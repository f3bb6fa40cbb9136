import { encodeSignature, signature } from '@berth/delta';
import { type FileContent } from '@berth/repository';

export interface ContentReader {
  readFileContent(content: FileContent): AsyncIterable<Buffer>;
}

/** Signature bytes per Signature frame: well below the smallest frame limit a receiver may negotiate (2 MiB). */
export const SIGNATURE_FRAME_BYTES = 1024 * 1024;

/**
 * The encoded signature of a stored file version, cut into frames. Computed on demand from the repository
 * (one sequential read, every chunk verified) rather than cached: about 0.1 s for 64 MiB here, and a cache
 * would have to be kept consistent with the blobs it describes.
 */
export async function basisSignatureFrames(reader: ContentReader, content: FileContent, size: bigint): Promise<Buffer[]> {
  const encoded = encodeSignature(await signature(reader.readFileContent(content), { expectedLength: Number(size) }));
  const frames: Buffer[] = [];
  for (let offset = 0; offset < encoded.length; offset += SIGNATURE_FRAME_BYTES) frames.push(encoded.subarray(offset, offset + SIGNATURE_FRAME_BYTES));
  return frames;
}
