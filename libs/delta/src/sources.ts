import { open, type FileHandle } from 'node:fs/promises';
import { DeltaError } from './errors';

/**
 * Where a file version's bytes come from: a buffer in memory, a path (read with positioned reads straight into
 * the caller's buffer), any async iterable of byte chunks (a stream, repository blobs, network frames), or a
 * `ByteSource` of the caller's (which also reads straight into the caller's buffer: no chunk allocated and copied
 * per read, where an iterable must hand over a buffer it cannot reuse).
 */
export type ByteInput = Uint8Array | string | AsyncIterable<Uint8Array> | ByteSource;

/**
 * Sequential reader over a `ByteInput`. A caller's own source is closed (`close`) when the computation that
 * reads it ends, as any other.
 */
export interface ByteSource {
  /** Length when known before reading (buffers, files); undefined for iterables. */
  readonly knownLength: number | undefined;
  /** Reads at most `length` bytes into `target` at `offset`; 0 means the end. */
  read(target: Uint8Array, offset: number, length: number): Promise<number>;
  close(): Promise<void>;
}

export async function openByteSource(input: ByteInput): Promise<ByteSource> {
  if (typeof input === 'string') return FileByteSource.open(input);
  if (input instanceof Uint8Array) return new MemoryByteSource(input);
  // Iterables first: a stream (fs.ReadStream) also has read() and close(), with other meanings.
  if (typeof (input as Partial<AsyncIterable<Uint8Array>>)[Symbol.asyncIterator] === 'function') return new IterableByteSource(input as AsyncIterable<Uint8Array>);
  if (isByteSource(input)) return input;
  throw new DeltaError('invalid_argument', 'input must be a Uint8Array, a file path, an async iterable of Uint8Array or a ByteSource');
}

function isByteSource(input: unknown): input is ByteSource {
  if (typeof input !== 'object' || input === null) return false;
  const candidate = input as Partial<ByteSource>;
  return typeof candidate.read === 'function' && typeof candidate.close === 'function';
}

class MemoryByteSource implements ByteSource {
  private offset = 0;

  constructor(private readonly data: Uint8Array) {}

  get knownLength(): number {
    return this.data.length;
  }

  read(target: Uint8Array, offset: number, length: number): Promise<number> {
    const count = Math.min(length, this.data.length - this.offset);
    target.set(this.data.subarray(this.offset, this.offset + count), offset);
    this.offset += count;
    return Promise.resolve(count);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

class FileByteSource implements ByteSource {
  private position = 0;

  private constructor(
    private readonly handle: FileHandle,
    readonly knownLength: number,
  ) {}

  static async open(path: string): Promise<FileByteSource> {
    const handle = await open(path, 'r');
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new DeltaError('invalid_argument', `${path} is not a regular file`);
      return new FileByteSource(handle, stats.size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async read(target: Uint8Array, offset: number, length: number): Promise<number> {
    const { bytesRead } = await this.handle.read(target, offset, length, this.position);
    this.position += bytesRead;
    return bytesRead;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

class IterableByteSource implements ByteSource {
  readonly knownLength = undefined;
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array | undefined;
  private chunkOffset = 0;
  private done = false;
  /** A read is waiting for the iterator (a delta reads ahead, and its consumer may stop meanwhile). */
  private reading = false;

  constructor(iterable: AsyncIterable<Uint8Array>) {
    this.iterator = iterable[Symbol.asyncIterator]();
  }

  async read(target: Uint8Array, offset: number, length: number): Promise<number> {
    this.reading = true;
    try {
      return await this.readChunk(target, offset, length);
    } finally {
      this.reading = false;
    }
  }

  private async readChunk(target: Uint8Array, offset: number, length: number): Promise<number> {
    while (!this.done && (this.chunk === undefined || this.chunkOffset === this.chunk.length)) {
      const next = await this.iterator.next();
      if (next.done === true) {
        this.done = true;
        this.chunk = undefined;
      } else {
        if (!(next.value instanceof Uint8Array)) throw new DeltaError('invalid_argument', 'input chunks must be Uint8Array');
        this.chunk = next.value;
        this.chunkOffset = 0;
      }
    }
    if (this.chunk === undefined) return 0;
    const count = Math.min(length, this.chunk.length - this.chunkOffset);
    target.set(this.chunk.subarray(this.chunkOffset, this.chunkOffset + count), offset);
    this.chunkOffset += count;
    return count;
  }

  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      const closing = this.iterator.return?.();
      // An async generator runs return() only after the pending next(): waiting here could wait forever on a
      // stalled stream. The iterator still closes when that next() settles.
      if (this.reading) closing?.catch(() => undefined);
      else await closing;
    }
  }
}

/** Reads until `length` bytes are in `target` or the source ends; returns the count. */
export async function readFully(source: ByteSource, target: Uint8Array, offset: number, length: number): Promise<number> {
  let total = 0;
  while (total < length) {
    const count = await source.read(target, offset + total, length - total);
    if (count === 0) break;
    total += count;
  }
  return total;
}
