import { CONTENT_CHUNK_BYTES, type FileContent, type ObjectId } from '@berth/repository';
import { createHash, type Hash } from 'node:crypto';

export interface BlobStore {
  putBlob(data: Buffer): Promise<{ id: ObjectId; stored: boolean }>;
}

export interface AssembledFile {
  readonly content: FileContent;
  readonly size: bigint;
}

const EMPTY_SHA256 = createHash('sha256').digest();

/**
 * Cuts one file's bytes, arriving in frames of any size, into CONTENT_CHUNK_BYTES blobs and computes its
 * whole-file SHA-256. A one-chunk file is hashed once: its blob id is the SHA-256 of its content.
 * `onStored` reports each chunk once its blob is handed to the repository, so byte credit follows storage.
 */
export class FileAssembler {
  private pieces: Buffer[] = [];
  private pieceBytes = 0;
  private readonly chunks: ObjectId[] = [];
  private whole: Hash | null = null;
  private size = 0;

  constructor(
    private readonly store: BlobStore,
    private readonly onStored: (bytes: number, isNew: boolean) => void,
  ) {}

  async write(data: Buffer): Promise<void> {
    if (data.length === 0) return;
    this.pieces.push(data);
    this.pieceBytes += data.length;
    this.size += data.length;
    // Only when more than one chunk is buffered do we know the first is not the file's only chunk.
    while (this.pieceBytes > CONTENT_CHUNK_BYTES) await this.storeChunk(this.take(CONTENT_CHUNK_BYTES));
  }

  async finish(): Promise<AssembledFile> {
    if (this.size === 0) return { content: { sha256: Buffer.from(EMPTY_SHA256), chunks: [] }, size: 0n };
    const last = this.take(this.pieceBytes);
    if (this.chunks.length === 0) {
      const id = await this.put(last);
      return { content: { sha256: id, chunks: [id] }, size: BigInt(this.size) };
    }
    await this.storeChunk(last);
    return { content: { sha256: (this.whole as Hash).digest(), chunks: [...this.chunks] }, size: BigInt(this.size) };
  }

  private async storeChunk(chunk: Buffer): Promise<void> {
    this.whole ??= createHash('sha256');
    this.whole.update(chunk);
    await this.put(chunk);
  }

  private async put(chunk: Buffer): Promise<ObjectId> {
    const { id, stored } = await this.store.putBlob(chunk);
    this.chunks.push(id);
    this.onStored(chunk.length, stored);
    return id;
  }

  private take(count: number): Buffer {
    if (this.pieces.length === 1 && (this.pieces[0] as Buffer).length === count) {
      const only = this.pieces[0] as Buffer;
      this.pieces = [];
      this.pieceBytes = 0;
      return only;
    }
    const out = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const piece = this.pieces[0] as Buffer;
      const used = Math.min(piece.length, count - filled);
      piece.copy(out, filled, 0, used);
      filled += used;
      if (used === piece.length) this.pieces.shift();
      else this.pieces[0] = piece.subarray(used);
    }
    this.pieceBytes -= count;
    return out;
  }
}
