import { copyRange, DeltaDecoder, DeltaError, DeltaFormatError, wholeFileHashName, type BasisReader, type DeltaHeader, type DeltaToken, type WholeFileHash } from '@berth/delta';
import { CONTENT_CHUNK_BYTES, type StoredChunk } from '@berth/repository';

/** A basis that can also hand out a whole stored chunk by its id (see RepositoryBasis). */
export interface ChunkedBasis extends BasisReader {
  readonly length: number;
  /**
   * Chunk `index` of the basis by its id and stored length (0 when it is not stored), read only if `read` is called;
   * its bytes may be valid only until the next call on the basis.
   */
  storedChunk?(index: number): StoredChunk;
}

/** Takes a whole stored chunk of the output by its id (ContentWriter.writeStored). */
export type WriteStored = (chunk: StoredChunk) => Promise<void>;

/** Largest read from the basis per step: a copy run of many blocks is written in pieces of this size. */
const COPY_PIECE_BYTES = 1024 * 1024;

/**
 * Rebuilds one file from its basis and a delta arriving in frames of any cut (libs/delta's `patch` in push
 * form: the receiver is driven by incoming messages). Output goes to `write` in order, in pieces of at most
 * 1 MiB, so memory stays bounded whatever the file size. The content hash of the result is checked by the writer
 * against FileEnd; here the delta's own grammar, its basis length and its announced length are checked.
 * Copies are cut at the output's chunk boundaries: a basis chunk copied whole to the same chunk position (all of
 * a large file but the chunks around an edit) goes to `writeStored` by its id, so it is neither read nor hashed
 * again where the content hash names the file from its chunk ids (protocol 7).
 * @throws DeltaError / DeltaFormatError when the delta does not fit the basis or is malformed.
 */
export class DeltaApplier {
  private readonly decoder = new DeltaDecoder();
  private header: DeltaHeader | null = null;
  private endToken: Extract<DeltaToken, { kind: 'end' }> | null = null;
  /** Bytes of the new version written so far. */
  private written = 0;
  /** Chunk indexes of the new version that were copied whole from the basis chunk at the same index (writeStored). */
  readonly copiedWhole = new Set<number>();

  constructor(
    private readonly basis: ChunkedBasis,
    private readonly write: (data: Buffer) => Promise<void>,
    private readonly writeStored: WriteStored | null = null,
    /** The whole-file hash the delta must carry: FileEnd's content hash is compared with it. */
    private readonly hash: WholeFileHash = 'content',
  ) {}

  async push(data: Buffer): Promise<void> {
    for (const token of this.decoder.push(data)) await this.apply(token);
  }

  /** The end token (new length and SHA-256) once the whole delta was applied. */
  finish(): { length: number; sha256: Buffer } {
    this.decoder.finish();
    const end = this.endToken as NonNullable<DeltaApplier['endToken']>;
    return { length: end.length, sha256: Buffer.from(end.digest) };
  }

  private async apply(token: DeltaToken): Promise<void> {
    switch (token.kind) {
      case 'header':
        // The end digest is compared with FileEnd's content hash: a delta hashed otherwise cannot be checked here.
        if (token.hash !== this.hash) throw new DeltaFormatError('unsupported', `the delta's whole-file hash is ${wholeFileHashName(token.hash)}, this session's deltas must use ${wholeFileHashName(this.hash)}`);
        if (token.basisLength !== this.basis.length) {
          throw new DeltaError('basis_mismatch', `the delta was made against a ${token.basisLength}-byte basis, the previous version has ${this.basis.length}`);
        }
        this.header = token;
        return;
      case 'literal':
        // The literal may alias the frame it came in; frames are not reused, so it can be kept as is.
        this.written += token.data.length;
        await this.write(Buffer.from(token.data.buffer, token.data.byteOffset, token.data.length));
        return;
      case 'copy': {
        const { offset, length } = copyRange(this.header as DeltaHeader, token);
        for (let done = 0; done < length; ) {
          const at = offset + done;
          const step = Math.min(COPY_PIECE_BYTES, length - done, CONTENT_CHUNK_BYTES - (this.written % CONTENT_CHUNK_BYTES));
          // A whole basis chunk, stored as a full chunk, copied to a chunk boundary of the output.
          const stored = step === CONTENT_CHUNK_BYTES && at % CONTENT_CHUNK_BYTES === 0 ? this.basis.storedChunk?.(at / CONTENT_CHUNK_BYTES) : undefined;
          if (stored?.length === CONTENT_CHUNK_BYTES && this.writeStored !== null) {
            this.copiedWhole.add(this.written / CONTENT_CHUNK_BYTES);
            this.written += CONTENT_CHUNK_BYTES;
            await this.writeStored(stored);
            done += CONTENT_CHUNK_BYTES;
            continue;
          }
          const piece = await this.basis.read(at, step);
          if (piece.length === 0) throw new DeltaError('basis_mismatch', `the basis ends before offset ${at}`);
          this.written += piece.length;
          await this.write(Buffer.from(piece.buffer, piece.byteOffset, piece.length));
          done += piece.length;
        }
        return;
      }
      case 'end':
        this.endToken = token;
        return;
    }
  }
}
