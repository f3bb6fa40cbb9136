import { createHash, type Hash } from 'node:crypto';
import { type FileContentWriter, type WrittenContent } from './api';
import { CONTENT_CHUNK_BYTES, type ObjectId } from './model';
import { RepositoryInputError } from './errors';
import { sha256 } from './ids';

export interface BlobSink {
  putBlob(data: Buffer): Promise<{ id: ObjectId; stored: boolean }>;
}

const EMPTY_SHA256 = sha256(Buffer.alloc(0));

/**
 * Sees each chunk of the file once it is stored, in file order, with its id; `stored` is true for a chunk taken by id
 * (writeStored), whose bytes were not hashed here. `data` is valid only until the returned promise settles. Chunks of
 * a StoredPrefix are not seen.
 */
export type ChunkObserver = (data: Buffer, id: ObjectId, stored: boolean) => Promise<void> | void;

/**
 * A file's whole SHA-256 as the writer feeds it. The caller may choose where it is computed: node:crypto on the
 * calling thread by default (inlineWholeHash), a helper thread in the receiver (libs/delta's Sha256Stream).
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
 * Leading full chunks of the file that are already stored (a file resumed after its stored part): their ids, and the
 * whole-file hash fed with their bytes, in order. What is written next follows them.
 */
export interface StoredPrefix {
  readonly chunks: readonly ObjectId[];
  readonly whole: WholeHash;
}

/**
 * Turns a file's bytes, arriving in pieces of any size, into stored chunks of CONTENT_CHUNK_BYTES and its
 * FileContent. A file of one chunk is hashed once: its whole-file SHA-256 is its chunk's id. Larger files
 * also feed a running whole-file hash, started when the second chunk is known to exist.
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
    /** Starts the whole-file hash of a file of more than one chunk. */
    private readonly newWholeHash: () => WholeHash = inlineWholeHash,
    private readonly observe: ChunkObserver | null = null,
  ) {
    if (prefix !== null && prefix.chunks.length > 0) {
      this.chunks.push(...prefix.chunks);
      this.whole = prefix.whole;
      this.size = prefix.chunks.length * CONTENT_CHUNK_BYTES;
    }
  }

  /** Adds the next bytes. The buffer is kept (not copied) until its bytes are stored: do not reuse it. */
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
   * Adds the next CONTENT_CHUNK_BYTES of the file when they are a chunk already stored under `id` (a delta copying
   * its basis chunk by chunk): they only feed the whole-file hash, instead of being hashed again for an id and
   * offered to the repository. The bytes need not have been checked against `id`: the whole-file hash covers them,
   * so content that is not what `id` names cannot end up matching the sender's hash. Anything else (not on a chunk
   * boundary, not a whole chunk) is written as by write(), from a copy. Unlike write(), `data` is not kept once
   * this resolves: the caller may reuse its memory.
   */
  async writeStored(data: Buffer, id: ObjectId): Promise<void> {
    if (this.finished) throw new RepositoryInputError('ContentWriter.writeStored called after finish');
    if (data.length !== CONTENT_CHUNK_BYTES || this.size % CONTENT_CHUNK_BYTES !== 0) return this.write(Buffer.from(data));
    // On a chunk boundary what is buffered is one whole chunk, now known not to be the file's last.
    while (this.pieceBytes > 0) await this.storeChunk(this.take(Math.min(CONTENT_CHUNK_BYTES, this.pieceBytes)));
    this.whole ??= this.newWholeHash();
    await this.whole.update(data);
    this.chunks.push(id);
    this.size += data.length;
    if (this.observe !== null) await this.observe(data, id, true);
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
    const whole = await (this.whole as WholeHash).digest();
    return { content: { sha256: whole, chunks: [...this.chunks] }, size: BigInt(this.size), bytesStored: this.bytesStored };
  }

  /** Gives up on the file (it will not be finished): frees its whole-file hash. */
  abort(): void {
    this.finished = true;
    this.pieces = [];
    this.whole?.abort();
  }

  private async storeChunk(chunk: Buffer): Promise<void> {
    this.whole ??= this.newWholeHash();
    await this.whole.update(chunk);
    await this.putChunk(chunk);
  }

  private async putChunk(chunk: Buffer): Promise<ObjectId> {
    const { id, stored } = await this.sink.putBlob(chunk);
    this.chunks.push(id);
    if (stored) this.bytesStored += chunk.length;
    if (this.observe !== null) await this.observe(chunk, id, false);
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
