/**
 * Signatures of stored large files, kept beside the repository so that a delta against a file's previous
 * version does not read that whole version back first (on a slow repository, reading a 10 GiB basis to sign it
 * is most of the night's work for that file).
 *
 * Keyed by the file's whole SHA-256 and the block length: the content is immutable, so an entry never goes
 * stale, and hosts holding the same content share it. A cache, never the only copy of anything: a missing, torn
 * or foreign file reads as absent (the signature is computed from the repository as before), and a signature
 * that does not describe the basis cannot corrupt a snapshot, only cost a resend: the rebuilt file must match
 * the agent's SHA-256, or it is asked for whole.
 *
 * Entries keep whole xxh128 hashes (16 bytes) and are cut to the file's strong length when sent. Block lengths
 * are powers of two (alignedBlockLength), so every block of a stored file lies inside one of its chunks: the
 * signature of a new version is assembled from its chunks as they are stored, the chunks it shares with its
 * basis (all of a large file but around its edits) taking their blocks from the basis's signature unhashed.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeSignature, encodeSignature, MAX_STRONG_LENGTH, signature, type Signature } from '@berth/delta';
import { CONTENT_CHUNK_BYTES, type ObjectId } from '@berth/repository';

/** Entries not used for this long are removed (the file was deleted, or unchanged that long); see SignatureCache.prune. */
export const SIGNATURE_CACHE_MAX_IDLE_MS = 30 * 24 * 3600 * 1000;

/** What SignatureCache.prune removed, and the bytes of the entries it keeps (temporary files not counted). */
export interface SignatureCachePrune {
  /** Entries not used for longer than the idle limit. */
  readonly idle: number;
  /** Least recently used entries removed to bring the cache within its byte limit. */
  readonly overLimit: number;
  readonly bytes: number;
}

function removed(path: string): Promise<boolean> {
  return rm(path, { force: true }).then(
    () => true,
    () => false,
  );
}

export class SignatureCache {
  readonly dir: string;

  constructor(repositoryRoot: string) {
    this.dir = join(repositoryRoot, 'receiver-cache', 'signatures');
  }

  /**
   * The kept signature of the content `sha256` with `blockLength`-byte blocks, or null: absent, or unreadable (then
   * removed, if it can be). Never throws: a cache that cannot be read is a cache miss.
   */
  async load(sha256: Buffer, blockLength: number): Promise<Signature | null> {
    const path = this.pathOf(sha256, blockLength);
    let sig: Signature;
    try {
      sig = decodeSignature(await readFile(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') await rm(path, { force: true }).catch(() => undefined);
      return null;
    }
    if (sig.blockLength !== blockLength || sig.strongLength !== MAX_STRONG_LENGTH) {
      await rm(path, { force: true }).catch(() => undefined);
      return null;
    }
    // Marks it used, for prune.
    const now = new Date();
    await utimes(path, now, now).catch(() => undefined);
    return sig;
  }

  /** Keeps `sig` (whole strong hashes) for the content `sha256`. Written whole then renamed; not fsync'd: a cache. */
  async save(sha256: Buffer, sig: Signature): Promise<void> {
    if (sig.strongLength !== MAX_STRONG_LENGTH) throw new Error(`a kept signature holds whole strong hashes, got ${sig.strongLength} bytes`);
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.${randomUUID()}.tmp`);
    try {
      await writeFile(tmp, encodeSignature(sig));
      await rename(tmp, this.pathOf(sha256, sig.blockLength));
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  /** Removes an entry, if it can (best effort, as every write to this cache). */
  async remove(sha256: Buffer, blockLength: number): Promise<void> {
    await rm(this.pathOf(sha256, blockLength), { force: true }).catch(() => undefined);
  }

  /**
   * Keeps the cache within its limits: removes entries (and leftover temporary files) not used for `maxIdleMs`,
   * then, while the rest hold more than `maxBytes`, the least recently used. An entry is used when it is written
   * or loaded as a delta's basis, so what goes first is a deleted file's, or a file's unchanged for longest (its
   * next change signs it from the repository again). Never throws: what cannot be listed, read or removed is
   * left and not counted as removed.
   */
  async prune(limits: { readonly maxIdleMs: number; readonly maxBytes: number }, now = Date.now()): Promise<SignatureCachePrune> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const kept: { path: string; bytes: number; usedMs: number }[] = [];
    let idle = 0;
    for (const name of names) {
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => null);
      if (info === null || !info.isFile()) continue;
      if (now - info.mtimeMs > limits.maxIdleMs) {
        if (await removed(path)) idle += 1;
        continue;
      }
      // A temporary file is a write in progress (or one that failed, removed once idle): not the cache's to evict.
      if (!name.startsWith('.')) kept.push({ path, bytes: info.size, usedMs: info.mtimeMs });
    }
    let bytes = kept.reduce((sum, entry) => sum + entry.bytes, 0);
    let overLimit = 0;
    kept.sort((a, b) => a.usedMs - b.usedMs);
    for (const entry of kept) {
      if (bytes <= limits.maxBytes) break;
      if (!(await removed(entry.path))) continue;
      bytes -= entry.bytes;
      overLimit += 1;
    }
    return { idle, overLimit, bytes };
  }

  private pathOf(sha256: Buffer, blockLength: number): string {
    return join(this.dir, `${sha256.toString('hex')}-${blockLength}`);
  }
}

/** The blocks of one chunk: weak sums and whole strong hashes. */
interface ChunkBlocks {
  readonly weak: Uint32Array;
  readonly strong: Uint8Array;
}

/**
 * The signature of a file being stored, from its chunks in order (ContentWriter's ChunkObserver): a chunk that is
 * a whole chunk of the basis, by id, takes its blocks from the basis's signature; any other is signed.
 */
export class VersionSignature {
  private readonly pieces: ChunkBlocks[] = [];
  /** Whole basis chunks by id (hex): their index in the basis. */
  private readonly basisChunks = new Map<string, number>();
  /** Whether blocks end on chunk boundaries; if not, only a file of one chunk can be signed here. */
  private readonly aligned: boolean;
  private length = 0;
  /** Chunks whose blocks came from the basis's signature. */
  copied = 0;
  /** Set when a chunk could not be signed (the signature is then not to be kept); add() never throws. */
  failed = false;

  constructor(
    readonly blockLength: number,
    private readonly basis: { readonly signature: Signature; readonly chunks: readonly ObjectId[] } | null = null,
  ) {
    this.aligned = CONTENT_CHUNK_BYTES % blockLength === 0;
    if (this.aligned && basis !== null && basis.signature.blockLength === blockLength && basis.signature.strongLength === MAX_STRONG_LENGTH) {
      basis.chunks.forEach((id, index) => {
        // Only whole chunks: the last one's blocks depend on where the basis ended.
        if ((index + 1) * CONTENT_CHUNK_BYTES <= basis.signature.fileLength) this.basisChunks.set(id.toString('hex'), index);
      });
    }
  }

  /** Bytes added so far. */
  get bytes(): number {
    return this.length;
  }

  /**
   * The next chunk of the file (ContentWriter's ChunkObserver); sets `failed` instead of throwing. Only a chunk a delta
   * copied whole (`stored`: the agent's blocks matched the basis's signature there, and the rebuilt file passed its
   * SHA-256) takes the basis's blocks: any other is signed from its bytes, so a kept signature that was wrong for a
   * chunk is not carried into the next version's.
   */
  async add(data: () => Promise<Buffer>, id: ObjectId, stored = false): Promise<void> {
    if (this.failed) return;
    // Blocks would straddle chunks: after a partial chunk, or with a block length that does not divide one.
    if (this.length % CONTENT_CHUNK_BYTES !== 0 || (!this.aligned && this.length > 0)) {
      this.failed = true;
      return;
    }
    try {
      await this.sign(data, id, stored);
    } catch {
      this.failed = true;
    }
  }

  /** A chunk copied whole (`stored`, always a full chunk) is not read when the basis's signature has its blocks. */
  private async sign(read: () => Promise<Buffer>, id: ObjectId, stored: boolean): Promise<void> {
    const index = stored ? this.basisChunks.get(id.toString('hex')) : undefined;
    if (index !== undefined && this.basis !== null) {
      const perChunk = CONTENT_CHUNK_BYTES / this.blockLength;
      const first = index * perChunk;
      const sig = this.basis.signature;
      this.pieces.push({ weak: sig.weak.subarray(first, first + perChunk), strong: sig.strong.subarray(first * MAX_STRONG_LENGTH, (first + perChunk) * MAX_STRONG_LENGTH) });
      this.copied += 1;
      this.length += CONTENT_CHUNK_BYTES;
      return;
    }
    const data = await read();
    const sig = await signature(data, { blockLength: this.blockLength, strongLength: MAX_STRONG_LENGTH });
    this.pieces.push({ weak: sig.weak, strong: sig.strong });
    this.length += data.length;
  }

  /** The whole file's signature, once every chunk was added. */
  finish(): Signature {
    const blockCount = this.pieces.reduce((n, piece) => n + piece.weak.length, 0);
    const weak = new Uint32Array(blockCount);
    const strong = new Uint8Array(blockCount * MAX_STRONG_LENGTH);
    let at = 0;
    for (const piece of this.pieces) {
      weak.set(piece.weak, at);
      strong.set(piece.strong, at * MAX_STRONG_LENGTH);
      at += piece.weak.length;
    }
    return { blockLength: this.blockLength, fileLength: this.length, strongLength: MAX_STRONG_LENGTH, blockCount, weak, strong };
  }
}
