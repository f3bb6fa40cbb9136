import { open, type FileHandle } from 'node:fs/promises';
import { DeltaError, DeltaFormatError } from './errors';
import { blockCountOf } from './parameters';
import { copyRange, type DeltaHeader, type DeltaToken } from './tokens';
import { WHOLE_FILE_HASHES, wholeFileHashName, wholeFileHasher, type WholeFileHasher } from './whole-file-hash';

/** Random access to the basis: how patch reads the blocks a delta copies. */
export interface BasisReader {
  /** Length of the basis when known: patch then checks it against the delta's header. */
  readonly length?: number;
  /** Returns `length` bytes at `offset` (fewer only at the end of the basis). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A basis for patch: bytes in memory, a path, an open file handle (left open) or a reader. */
export type PatchBasis = Uint8Array | string | FileHandle | BasisReader;

export interface PatchOptions {
  /** Largest read from the basis and largest chunk yielded for a copy (default 1 MiB). */
  readonly readBytes?: number;
}

const DEFAULT_READ_BYTES = 1024 * 1024;

/**
 * Rebuilds the new version from a basis and a delta's tokens, yielding its bytes in order (chunks of at most
 * 1 MiB; chunks may alias a Uint8Array basis or a literal token's data, and are otherwise fresh buffers).
 *
 * The hash (the header's algorithm, BLAKE3 or SHA-256) and length of everything yielded are checked against the end token before the iteration
 * completes: write the output to a temporary place and keep it only when the loop ends without an error.
 * @throws DeltaError `basis_mismatch` (wrong basis), `hash_mismatch`, `length_mismatch`;
 *   DeltaFormatError `bad_sequence`, `out_of_range`, `truncated` for a malformed token stream.
 */
export function patch(basis: PatchBasis, tokens: AsyncIterable<DeltaToken> | Iterable<DeltaToken>, options: PatchOptions = {}): AsyncGenerator<Uint8Array> {
  return rebuild(basis, tokens, options, false);
}

/**
 * Same as `patch`, handing each chunk to `sink` and waiting for it before going on. A chunk read from a file
 * basis lives in a buffer that is reused once `sink` has returned (copy it to keep it): the whole rebuild then
 * allocates nothing per chunk, which keeps the memory of a multi-GiB patch flat. Returns the bytes written.
 */
export async function patchInto(
  basis: PatchBasis,
  tokens: AsyncIterable<DeltaToken> | Iterable<DeltaToken>,
  sink: (chunk: Uint8Array) => Promise<void> | void,
  options: PatchOptions = {},
): Promise<number> {
  let written = 0;
  for await (const chunk of rebuild(basis, tokens, options, true)) {
    await sink(chunk);
    written += chunk.length;
  }
  return written;
}

async function* rebuild(basis: PatchBasis, tokens: AsyncIterable<DeltaToken> | Iterable<DeltaToken>, options: PatchOptions, reuseBuffer: boolean): AsyncGenerator<Uint8Array> {
  const readBytes = options.readBytes ?? DEFAULT_READ_BYTES;
  if (!Number.isInteger(readBytes) || readBytes < 1) throw new DeltaError('invalid_argument', 'readBytes must be a positive integer');
  const opened = typeof basis === 'string' ? await open(basis, 'r') : undefined;
  let hasher: WholeFileHasher | undefined;
  try {
    const reader = await basisReader(opened ?? (basis as Exclude<PatchBasis, string>), reuseBuffer ? readBytes : 0);
    // Reading ahead needs a second buffer to read into: only our file reader has one (a caller's reader may
    // reuse its buffer, and a memory basis has nothing to wait for).
    const readAhead = reader instanceof FileReader;
    let header: DeltaHeader | undefined;
    let blockCount = 0;
    let written = 0;
    let ended = false;
    for await (const token of tokens) {
      if (ended) throw new DeltaFormatError('bad_sequence', `delta has a ${token.kind} token after its end`);
      if (header === undefined) {
        if (token.kind !== 'header') throw new DeltaFormatError('bad_sequence', `delta starts with a ${token.kind} token, not a header`);
        if (reader.length !== undefined && reader.length !== token.basisLength) {
          throw new DeltaError('basis_mismatch', `basis is ${reader.length} bytes, the delta was made against a ${token.basisLength}-byte basis`);
        }
        if (!WHOLE_FILE_HASHES.includes(token.hash)) throw new DeltaFormatError('unsupported', `delta header names an unknown whole-file hash "${String(token.hash)}"`);
        header = token;
        hasher = await wholeFileHasher(token.hash);
        blockCount = blockCountOf(token.basisLength, token.blockLength);
        continue;
      }
      switch (token.kind) {
        case 'header':
          throw new DeltaFormatError('bad_sequence', 'delta has a second header');
        case 'literal':
          await hasher?.update(token.data);
          written += token.data.length;
          yield token.data;
          break;
        case 'copy': {
          if (!Number.isInteger(token.start) || !Number.isInteger(token.count) || token.start < 0 || token.count < 1 || token.start + token.count > blockCount) {
            throw new DeltaFormatError('out_of_range', `copy of blocks ${token.start}+${token.count} outside the basis's ${blockCount} blocks`);
          }
          const { offset, length } = copyRange(header, token);
          // Our file reader reads the next piece of the run while this one is hashed and consumed.
          const readFrom = (done: number): Promise<Uint8Array> => reader.read(offset + done, Math.min(readBytes, length - done));
          let next: Promise<Uint8Array> | undefined = readFrom(0);
          try {
            for (let done = 0; done < length; ) {
              const want = Math.min(readBytes, length - done);
              const chunk = await (next as Promise<Uint8Array>);
              next = undefined;
              if (chunk.length !== want) {
                throw new DeltaError('basis_mismatch', `basis ended at ${offset + done + chunk.length}, the delta copies up to ${offset + length}`);
              }
              done += want;
              if (readAhead && done < length) next = readFrom(done);
              await hasher?.update(chunk);
              yield chunk;
              if (!readAhead && done < length) next = readFrom(done);
            }
          } finally {
            // The consumer stopped, or something failed: let the read in flight land before the handle closes.
            await next?.catch(() => undefined);
          }
          written += length;
          break;
        }
        case 'end': {
          ended = true;
          if (token.length !== written) throw new DeltaError('length_mismatch', `rebuilt ${written} bytes, the delta announces ${token.length}`);
          const actual = await (hasher as WholeFileHasher).digest();
          if (!actual.equals(token.digest)) {
            const name = wholeFileHashName(header.hash);
            throw new DeltaError('hash_mismatch', `rebuilt file has ${name} ${actual.toString('hex')}, the delta announces ${Buffer.from(token.digest).toString('hex')}`);
          }
          break;
        }
      }
    }
    if (!ended) throw new DeltaFormatError('truncated', header === undefined ? 'delta is empty' : 'delta ended before its end token');
  } finally {
    hasher?.abort();
    await opened?.close();
  }
}

/** `scratchBytes` > 0: file reads go to one reused buffer of that size instead of a fresh one per read. */
async function basisReader(basis: Exclude<PatchBasis, string>, scratchBytes: number): Promise<BasisReader> {
  if (basis instanceof Uint8Array) return memoryReader(basis);
  if (isFileHandle(basis)) {
    const scratch = scratchBytes > 0 ? ([Buffer.allocUnsafe(scratchBytes), Buffer.allocUnsafe(scratchBytes)] as const) : undefined;
    return new FileReader(basis, (await basis.stat()).size, scratch);
  }
  return basis;
}

function memoryReader(data: Uint8Array): BasisReader {
  return {
    length: data.length,
    read: (offset, length) => Promise.resolve(data.subarray(offset, Math.min(offset + length, data.length))),
  };
}

/**
 * Positioned reads from a file handle. With scratch space, reads alternate between two halves of it, so one
 * piece can be read while the previous one (at most one) is still in use; without, each read gets a fresh buffer.
 */
class FileReader implements BasisReader {
  private turn = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly length: number,
    private readonly scratch: readonly [Buffer, Buffer] | undefined,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    const scratch = this.scratch?.[this.turn];
    this.turn ^= 1;
    const buffer = scratch !== undefined && length <= scratch.length ? scratch.subarray(0, length) : Buffer.allocUnsafe(length);
    let total = 0;
    while (total < length) {
      const { bytesRead } = await this.handle.read(buffer, total, length - total, offset + total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return total === length ? buffer : buffer.subarray(0, total);
  }
}

function isFileHandle(value: object): value is FileHandle {
  return typeof (value as Partial<FileHandle>).fd === 'number' && typeof (value as Partial<FileHandle>).stat === 'function';
}
