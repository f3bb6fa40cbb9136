import { encodeSignature, signature, type ByteSource, type Signature } from '@berth/delta';
import { CONTENT_CHUNK_BYTES, type FileContent, type ObjectId, type ReadOptions } from '@berth/repository';

export interface ChunkReader {
  readBlob(id: ObjectId, options?: ReadOptions): Promise<Buffer>;
}

/** Signature bytes per Signature frame: well below the smallest frame limit a receiver may negotiate (2 MiB). */
export const SIGNATURE_FRAME_BYTES = 1024 * 1024;

/**
 * The signature of a stored file version, read from the repository (one sequential read).
 * The chunks are not verified against their ids here: the file rebuilt from this basis is checked whole against
 * the agent's SHA-256, and every delta saves a SHA-256 pass over its previous version on the receiver's busiest
 * thread. A block damaged on disk reads the same here and in the patch, so it cannot match the agent's block and
 * goes as literal data; a basis that reads differently in the two passes fails the rebuild's check and the file is
 * sent again whole. The session checks the stored chunks it has reason to doubt with chunksIntact.
 */
export function signStoredContent(reader: ChunkReader, content: FileContent, size: bigint, blockLength: number, strongLength: number): Promise<Signature> {
  return signature(new StoredContentSource(reader, content), { expectedLength: Number(size), blockLength, strongLength });
}

/** A signature encoded and cut into Signature frames. */
export function signatureFrames(sig: Signature): Buffer[] {
  const encoded = encodeSignature(sig);
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
 * Whether every one of these stored chunks reads back as its id says (a verified read of each, one scratch buffer).
 * Never throws: a chunk that cannot be read at all counts as not intact.
 */
export async function chunksIntact(reader: ChunkReader, ids: readonly ObjectId[]): Promise<boolean> {
  const scratch = Buffer.allocUnsafe(CONTENT_CHUNK_BYTES);
  try {
    for (const id of ids) await reader.readBlob(id, { into: scratch });
    return true;
  } catch {
    return false;
  }
}
