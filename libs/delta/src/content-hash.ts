import { createHash, type Hash } from 'node:crypto';

/**
 * Berth's content hash: the name of a file's content in the repository, in dedup offers and at the end of every
 * transfer, computed the same way by agent and receiver.
 *
 * Content is cut into chunks of CONTENT_CHUNK_BYTES (the last one shorter, never empty), and each chunk is named
 * by its SHA-256 (the repository's blob id). Content of at most one chunk is named by its SHA-256, which is its
 * chunk's id. Longer content is named by the SHA-256 of
 *
 *   "berth content v2\n" | u64 little-endian size | id of chunk 0 | id of chunk 1 | ...
 *
 * which is collision resistant as SHA-256 is (the ids and the size fix the chunks), and lets a receiver that
 * rebuilds a large file from a delta name the result from the ids of the chunks it copied unchanged, without
 * reading or hashing them again: an edit of 4 KiB in a 64 MiB file costs it one chunk's hash, not 64 MiB's.
 * (Up to protocol 6, content of more than one chunk was named by the SHA-256 of its bytes; stored content of that
 * time keeps that name: see isChunkListHash.)
 */
export const CONTENT_CHUNK_BYTES = 1024 * 1024;
export const CONTENT_HASH_BYTES = 32;
const DOMAIN = Buffer.from('berth content v2\n', 'latin1');
const EMPTY_SHA256 = createHash('sha256').digest();

/**
 * The content hash of content whose chunks have `chunkIds` (in order) and whose length is `size`.
 * Assumes the chunks are cut as described above (checking that needs their lengths: see chunkCountFor).
 */
export function chunkListHash(chunkIds: readonly Uint8Array[], size: bigint | number): Buffer {
  if (chunkIds.length === 0) return Buffer.from(EMPTY_SHA256);
  if (chunkIds.length === 1) return Buffer.from(chunkIds[0] as Uint8Array);
  const hash = createHash('sha256').update(DOMAIN);
  const length = Buffer.allocUnsafe(8);
  length.writeBigUInt64LE(BigInt(size));
  hash.update(length);
  for (const id of chunkIds) hash.update(id);
  return hash.digest();
}

/** How many chunks content of `size` bytes is cut into. */
export function chunkCountFor(size: bigint | number): number {
  return Math.ceil(Number(size) / CONTENT_CHUNK_BYTES);
}

/**
 * Whether `hash` names content of these chunks as the content hash does (always true for one chunk or none);
 * false for content stored under the SHA-256 of its bytes (before protocol 7), or a wrong hash.
 */
export function isChunkListHash(hash: Uint8Array, chunkIds: readonly Uint8Array[], size: bigint | number): boolean {
  return chunkListHash(chunkIds, size).equals(hash);
}

/**
 * The content hash of a byte stream, on the calling thread: each chunk is hashed once, for its id, and the ids
 * are kept (`chunkIds`, for offers). `update` copies nothing; the caller may reuse its buffer at once.
 */
export class ContentHasher {
  private readonly ids: Buffer[] = [];
  private current: Hash = createHash('sha256');
  private inChunk = 0;
  private size = 0;

  update(data: Uint8Array): this {
    let offset = 0;
    while (offset < data.length) {
      const take = Math.min(CONTENT_CHUNK_BYTES - this.inChunk, data.length - offset);
      this.current.update(offset === 0 && take === data.length ? data : data.subarray(offset, offset + take));
      this.inChunk += take;
      this.size += take;
      offset += take;
      if (this.inChunk === CONTENT_CHUNK_BYTES) this.endChunk();
    }
    return this;
  }

  /** Ids of the chunks completed so far (all of them after digest). */
  get chunkIds(): readonly Buffer[] {
    return this.ids;
  }

  get bytes(): number {
    return this.size;
  }

  digest(): Buffer {
    if (this.inChunk > 0) this.endChunk();
    return chunkListHash(this.ids, this.size);
  }

  private endChunk(): void {
    this.ids.push(this.current.digest());
    this.current = createHash('sha256');
    this.inChunk = 0;
  }
}
