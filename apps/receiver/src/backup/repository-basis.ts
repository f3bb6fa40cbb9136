import { CONTENT_CHUNK_BYTES, type FileContent, type ObjectId, type ReadOptions, type StoredChunk } from '@berth/repository';
import { type BasisReader } from '@berth/delta';

export interface BlobReader {
  readBlob(id: ObjectId, options?: ReadOptions): Promise<Buffer>;
  blobLength(id: ObjectId): number | null;
}

/** A chunk read from the basis. */
interface CachedChunk {
  readonly index: number;
  readonly data: Buffer;
  /** A view of it was handed out by read(): its memory cannot be read into again. */
  escaped: boolean;
}

/**
 * Random access to a stored file version, for patching a delta: offset / 1 MiB names the chunk. Copies are
 * mostly sequential, so the last two chunks read are kept (a copy may straddle two). Chunks are read without
 * checking them against their ids: the signature sent for this basis was computed from the same chunks, each
 * checked, moments before; and what is read goes into new chunks, hashed for their ids, which the content hash
 * the agent sent covers, so a basis damaged since still fails the file (which is then asked for whole).
 * A chunk copied whole to the same position (storedChunk: all of a large file but around its edits) is not read
 * at all where the content hash is the chunk-list hash; when it is read (a legacy whole-file hash, a signature to
 * assemble), it goes into the memory of the chunk it displaces from the cache, so a rebuild does not allocate (and
 * fault in) a fresh MiB per chunk.
 */
export class RepositoryBasis implements BasisReader {
  readonly length: number;
  private readonly cache: CachedChunk[] = [];
  /** Memory of a chunk evicted from the cache that nothing else holds, for the next chunk read. */
  private spare: Buffer | null = null;

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
      chunk.escaped = true;
      const start = offset - first * CONTENT_CHUNK_BYTES;
      return chunk.data.subarray(start, start + (end - offset));
    }
    const out = Buffer.allocUnsafe(end - offset);
    let filled = 0;
    for (let index = first; index <= last; index++) {
      const chunk = await this.chunk(index);
      const from = Math.max(offset, index * CONTENT_CHUNK_BYTES) - index * CONTENT_CHUNK_BYTES;
      const to = Math.min(end, (index + 1) * CONTENT_CHUNK_BYTES) - index * CONTENT_CHUNK_BYTES;
      filled += chunk.data.copy(out, filled, from, to);
    }
    return out;
  }

  /**
   * Chunk `index` of the basis by its id and stored length (0: not stored), read only when `read` is called. The
   * bytes read are valid until the next call: they are to be consumed (hashed), not kept.
   */
  storedChunk(index: number): StoredChunk {
    const id = this.content.chunks[index];
    if (id === undefined) throw new Error(`basis has no chunk ${index}`);
    // The length the pack index records: content stored before the chunk cut was checked may have other cuts.
    return { id, length: this.reader.blobLength(id) ?? 0, read: async () => (await this.chunk(index)).data };
  }

  private async chunk(index: number): Promise<CachedChunk> {
    const cached = this.cache.find((entry) => entry.index === index);
    if (cached !== undefined) return cached;
    const id = this.content.chunks[index];
    if (id === undefined) throw new Error(`basis has no chunk ${index}`);
    const into = this.spare;
    this.spare = null;
    const data = await this.reader.readBlob(id, into === null ? { verify: false } : { verify: false, into });
    const chunk: CachedChunk = { index, data, escaped: false };
    this.cache.push(chunk);
    if (this.cache.length > 2) {
      const evicted = this.cache.shift() as CachedChunk;
      if (!evicted.escaped && evicted.data.byteLength === CONTENT_CHUNK_BYTES) this.spare = evicted.data;
    }
    return chunk;
  }
}
