import { CONTENT_CHUNK_BYTES, type FileContent, type ObjectId, type ReadOptions } from '@berth/repository';
import { type BasisReader } from '@berth/delta';

export interface BlobReader {
  readBlob(id: ObjectId, options?: ReadOptions): Promise<Buffer>;
}

/**
 * Random access to a stored file version, for patching a delta: offset / 1 MiB names the chunk. Copies are
 * mostly sequential, so the last two chunks read are kept (a copy may straddle two). Chunks are read without
 * checking them against their ids: the signature sent for this basis was computed from the same chunks, each
 * checked, moments before; and the rebuilt file's SHA-256 must match the agent's, so a basis damaged since
 * still fails the file (which is then asked for whole). The rebuild so hashes each byte once, not twice.
 */
export class RepositoryBasis implements BasisReader {
  readonly length: number;
  private readonly cache: Array<{ index: number; data: Buffer }> = [];

  constructor(
    private readonly reader: BlobReader,
    private readonly content: FileContent,
    size: bigint,
  ) {
    this.length = Number(size);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(offset + length, this.length);
    if (end <= offset) return Buffer.alloc(0);
    const first = Math.floor(offset / CONTENT_CHUNK_BYTES);
    const last = Math.floor((end - 1) / CONTENT_CHUNK_BYTES);
    if (first === last) {
      const chunk = await this.chunk(first);
      const start = offset - first * CONTENT_CHUNK_BYTES;
      return chunk.subarray(start, start + (end - offset));
    }
    const out = Buffer.allocUnsafe(end - offset);
    let filled = 0;
    for (let index = first; index <= last; index++) {
      const chunk = await this.chunk(index);
      const from = Math.max(offset, index * CONTENT_CHUNK_BYTES) - index * CONTENT_CHUNK_BYTES;
      const to = Math.min(end, (index + 1) * CONTENT_CHUNK_BYTES) - index * CONTENT_CHUNK_BYTES;
      filled += chunk.copy(out, filled, from, to);
    }
    return out;
  }

  /** Chunk `index` of the basis (every chunk but the last is CONTENT_CHUNK_BYTES long) and its id. */
  async storedChunk(index: number): Promise<{ data: Buffer; id: ObjectId }> {
    return { data: await this.chunk(index), id: this.content.chunks[index] as ObjectId };
  }

  private async chunk(index: number): Promise<Buffer> {
    const cached = this.cache.find((entry) => entry.index === index);
    if (cached !== undefined) return cached.data;
    const id = this.content.chunks[index];
    if (id === undefined) throw new Error(`basis has no chunk ${index}`);
    const data = await this.reader.readBlob(id, { verify: false });
    this.cache.push({ index, data });
    if (this.cache.length > 2) this.cache.shift();
    return data;
  }
}
