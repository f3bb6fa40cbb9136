import { DeltaError } from './errors';
import {
  blockCountOf,
  blockLengthFor,
  MAX_BLOCK_COUNT,
  MAX_BLOCK_LENGTH,
  MAX_FILE_LENGTH,
  MAX_STRONG_LENGTH,
  MIN_STRONG_LENGTH,
  strongLengthFor,
} from './parameters';
import { openByteSource, readFully, type ByteInput, type ByteSource } from './sources';
import { strongHasher, type StrongHasher } from './strong-hash';
import { WeakKernel } from './weak-kernel';

/** Block checksums of a basis: what the side holding the old version sends to the side holding the new one. */
export interface Signature {
  /** Length of every block but possibly the last one. */
  readonly blockLength: number;
  /** Length of the basis. */
  readonly fileLength: number;
  /** Bytes of xxh128 kept per block (4..16). */
  readonly strongLength: number;
  /** ceil(fileLength / blockLength). */
  readonly blockCount: number;
  /** Weak rolling checksum of each block, packed (s1 & 0xffff) | (s2 << 16). */
  readonly weak: Uint32Array;
  /** Truncated strong hash of each block, `strongLength` bytes per block, in block order. */
  readonly strong: Uint8Array;
}

export interface SignatureOptions {
  /**
   * Length used to choose the block length when the input is an iterable (its length is unknown before it has
   * been read). Ignored for buffers and files, whose length is known.
   */
  readonly expectedLength?: number;
  /** Overrides the block length rule (1 .. 1 MiB). */
  readonly blockLength?: number;
  /** Overrides the strong hash length rule (4 .. 16). */
  readonly strongLength?: number;
}

/**
 * Target size of one read: large enough to amortise calls, small enough for the memory bound. Two such buffers:
 * one is read into (by libuv's thread pool) while the blocks of the other are summed and hashed.
 */
const READ_BYTES = 4 * 1024 * 1024;
/** Blocks whose weak checksums the kernel computes per call (16 KiB of results at most). */
const WEAK_BATCH = 4096;
/** Where the batch's weak checksums go in the kernel's data: after the two halves, 4-byte aligned. */
const weakOffset = (blocksPerRead: number, blockLength: number): number => Math.ceil((2 * blocksPerRead * blockLength) / 4) * 4;

/**
 * Computes the signature of a basis, reading it once, sequentially, in about 4 MiB of memory.
 * @throws DeltaError `invalid_argument` for bad options or an iterable input without `expectedLength`.
 */
export async function signature(basis: ByteInput, options: SignatureOptions = {}): Promise<Signature> {
  const source = await openByteSource(basis);
  try {
    const sizeHint = source.knownLength ?? options.expectedLength;
    if (sizeHint === undefined && options.blockLength === undefined) {
      throw new DeltaError('invalid_argument', 'signature of a stream needs expectedLength (or blockLength) to choose the block length');
    }
    const blockLength = checkedBlockLength(options.blockLength ?? blockLengthFor(sizeHint ?? 0));
    const strongLength = checkedStrongLength(options.strongLength ?? strongLengthFor(sizeHint ?? 0));
    const hasher = await strongHasher();
    const blocks = new BlockSumsBuilder(blockLength, strongLength, blockCountOf(sizeHint ?? 0, blockLength));
    // Whole blocks per read; a small basis needs no more than itself.
    const blocksPerRead = Math.max(1, Math.min(Math.floor(READ_BYTES / blockLength), Math.ceil((sizeHint ?? READ_BYTES) / blockLength)));
    // Both halves, then room for the weak checksums of one batch of blocks.
    const kernel = new WeakKernel(weakOffset(blocksPerRead, blockLength) + 4 * Math.min(blocksPerRead, WEAK_BATCH));
    try {
      return await signBlocks(source, kernel, blocks, hasher, blockLength, blocksPerRead);
    } finally {
      kernel.release();
    }
  } finally {
    await source.close();
  }
}

/**
 * Reads the basis block by block through the two halves of the kernel's buffer, adding each block's sums to
 * `blocks`; the read of the next half is in flight while the current one is summed.
 */
async function signBlocks(
  source: ByteSource,
  kernel: WeakKernel,
  blocks: BlockSumsBuilder,
  hasher: StrongHasher,
  blockLength: number,
  blocksPerRead: number,
): Promise<Signature> {
  const weakAt = weakOffset(blocksPerRead, blockLength);
  const buffer = kernel.data;
  const weaks = new Uint32Array(buffer.buffer, buffer.byteOffset + weakAt, (buffer.length - weakAt) / 4);
  const half = blocksPerRead * blockLength;
  let fileLength = 0;
  let at = 0;
  let next: Promise<number> | undefined = readFully(source, buffer, 0, half);
  try {
    for (;;) {
      const count: number = await next;
      next = count === half ? readFully(source, buffer, half - at, half) : undefined;
      // Weak checksums of a batch of blocks in one call into the kernel, then the strong hash of each block.
      const readEnd = at + count;
      for (let start = at; start < readEnd; ) {
        const batchEnd = Math.min(start + WEAK_BATCH * blockLength, readEnd);
        kernel.blockWeaks(start, batchEnd, blockLength, weakAt);
        for (let block = 0; start < batchEnd; block++, start += blockLength) {
          blocks.add(weaks[block] as number, hasher.digest(buffer, start, Math.min(start + blockLength, batchEnd)));
        }
      }
      fileLength += count;
      if (fileLength > MAX_FILE_LENGTH) throw new DeltaError('invalid_argument', 'basis is longer than 2^53 - 1 bytes');
      if (next === undefined) break;
      at = half - at;
    }
  } finally {
    // A failure while a read is in flight: the read may still write into the buffer, which must not be pooled.
    if (next !== undefined) {
      next.catch(() => undefined);
      kernel.discard();
    }
  }
  return blocks.finish(fileLength);
}

function checkedBlockLength(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_BLOCK_LENGTH) {
    throw new DeltaError('invalid_argument', `block length must be an integer in 1..${MAX_BLOCK_LENGTH}, got ${value}`);
  }
  return value;
}

function checkedStrongLength(value: number): number {
  if (!Number.isInteger(value) || value < MIN_STRONG_LENGTH || value > MAX_STRONG_LENGTH) {
    throw new DeltaError('invalid_argument', `strong hash length must be an integer in ${MIN_STRONG_LENGTH}..${MAX_STRONG_LENGTH}, got ${value}`);
  }
  return value;
}

/** Growable per-block arrays; sized from the expected length so a known-size basis never reallocates. */
class BlockSumsBuilder {
  private weak: Uint32Array;
  private strong: Uint8Array;
  private count = 0;

  constructor(
    private readonly blockLength: number,
    private readonly strongLength: number,
    expectedCount: number,
  ) {
    // A hint, not a promise: start at most at 4 M blocks and grow if the input turns out longer.
    const capacity = Math.max(16, Math.min(expectedCount, 1 << 22));
    this.weak = new Uint32Array(capacity);
    this.strong = new Uint8Array(capacity * strongLength);
  }

  add(weak: number, digest: Uint8Array): void {
    if (this.count === this.weak.length) this.grow();
    this.weak[this.count] = weak;
    // A byte loop, not set(subarray()): a typed-array view per block costs more than copying 4-16 bytes.
    const strong = this.strong;
    const length = this.strongLength;
    const at = this.count * length;
    for (let i = 0; i < length; i++) strong[at + i] = digest[i] as number;
    this.count++;
  }

  finish(fileLength: number): Signature {
    const count = this.count;
    return {
      blockLength: this.blockLength,
      fileLength,
      strongLength: this.strongLength,
      blockCount: count,
      weak: count === this.weak.length ? this.weak : this.weak.slice(0, count),
      strong: count * this.strongLength === this.strong.length ? this.strong : this.strong.slice(0, count * this.strongLength),
    };
  }

  private grow(): void {
    if (this.weak.length >= MAX_BLOCK_COUNT) throw new DeltaError('invalid_argument', `basis has more than ${MAX_BLOCK_COUNT} blocks`);
    const capacity = Math.min(this.weak.length * 2, MAX_BLOCK_COUNT);
    const weak = new Uint32Array(capacity);
    weak.set(this.weak);
    const strong = new Uint8Array(capacity * this.strongLength);
    strong.set(this.strong);
    this.weak = weak;
    this.strong = strong;
  }
}

/**
 * The same signature with each strong hash cut to its first `strongLength` bytes (a signature kept with whole
 * xxh128 hashes serves a file of any length). Returns `sig` itself when nothing is cut.
 * @throws DeltaError `invalid_argument` when `strongLength` is out of range or longer than what `sig` holds.
 */
export function withStrongLength(sig: Signature, strongLength: number): Signature {
  checkedStrongLength(strongLength);
  if (strongLength > sig.strongLength) throw new DeltaError('invalid_argument', `cannot lengthen strong hashes of ${sig.strongLength} bytes to ${strongLength}`);
  if (strongLength === sig.strongLength) return sig;
  const strong = new Uint8Array(sig.blockCount * strongLength);
  for (let block = 0, from = 0, to = 0; block < sig.blockCount; block++, from += sig.strongLength, to += strongLength) {
    strong.set(sig.strong.subarray(from, from + strongLength), to);
  }
  return { ...sig, strongLength, strong };
}
