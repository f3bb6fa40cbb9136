import { CONTENT_CHUNK_BYTES, CONTENT_HASH_BYTES } from './content-hash';
import { DeltaError } from './errors';
import { MAX_BUCKET_COMPARISONS, MAX_LITERAL_TOKEN_BYTES } from './parameters';
import { rollOne } from './rolling-scan';
import { WeakKernel } from './weak-kernel';
import { type Signature } from './signature';
import { SignatureIndex } from './signature-index';
import { openByteSource, type ByteInput, type ByteSource } from './sources';
import { strongEquals, strongHasher, type StrongHasher } from './strong-hash';
import { type DeltaEnd, type DeltaToken } from './tokens';
import { DEFAULT_WHOLE_FILE_HASH, WHOLE_FILE_HASHES, wholeFileHasher, type WholeFileHash, type WholeFileHasher } from './whole-file-hash';

/** Counters of one delta computation, filled while its tokens are produced. */
export interface DeltaStats {
  /** Bytes of the new version read so far. */
  newLength: number;
  literalBytes: number;
  literalTokens: number;
  copiedBytes: number;
  copyTokens: number;
  /**
   * Blocks matched without the rolling search: the block that follows the previous match, or one or two blocks
   * further when that one was overwritten in place.
   */
  predictedBlocks: number;
  /** Positions whose weak checksum was in the signature. */
  weakHits: number;
  /** Strong hashes computed (predictions and weak hits). */
  strongHashes: number;
  /** Strong hash comparisons against signature entries. */
  strongComparisons: number;
  /** Weak hits whose strong hash matched no block (collisions, or a crafted input). */
  falseHits: number;
  /** Weak hits not checked because false hits had used up their work budget (see `FALSE_HIT_BUDGET_*`). */
  skippedHits: number;
  /** Content chunks found unchanged by their id (`basisChunks`), whose blocks were copied without a strong hash. */
  unchangedChunks: number;
}

/** A delta being computed: iterate it once for its tokens; `stats` fills as it goes. */
export interface DeltaStream extends AsyncIterable<DeltaToken> {
  readonly stats: DeltaStats;
  /**
   * The end token (new length, whole-file digest) once it has been produced: a consumer that hands the stream straight to
   * `encodeDelta` (which then borrows literal bytes instead of copying them) still learns the file's hash.
   */
  readonly end: DeltaEnd | undefined;
}

export interface DeltaOptions {
  /** Largest literal token produced (1 .. 256 KiB, the default). */
  readonly maxLiteralBytes?: number;
  /**
   * Whole-file hash carried by the end token: `blake3` (default, fastest) or `sha256` (when the digest must also
   * name the content, as on Berth's wire). A SHA-256 delta encodes as format version 1, a BLAKE3 one as version 2.
   */
  readonly hash?: WholeFileHash;
  /**
   * With `hash: 'content'`: the ids of the basis's content chunks (CONTENT_CHUNK_BYTES each, the last one
   * possibly shorter), 32 bytes each, back to back. Where the new version is aligned with the basis at a block
   * boundary inside a chunk whose id (computed anyway for the content hash) equals the basis chunk's id at the
   * same offset, the blocks of the rest of that chunk are copied without hashing or comparing them: an edit in
   * place in a large file then costs the delta no work outside the chunks it touched. A wrong id makes a wrong
   * delta, which the whole-file hash catches when it is applied, as for an xxh128 collision.
   */
  readonly basisChunks?: Uint8Array;
}

/**
 * Work allowed to false hits (bytes hashed plus 32 per failed comparison): this many bytes per byte of the new
 * version, plus a fixed allowance. Honest data stays far below it; an input crafted to hit one weak checksum at
 * every position would otherwise cost a strong hash of a whole block per byte. Past the budget, weak hits are
 * skipped until the input catches up, so the work stays linear and the delta stays correct (only larger).
 */
export const FALSE_HIT_BUDGET_PER_BYTE = 8;
export const FALSE_HIT_BUDGET_FIXED = 64 * 1024 * 1024;
const COMPARISON_WORK = 32;
/** Blocks after a failed prediction checked for an overwrite in place (see `skipOverwritten`). */
const OVERWRITE_LOOKAHEAD = 2;
/** Sliding buffer for large inputs; it always holds a pending literal and several windows. */
const LARGE_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Computes the delta of a new version against a signature, streaming: reads the new version once, keeps about
 * 4 MiB (4 block lengths for the largest blocks) plus the signature's lookup table, and yields tokens as it goes:
 * a header, literals and coalesced copies in file order, then the end with the new version's hash (BLAKE3 unless
 * `options.hash` says SHA-256).
 */
export function delta(signature: Signature, newVersion: ByteInput, options: DeltaOptions = {}): DeltaStream {
  const maxLiteral = options.maxLiteralBytes ?? MAX_LITERAL_TOKEN_BYTES;
  if (!Number.isInteger(maxLiteral) || maxLiteral < 1 || maxLiteral > MAX_LITERAL_TOKEN_BYTES) {
    throw new DeltaError('invalid_argument', `maxLiteralBytes must be an integer in 1..${MAX_LITERAL_TOKEN_BYTES}`);
  }
  const hash = options.hash ?? DEFAULT_WHOLE_FILE_HASH;
  if (!WHOLE_FILE_HASHES.includes(hash)) throw new DeltaError('invalid_argument', `hash must be one of ${WHOLE_FILE_HASHES.join(', ')}`);
  const basisChunks = options.basisChunks ?? null;
  if (basisChunks !== null) {
    if (hash !== 'content') throw new DeltaError('invalid_argument', 'basisChunks needs the content hash (hash: content)');
    if (basisChunks.length % CONTENT_HASH_BYTES !== 0) throw new DeltaError('invalid_argument', `basisChunks must be ${CONTENT_HASH_BYTES}-byte ids back to back`);
  }
  const stats: DeltaStats = {
    newLength: 0,
    literalBytes: 0,
    literalTokens: 0,
    copiedBytes: 0,
    copyTokens: 0,
    predictedBlocks: 0,
    weakHits: 0,
    strongHashes: 0,
    strongComparisons: 0,
    falseHits: 0,
    skippedHits: 0,
    unchangedChunks: 0,
  };
  let started = false;
  const start = (borrowLiterals: boolean): AsyncIterator<DeltaToken> => {
    if (started) throw new DeltaError('invalid_argument', 'a delta stream can be iterated only once');
    started = true;
    return runSearch(signature, newVersion, maxLiteral, hash, basisChunks, stats, borrowLiterals, onEnd);
  };
  const stream: DeltaStream & BorrowingSource & { end: DeltaEnd | undefined } = {
    stats,
    end: undefined,
    [Symbol.asyncIterator]: () => start(false),
    [BORROW_LITERALS]: () => start(true),
  };
  const onEnd = (end: DeltaEnd): void => {
    stream.end = end;
  };
  return stream;
}

/**
 * How many chunks of the basis a delta can compare by id: the full chunks it was given ids for, none unless a chunk
 * holds whole blocks (the block length divides it).
 */
function comparableChunks(signature: Signature, basisChunks: Uint8Array): number {
  if (CONTENT_CHUNK_BYTES % signature.blockLength !== 0) return 0;
  return Math.min(basisChunks.length / CONTENT_HASH_BYTES, Math.floor(signature.fileLength / CONTENT_CHUNK_BYTES));
}

/** Whether `id` equals chunk `index` of `ids` (32-byte ids back to back). */
function sameId(id: Uint8Array, ids: Uint8Array, index: number): boolean {
  const base = index * CONTENT_HASH_BYTES;
  for (let i = 0; i < CONTENT_HASH_BYTES; i++) {
    if (id[i] !== ids[base + i]) return false;
  }
  return true;
}

/**
 * Internal handshake with `encodeDelta`, which copies each literal into its frame before asking for the next
 * token: it may then receive literals that are views of the sliding buffer, valid until the next token, and the
 * no-match path saves a copy and an allocation per literal byte.
 */
export const BORROW_LITERALS = Symbol('berth.delta.borrowLiterals');
export interface BorrowingSource {
  [BORROW_LITERALS](): AsyncIterator<DeltaToken>;
}

async function* runSearch(
  signature: Signature,
  newVersion: ByteInput,
  maxLiteral: number,
  hash: WholeFileHash,
  basisChunks: Uint8Array | null,
  stats: DeltaStats,
  borrowLiterals: boolean,
  onEnd: (end: DeltaEnd) => void,
): AsyncGenerator<DeltaToken> {
  const source = await openByteSource(newVersion);
  try {
    const comparable = basisChunks === null ? 0 : comparableChunks(signature, basisChunks);
    const wholeFile = await wholeFileHasher(hash, comparable);
    const search = new DeltaSearch(signature, source, await strongHasher(), hash, wholeFile, comparable > 0 ? basisChunks : null, comparable, maxLiteral, stats, borrowLiterals, onEnd);
    try {
      yield* search.tokens();
    } finally {
      search.abandon();
    }
  } finally {
    await source.close();
  }
}

/**
 * State of one search over a sliding buffer. Positions are indexes in `buffer`; `base` is the file offset of
 * buffer[0]. Invariant: litStart <= pos <= filled; buffer[litStart..pos) is the pending literal.
 */
class DeltaSearch {
  private readonly index: SignatureIndex;
  private readonly blockLength: number;
  private readonly kernel: WeakKernel;
  private readonly buffer: Uint8Array;
  private readonly sums: Int32Array;
  private base = 0;
  private filled = 0;
  private pos = 0;
  private litStart = 0;
  private eof = false;
  /** `sums` hold the window at `pos`. */
  private rolling = false;
  /** Block expected at `pos` (the one after the last match), or -1. */
  private predicted: number;
  /** Strong hash of the full window at file offset `digestOffset`, kept from a failed prediction. */
  private digest: Uint8Array | undefined;
  private digestOffset = -1;
  private readonly readPiece: number;
  /** The read in flight into buffer[filled..), if any, and its byte count once it has completed (else -1). */
  private pending: Promise<number> | undefined;
  private landed = -1;
  private runStart = 0;
  private runCount = 0;
  private falseHitWork = 0;
  /** Chunks before this one have had their id compared (or cannot be): see `copyUnchangedChunk`. */
  private nextChunk = 0;
  /** Full basis chunks to compare by id (see comparableChunks). */
  private readonly basisChunkCount: number;

  constructor(
    private readonly signature: Signature,
    private readonly source: ByteSource,
    private readonly hasher: StrongHasher,
    private readonly hash: WholeFileHash,
    private readonly wholeFile: WholeFileHasher,
    private readonly basisChunks: Uint8Array | null,
    /** Basis chunks to compare by id (comparableChunks), 0 when the hasher cannot give ids. */
    basisChunkCount: number,
    private readonly maxLiteral: number,
    private readonly stats: DeltaStats,
    private readonly borrowLiterals: boolean,
    private readonly onEnd: (end: DeltaEnd) => void,
  ) {
    this.index = new SignatureIndex(signature);
    this.blockLength = signature.blockLength;
    // A small file needs no more than itself, a literal and a few windows.
    const wanted = Math.min(LARGE_BUFFER_BYTES, source.knownLength ?? LARGE_BUFFER_BYTES);
    this.kernel = new WeakKernel(Math.max(wanted, maxLiteral + 4 * this.blockLength), this.index);
    this.buffer = this.kernel.data;
    this.sums = this.kernel.sums;
    this.predicted = signature.blockCount > 0 ? 0 : -1;
    this.basisChunkCount = basisChunks !== null && wholeFile.chunkId !== undefined ? basisChunkCount : 0;
    // A file that fits is read whole; larger inputs in quarters of the buffer, the next one in flight while the
    // search works on what is in.
    const fits = source.knownLength !== undefined && source.knownLength < this.buffer.length;
    this.readPiece = fits ? this.buffer.length : this.buffer.length >>> 2;
  }

  async *tokens(): AsyncGenerator<DeltaToken> {
    const { signature } = this;
    yield { kind: 'header', blockLength: signature.blockLength, basisLength: signature.fileLength, hash: this.hash };
    const L = this.blockLength;
    for (;;) {
      if (this.landed >= 0 || (this.pending === undefined && !this.eof && this.roomToReadAhead())) await this.readAhead();
      if (this.predicted >= 0) {
        const block = this.predicted;
        // Checked here first: the generator is entered once per chunk, not once per block.
        if (this.atChunkToCompare(block) && (yield* this.copyUnchangedChunk(block))) continue;
        const length = this.lengthOf(block);
        // Most turns of an all-match file: the block is already in the buffer, no await.
        if (this.filled - this.pos < length) await this.ensure(length);
        if (this.checkPredicted(block, length)) {
          if (!this.extendRun(block)) yield* this.matched(block);
          continue;
        }
        const overwritten = await this.skipOverwritten(block);
        if (overwritten >= 0) {
          yield* this.matched(overwritten);
          continue;
        }
      }
      if (!(await this.ensure(L))) break;
      if (!this.rolling) {
        this.kernel.computeSums(this.pos, this.pos + L);
        this.rolling = true;
      }
      const lastWindow = this.filled - L;
      const scanEnd = Math.min(lastWindow, this.litStart + this.maxLiteral);
      const p = this.kernel.scan(this.pos, scanEnd, L);
      this.pos = p;
      if (p < scanEnd || (p === lastWindow && this.eof && p < this.litStart + this.maxLiteral)) {
        const block = this.verifyWindow(p);
        if (block >= 0) {
          yield* this.matched(block);
        } else if (p < lastWindow) {
          rollOne(this.buffer, p, L, this.sums);
          this.pos = p + 1;
        } else {
          break;
        }
      } else if (p === this.litStart + this.maxLiteral) {
        yield* this.flushLiteral();
      } else {
        // The window at p is the last one in the buffer: read on. At the end of the input the next turn
        // checks it as the final window.
        await this.ensure(L + 1);
      }
    }
    yield* this.finishTail();
  }

  /** At the end, or when the consumer stopped early: frees the hash state and hands the kernel back. */
  abandon(): void {
    this.wholeFile.abort();
    // A read still in flight (the consumer stopped early) may yet write into the kernel's memory: it must not be
    // reused, and waiting for the read could wait forever on a stalled stream.
    if (this.pending === undefined) this.kernel.release();
    else this.kernel.discard();
  }

  /**
   * Where the new version is aligned with the basis (the predicted `block` starts at its own offset, no literal
   * pending) inside a chunk not compared yet: compares the new version's id of that chunk with the basis's, once
   * the chunk is read, and on a match copies the blocks from `block` to the chunk's end as one run. Returns
   * whether it did; the search then goes on predicting the block after them.
   */
  private async *copyUnchangedChunk(block: number): AsyncGenerator<DeltaToken, boolean> {
    const L = this.blockLength;
    const offset = this.base + this.pos;
    const chunk = Math.floor(offset / CONTENT_CHUNK_BYTES);
    this.nextChunk = chunk + 1;
    if (chunk >= this.basisChunkCount) return false;
    const chunkEnd = (chunk + 1) * CONTENT_CHUNK_BYTES;
    // The new version's chunk must be whole (and through the content hash) before its id is known.
    if (chunkEnd - offset > this.buffer.length || !(await this.ensure(chunkEnd - offset))) return false;
    // The next chunk goes to the hash helper too before this one's id is awaited, so the helper always has one
    // queued: a run of unchanged chunks then costs about their hashing alone.
    const ahead = chunkEnd - offset + CONTENT_CHUNK_BYTES;
    if (ahead <= this.buffer.length) await this.ensure(ahead);
    const id = await this.wholeFile.chunkId?.(chunk);
    if (id === undefined || !sameId(id, this.basisChunks as Uint8Array, chunk)) return false;
    const count = chunkEnd / L - block;
    this.stats.unchangedChunks++;
    if (this.runCount > 0 && block === this.runStart + this.runCount) {
      this.runCount += count;
    } else {
      yield* this.flushRun();
      this.runStart = block;
      this.runCount = count;
    }
    this.passBlocks(block, count);
    return true;
  }

  /** Whether the predicted `block` starts where copyUnchangedChunk compares: aligned, no literal, a chunk not yet compared. */
  private atChunkToCompare(block: number): boolean {
    if (this.nextChunk >= this.basisChunkCount || this.pos !== this.litStart) return false;
    const offset = this.base + this.pos;
    return offset === block * this.blockLength && offset >= this.nextChunk * CONTENT_CHUNK_BYTES;
  }

  /** Strong-hash check of the block that follows the previous match, at `pos` (`ensure` has run). */
  private checkPredicted(block: number, length: number): boolean {
    this.predicted = -1;
    if (this.filled - this.pos < length) return false;
    const digest = this.hasher.digest(this.buffer, this.pos, this.pos + length);
    this.stats.strongHashes++;
    if (strongEquals(digest, this.signature.strong, block, this.signature.strongLength)) {
      this.stats.predictedBlocks++;
      return true;
    }
    if (length === this.blockLength) {
      this.digest = digest;
      this.digestOffset = this.base + this.pos;
    }
    return false;
  }

  /**
   * After a failed prediction of `block` at `pos`: the commonest edit is an overwrite in place, after which the
   * block that follows (or the one after it, for an edit across a block boundary) is at its old distance. One
   * strong hash per candidate checks it; on a match `pos` moves there (what lies between becomes the pending
   * literal) and the rolling search over those one or two blocks is skipped. Otherwise the search rolls from `pos`
   * as usual. The candidate is where the rolling search would find it too, unless some window before it matches
   * a block: that takes repetitive data, where a shifted window can match. The plainest such data, runs of equal
   * blocks (zeros, a sparse file), is left to the search: no skip onto a block whose weak checksum equals the one
   * it follows. Otherwise such a match missed costs up to a block of literal bytes more than rsync's delta.
   */
  private async skipOverwritten(block: number): Promise<number> {
    const L = this.blockLength;
    const { weak } = this.signature;
    for (let ahead = 1; ahead <= OVERWRITE_LOOKAHEAD; ahead++) {
      const candidate = block + ahead;
      if (candidate >= this.signature.blockCount || this.lengthOf(candidate) !== L) return -1;
      if (weak[candidate] === weak[candidate - 1]) return -1;
      // The literal would stay within its limit, and the window is in the input (`ensure` may slide the buffer).
      if (this.pos + ahead * L - this.litStart > this.maxLiteral) return -1;
      if (!(await this.ensure(ahead * L + L))) return -1;
      const start = this.pos + ahead * L;
      const digest = this.hasher.digest(this.buffer, start, start + L);
      this.stats.strongHashes++;
      if (strongEquals(digest, this.signature.strong, candidate, this.signature.strongLength)) {
        this.stats.predictedBlocks++;
        this.pos = start;
        return candidate;
      }
    }
    return -1;
  }

  /** Block matching the full window at `p` (whose weak checksum is in the table), or -1. */
  private verifyWindow(p: number): number {
    const stats = this.stats;
    const first = this.index.firstBlock(((this.sums[0] as number) & 0xffff) | ((this.sums[1] as number) << 16));
    if (first < 0) return -1;
    stats.weakHits++;
    const offset = this.base + p;
    if (this.falseHitWork > FALSE_HIT_BUDGET_PER_BYTE * offset + FALSE_HIT_BUDGET_FIXED) {
      stats.skippedHits++;
      return -1;
    }
    let digest = this.digest;
    if (digest === undefined || this.digestOffset !== offset) {
      digest = this.hasher.digest(this.buffer, p, p + this.blockLength);
      stats.strongHashes++;
    }
    const { strong, strongLength } = this.signature;
    let comparisons = 0;
    for (let block = first; block >= 0 && comparisons < MAX_BUCKET_COMPARISONS; block = this.index.nextBlock(block)) {
      comparisons++;
      if (strongEquals(digest, strong, block, strongLength)) {
        stats.strongComparisons += comparisons;
        return block;
      }
    }
    stats.strongComparisons += comparisons;
    stats.falseHits++;
    this.falseHitWork += this.blockLength + COMPARISON_WORK * comparisons;
    return -1;
  }

  /** Emits what precedes a match at `pos`, extends or starts the copy run, and jumps past the block. */
  private *matched(block: number): Generator<DeltaToken> {
    if (this.pos > this.litStart) yield* this.flushLiteral();
    if (this.runCount > 0 && block === this.runStart + this.runCount) {
      this.runCount++;
    } else {
      yield* this.flushRun();
      this.runStart = block;
      this.runCount = 1;
    }
    this.passBlock(block);
  }

  /**
   * `matched` for the commonest case, without a generator: the block extends the current run and no literal is
   * pending (every turn of an identical file). Returns false, doing nothing, otherwise.
   */
  private extendRun(block: number): boolean {
    if (this.pos !== this.litStart || this.runCount === 0 || block !== this.runStart + this.runCount) return false;
    this.runCount++;
    this.passBlock(block);
    return true;
  }

  /** Moves past a matched block; the next turn predicts the block after it. */
  private passBlock(block: number): void {
    this.passBlocks(block, 1);
  }

  /** Moves past `count` matched blocks from `block` on (all but the last of full length). */
  private passBlocks(block: number, count: number): void {
    const last = block + count - 1;
    const length = (count - 1) * this.blockLength + this.lengthOf(last);
    this.stats.copiedBytes += length;
    this.pos += length;
    this.litStart = this.pos;
    this.rolling = false;
    this.digest = undefined;
    this.predicted = last + 1 < this.signature.blockCount ? last + 1 : -1;
  }

  /** End of input: the short last block can still match the very end; the rest is literal. */
  private async *finishTail(): AsyncGenerator<DeltaToken> {
    const { signature } = this;
    const shortLength = signature.fileLength % signature.blockLength;
    const tailStart = this.filled - shortLength;
    if (shortLength > 0 && tailStart >= this.pos) {
      const lastBlock = signature.blockCount - 1;
      const digest = this.hasher.digest(this.buffer, tailStart, this.filled);
      this.stats.strongHashes++;
      if (strongEquals(digest, signature.strong, lastBlock, signature.strongLength)) {
        this.pos = tailStart;
        yield* this.matched(lastBlock);
      }
    }
    this.pos = this.filled;
    if (this.pos > this.litStart) yield* this.flushLiteral();
    yield* this.flushRun();
    this.stats.newLength = this.base + this.filled;
    const end: DeltaEnd = { kind: 'end', length: this.base + this.filled, digest: await this.wholeFile.digest() };
    this.onEnd(end);
    yield end;
  }

  private *flushLiteral(): Generator<DeltaToken> {
    yield* this.flushRun();
    // A copy (the buffer is reused and a consumer may keep tokens), unless the consumer borrows.
    const view = this.buffer.subarray(this.litStart, this.pos);
    const data = this.borrowLiterals ? view : Buffer.from(view);
    this.stats.literalBytes += data.length;
    this.stats.literalTokens++;
    this.litStart = this.pos;
    yield { kind: 'literal', data };
  }

  private *flushRun(): Generator<DeltaToken> {
    if (this.runCount === 0) return;
    const token: DeltaToken = { kind: 'copy', start: this.runStart, count: this.runCount };
    this.runCount = 0;
    this.stats.copyTokens++;
    yield token;
  }

  private lengthOf(block: number): number {
    const { blockLength, fileLength } = this.signature;
    return Math.min(blockLength, fileLength - block * blockLength);
  }

  /**
   * Makes `buffer[pos .. pos + bytes)` available, reading more (and sliding the buffer down when it is full).
   * Returns false when the input ends first. Every byte read goes through the whole-file hash once, in order.
   */
  private async ensure(bytes: number): Promise<boolean> {
    while (this.filled - this.pos < bytes && !this.eof) {
      if (this.pending === undefined && this.buffer.length - this.filled < Math.max(bytes, this.buffer.length >>> 2)) this.slide();
      await this.take(await (this.pending ?? this.startRead()));
    }
    return this.filled - this.pos >= bytes;
  }

  /**
   * Whether the search may start the next read now: there is a free quarter after `filled`, or the pending
   * literal starts in the last quarter, so sliding the buffer down moves little.
   */
  private roomToReadAhead(): boolean {
    const quarter = this.buffer.length >>> 2;
    return this.buffer.length - this.filled >= this.readPiece || this.litStart >= this.buffer.length - quarter;
  }

  /** Between two steps of the search: takes in a read that has completed and starts the next one. */
  private async readAhead(): Promise<void> {
    if (this.landed >= 0) await this.take(this.landed);
    if (this.pending !== undefined || this.eof || !this.roomToReadAhead()) return;
    if (this.buffer.length - this.filled < this.readPiece) this.slide();
    void this.startRead();
  }

  /** Starts a read of the next piece into buffer[filled..); nothing may slide the buffer until it is taken. */
  private startRead(): Promise<number> {
    const pending = this.source.read(this.buffer, this.filled, Math.min(this.readPiece, this.buffer.length - this.filled));
    this.pending = pending;
    this.landed = -1;
    // Noted for the next step of the search; a failure is thrown where the read is taken (or dropped by abandon).
    pending.then(
      (count) => {
        if (this.pending === pending) this.landed = count;
      },
      () => undefined,
    );
    return pending;
  }

  /** The completed read of `count` bytes: through the whole-file hash, in order, and into the search's reach. */
  private async take(count: number): Promise<void> {
    this.pending = undefined;
    this.landed = -1;
    if (count === 0) {
      this.eof = true;
      return;
    }
    const waiting = this.wholeFile.update(this.buffer.subarray(this.filled, this.filled + count));
    if (waiting !== undefined) await waiting;
    this.filled += count;
    this.stats.newLength = this.base + this.filled;
  }

  /** Moves the pending literal and the unread window to the front of the buffer. */
  private slide(): void {
    const keep = this.litStart;
    if (keep === 0) return;
    this.buffer.copyWithin(0, keep, this.filled);
    this.base += keep;
    this.filled -= keep;
    this.pos -= keep;
    this.litStart = 0;
  }
}
