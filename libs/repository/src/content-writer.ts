import { createHash, type Hash } from 'node:crypto';
import { chunkListHash } from '@berth/delta';
import { type FileContentWriter, type WrittenContent } from './api';
import { CONTENT_CHUNK_BYTES, type ObjectId } from './model';
import { RepositoryInputError } from './errors';
import { sha256 } from './ids';

export interface BlobSink {
  putBlob(data: Buffer): Promise<{ id: ObjectId; stored: boolean }>;
}

const EMPTY_SHA256 = sha256(Buffer.alloc(0));

/**
 * A chunk of the output already stored under `id` (a delta copying its basis chunk by chunk): its bytes are read
 * only when something needs them (`read`; valid until the next read of the same source).
 */
export interface StoredChunk {
  readonly id: ObjectId;
  readonly length: number;
  readonly read: () => Promise<Buffer>;
}

/**
 * Sees each chunk of the file once it is stored, in file order, with its id; `stored` is true for a chunk taken by id
 * (writeStored), whose bytes were not hashed here and are read only if `data()` is called. The data is valid only
 * until the returned promise settles. Chunks of a StoredPrefix are not seen.
 */
export type ChunkObserver = (data: () => Promise<Buffer>, id: ObjectId, stored: boolean) => Promise<void> | void;

/**
 * A file's whole SHA-256 as the writer feeds it, for agents before protocol 7, which name content of more than one
 * chunk by the SHA-256 of its bytes (see @berth/delta's content-hash). The caller may choose where it is computed:
 * node:crypto on the calling thread (inlineWholeHash), a helper thread in the receiver (libs/delta's Sha256Stream).
 */
export interface WholeHash {
  /** Adds bytes, without keeping `data`; returns a promise only when it must wait, to await before the next update. */
  update(data: Buffer): Promise<void> | undefined;
  digest(): Promise<Buffer>;
  /** Frees the state of a hash abandoned before `digest` (no-op afterwards). */
  abort(): void;
}

/** node:crypto's SHA-256 on the calling thread, continuing `hash` when given. */
export function inlineWholeHash(hash: Hash = createHash('sha256')): WholeHash {
  return {
    update(data) {
      hash.update(data);
      return undefined;
    },
    digest: () => Promise.resolve(hash.digest()),
    abort: () => undefined,
  };
}

/**
 * Leading full chunks of the file that are already stored (a file resumed after its stored part): their ids, and
 * (legacy whole-file hashing only) the whole-file hash fed with their bytes, in order. What is written next
 * follows them.
 */
export interface StoredPrefix {
  readonly chunks: readonly ObjectId[];
  readonly whole: WholeHash | null;
}

/**
 * Turns a file's bytes, arriving in pieces of any size, into stored chunks of CONTENT_CHUNK_BYTES and its
 * FileContent, named by the content hash (@berth/delta's chunkListHash): each byte is hashed once, for its chunk's
 * id, and a chunk taken by id (writeStored) not at all. With `legacyWholeHash` (agents before protocol 7) content
 * of more than one chunk is named by the SHA-256 of its bytes instead, which a running whole-file hash computes,
 * started when the second chunk is known to exist.
 */
export class ContentWriter implements FileContentWriter {
  private pieces: Buffer[] = [];
  private pieceBytes = 0;
  private readonly chunks: ObjectId[] = [];
  private whole: WholeHash | null = null;
  private size = 0;
  private bytesStored = 0;
  private finished = false;

  constructor(
    private readonly sink: BlobSink,
    prefix: StoredPrefix | null = null,
    /** Legacy naming only: starts the whole-file hash of a file of more than one chunk. */
    private readonly legacyWholeHash: (() => WholeHash) | null = null,
    private readonly observe: ChunkObserver | null = null,
  ) {
    if (prefix !== null && prefix.chunks.length > 0) {
      if ((legacyWholeHash === null) !== (prefix.whole === null)) throw new RepositoryInputError('a stored prefix needs a whole-file hash exactly when the content is named by one');
      this.chunks.push(...prefix.chunks);
      this.whole = prefix.whole;
      this.size = prefix.chunks.length * CONTENT_CHUNK_BYTES;
    }
  }

  /** Adds the next bytes. The buffer is kept (not copied) until its bytes are written to disk: never modify it. */
  async write(data: Buffer): Promise<void> {
    if (this.finished) throw new RepositoryInputError('ContentWriter.write called after finish');
    if (data.length === 0) return;
    this.pieces.push(data);
    this.pieceBytes += data.length;
    this.size += data.length;
    // Strictly more than one chunk buffered: the first chunk is then surely not the last.
    while (this.pieceBytes > CONTENT_CHUNK_BYTES) await this.storeChunk(this.take(CONTENT_CHUNK_BYTES));
  }

  /**
   * Adds the next CONTENT_CHUNK_BYTES of the file when they are a chunk already stored (a delta copying its basis
   * chunk by chunk): its id joins the content as it is, not read, hashed or offered to the repository again. Its
   * bytes are read only for a legacy whole-file hash (which then covers them) or an observer that needs them.
   * Anything else (not on a chunk boundary, not a whole chunk) is read and written as by write(), from a copy.
   */
  async writeStored(chunk: StoredChunk): Promise<void> {
    if (this.finished) throw new RepositoryInputError('ContentWriter.writeStored called after finish');
    if (chunk.length !== CONTENT_CHUNK_BYTES || this.size % CONTENT_CHUNK_BYTES !== 0) return this.write(Buffer.from(await chunk.read()));
    // On a chunk boundary what is buffered is one whole chunk, now known not to be the file's last.
    while (this.pieceBytes > 0) await this.storeChunk(this.take(Math.min(CONTENT_CHUNK_BYTES, this.pieceBytes)));
    let data: Buffer | null = null;
    const read = async (): Promise<Buffer> => {
      data ??= await chunk.read();
      if (data.length !== CONTENT_CHUNK_BYTES) throw new RepositoryInputError(`stored chunk ${chunk.id.toString('hex')} read as ${data.length} bytes, not ${CONTENT_CHUNK_BYTES}`);
      return data;
    };
    if (this.legacyWholeHash !== null) {
      this.whole ??= this.legacyWholeHash();
      await this.whole.update(await read());
    }
    this.chunks.push(chunk.id);
    this.size += CONTENT_CHUNK_BYTES;
    if (this.observe !== null) await this.observe(read, chunk.id, true);
  }

  async finish(): Promise<WrittenContent> {
    if (this.finished) throw new RepositoryInputError('ContentWriter.finish called twice');
    this.finished = true;
    if (this.size === 0) return { content: { sha256: Buffer.from(EMPTY_SHA256), chunks: [] }, size: 0n, bytesStored: 0 };
    const last = this.take(this.pieceBytes);
    if (this.chunks.length === 0) {
      const id = await this.putChunk(last);
      return { content: { sha256: id, chunks: [id] }, size: BigInt(this.size), bytesStored: this.bytesStored };
    }
    // A resumed file may end exactly after its stored part (it shrank since it was offered).
    if (last.length > 0) await this.storeChunk(last);
    const sha256 = this.legacyWholeHash === null ? chunkListHash(this.chunks, this.size) : await (this.whole as WholeHash).digest();
    return { content: { sha256, chunks: [...this.chunks] }, size: BigInt(this.size), bytesStored: this.bytesStored };
  }

  /** Gives up on the file (it will not be finished): frees its whole-file hash. */
  abort(): void {
    this.finished = true;
    this.pieces = [];
    this.whole?.abort();
  }

  private async storeChunk(chunk: Buffer): Promise<void> {
    if (this.legacyWholeHash !== null) {
      this.whole ??= this.legacyWholeHash();
      await this.whole.update(chunk);
    }
    await this.putChunk(chunk);
  }

  private async putChunk(chunk: Buffer): Promise<ObjectId> {
    const { id, stored } = await this.sink.putBlob(chunk);
    this.chunks.push(id);
    if (stored) this.bytesStored += chunk.length;
    if (this.observe !== null) await this.observe(() => Promise.resolve(chunk), id, false);
    return id;
  }

  /** Removes the first `bytes` buffered bytes; copies only those (never the rest) when they span pieces. */
  private take(bytes: number): Buffer {
    if (bytes === 0) return Buffer.alloc(0);
    const first = this.pieces[0] as Buffer;
    if (first.length >= bytes) {
      const taken = first.subarray(0, bytes);
      if (first.length === bytes) this.pieces.shift();
      else this.pieces[0] = first.subarray(bytes);
      this.pieceBytes -= bytes;
      return taken;
    }
    const out = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const piece = this.pieces[0] as Buffer;
      const used = Math.min(piece.length, bytes - filled);
      piece.copy(out, filled, 0, used);
      filled += used;
      if (used === piece.length) this.pieces.shift();
      else this.pieces[0] = piece.subarray(used);
    }
    this.pieceBytes -= bytes;
    return out;
  }
}
