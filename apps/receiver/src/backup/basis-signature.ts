import { encodeSignature, Sha256Stream, signature, type ByteSource } from '@berth/delta';
import { CONTENT_CHUNK_BYTES, RepositoryCorruptError, type FileContent, type ObjectId, type ReadOptions } from '@berth/repository';

export interface ChunkReader {
  readBlob(id: ObjectId, options?: ReadOptions): Promise<Buffer>;
}

/** Signature bytes per Signature frame: well below the smallest frame limit a receiver may negotiate (2 MiB). */
export const SIGNATURE_FRAME_BYTES = 1024 * 1024;

/**
 * The encoded signature of a stored file version, cut into frames. Computed on demand from the repository
 * (one sequential read, every chunk verified) rather than cached: about 0.1 s for 64 MiB here, and a cache
 * would have to be kept consistent with the blobs it describes.
 */
export async function basisSignatureFrames(reader: ChunkReader, content: FileContent, size: bigint): Promise<Buffer[]> {
  const source = new StoredContentSource(reader, content);
  let sums: Awaited<ReturnType<typeof signature>>;
  try {
    sums = await signature(source, { expectedLength: Number(size) });
  } finally {
    await source.verified();
  }
  const encoded = encodeSignature(sums);
  const frames: Buffer[] = [];
  for (let offset = 0; offset < encoded.length; offset += SIGNATURE_FRAME_BYTES) frames.push(encoded.subarray(offset, offset + SIGNATURE_FRAME_BYTES));
  return frames;
}

/** A chunk read, and its SHA-256 being computed on the helper thread. */
interface PendingCheck {
  readonly id: ObjectId;
  readonly digest: Promise<Buffer>;
}

/**
 * A stored file's chunks in order, each verified against its id, as the signature's input. The signature reads
 * in pieces of whole chunks, so a chunk is read straight into the signature's buffer: nothing is allocated per
 * MiB. A read that cannot take a whole chunk goes through one scratch chunk, reused. Each chunk's SHA-256 is
 * computed on a helper thread (its bytes copied there as read) while the signature is computed here; verified()
 * waits for them all, so a signature is used only once every chunk it was made from matched its id.
 */
class StoredContentSource implements ByteSource {
  readonly knownLength = undefined;
  private next = 0;
  /** What is left of the last chunk read into `scratch`. */
  private pending: Buffer | null = null;
  private scratch: Buffer | null = null;
  private readonly checks: PendingCheck[] = [];

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
        const data = await this.check(id, await this.reader.readBlob(id, { into, verify: false }));
        if (data.buffer === into.buffer && data.byteOffset === into.byteOffset) {
          if (data.length > 0) return data.length;
          continue;
        }
        this.pending = data;
      } else {
        this.scratch ??= Buffer.allocUnsafe(CONTENT_CHUNK_BYTES);
        this.pending = await this.check(id, await this.reader.readBlob(id, { into: this.scratch, verify: false }));
      }
    }
    const count = Math.min(length, this.pending.length);
    target.set(this.pending.subarray(0, count), offset);
    this.pending = this.pending.subarray(count);
    return count;
  }

  /** Throws RepositoryCorruptError when a chunk read does not match its id (after all of them were checked). */
  async verified(): Promise<void> {
    const results = await Promise.allSettled(this.checks.map((check) => check.digest));
    for (const [i, result] of results.entries()) {
      if (result.status === 'rejected') throw result.reason;
      const id = (this.checks[i] as PendingCheck).id;
      if (!result.value.equals(id)) throw new RepositoryCorruptError(`object ${id.toString('hex')} does not match its id`, id.toString('hex'));
    }
  }

  /** Starts hashing `data` (copied to the helper before this resolves: its memory may be reused after). */
  private async check(id: ObjectId, data: Buffer): Promise<Buffer> {
    const hash = new Sha256Stream();
    await hash.update(data);
    const digest = hash.digest();
    // Settled by verified(); marked handled now in case the signature fails first.
    digest.catch(() => undefined);
    this.checks.push({ id, digest });
    return data;
  }

  close(): Promise<void> {
    this.pending = null;
    return Promise.resolve();
  }
}
