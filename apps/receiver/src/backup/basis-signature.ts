import { encodeSignature, signature, type ByteSource } from '@berth/delta';
import { CONTENT_CHUNK_BYTES, RepositoryCorruptError, type FileContent, type ObjectId, type ReadOptions } from '@berth/repository';

export interface ChunkReader {
  readBlob(id: ObjectId, options?: ReadOptions): Promise<Buffer>;
}

/** Signature bytes per Signature frame: well below the smallest frame limit a receiver may negotiate (2 MiB). */
export const SIGNATURE_FRAME_BYTES = 1024 * 1024;

/**
 * The encoded signature of a stored file version, cut into frames. Computed on demand from the repository
 * (one sequential read) rather than cached: a cache would have to be kept consistent with the blobs it describes.
 * The chunks are not verified against their ids here: the file rebuilt from this basis is checked whole against
 * the agent's SHA-256, so a damaged basis costs one resend of the file whole (and is then found by basisIntact),
 * and every delta saves a SHA-256 pass over its previous version on the receiver's busiest thread.
 */
export async function basisSignatureFrames(reader: ChunkReader, content: FileContent, size: bigint): Promise<Buffer[]> {
  const encoded = encodeSignature(await signature(new StoredContentSource(reader, content), { expectedLength: Number(size) }));
  const frames: Buffer[] = [];
  for (let offset = 0; offset < encoded.length; offset += SIGNATURE_FRAME_BYTES) frames.push(encoded.subarray(offset, offset + SIGNATURE_FRAME_BYTES));
  return frames;
}

/**
 * A stored file's chunks in order, each verified against its id, as the signature's input. The signature reads
 * in pieces of whole chunks, so a chunk is read (and verified) straight into the signature's buffer: nothing is
 * allocated or copied per MiB. A read that cannot take a whole chunk goes through one scratch chunk, reused.
 */
class StoredContentSource implements ByteSource {
  readonly knownLength = undefined;
  private next = 0;
  /** What is left of the last chunk read into `scratch`. */
  private pending: Buffer | null = null;
  private scratch: Buffer | null = null;

  constructor(
    private readonly reader: ChunkReader,
    private readonly content: FileContent,
  ) {}

  async read(target: Uint8Array, offset: number, length: number): Promise<number> {
    while (this.pending === null || this.pending.length === 0) {
      const id = this.content.chunks[this.next];
      if (id === undefined) return 0;
      this.next += 1;
      if (length >= CONTENT_CHUNK_BYTES) {
        const into = target.subarray(offset, offset + length);
        const data = await this.reader.readBlob(id, { into, verify: false });
        if (data.buffer === into.buffer && data.byteOffset === into.byteOffset) {
          if (data.length > 0) return data.length;
          continue;
        }
        this.pending = data;
      } else {
        this.scratch ??= Buffer.allocUnsafe(CONTENT_CHUNK_BYTES);
        this.pending = await this.reader.readBlob(id, { into: this.scratch, verify: false });
      }
    }
    const count = Math.min(length, this.pending.length);
    target.set(this.pending.subarray(0, count), offset);
    this.pending = this.pending.subarray(count);
    return count;
  }

  close(): Promise<void> {
    this.pending = null;
    return Promise.resolve();
  }
}

/**
 * Whether every chunk of a stored file version reads back as its id says (a verified read of each, one scratch
 * buffer): asked after a delta against it did not rebuild the agent's file, to tell a damaged basis from a wrong delta.
 */
export async function basisIntact(reader: ChunkReader, content: FileContent): Promise<boolean> {
  const scratch = Buffer.allocUnsafe(CONTENT_CHUNK_BYTES);
  try {
    for (const id of content.chunks) await reader.readBlob(id, { into: scratch });
    return true;
  } catch (error) {
    if (error instanceof RepositoryCorruptError) return false;
    throw error;
  }
}
