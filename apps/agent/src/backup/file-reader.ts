/**
 * Reads a whole (small) file ahead of sending it: open without following symlinks and without blocking
 * on a FIFO that replaced the file, check it is still a regular file, read to the end, hash it.
 * Callback-style fs calls on plain descriptors: for tens of thousands of small files they cost
 * noticeably less than FileHandle objects.
 */
import { ContentHasher } from '@berth/delta';
import { close, constants, fstat, open, read } from 'node:fs';
import { promisify } from 'node:util';
import { errorMessage } from '../errors/agent-error';

const openAsync = promisify(open);
const fstatAsync = promisify(fstat);
const closeAsync = promisify(close);
const readAsync = (fd: number, buffer: Buffer, position: number): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buffer, 0, buffer.length, position, (error, bytesRead) => (error === null ? resolve(bytesRead) : reject(error))));

export const READ_FLAGS =
  constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | (process.getuid?.() === 0 ? constants.O_NOATIME : 0);

/** Read size once a file is longer than lstat said (it is growing). */
const GROWTH_READ_BYTES = 64 * 1024;

export interface FileContent {
  /** The content, in the pieces it was read in. */
  readonly pieces: readonly Buffer[];
  readonly size: number;
  /** Its content hash (@berth/delta's content-hash: the SHA-256 of the bytes unless it grew past one chunk). */
  readonly sha256: Buffer;
  /** Why the content is incomplete (or absent), or null. */
  readonly error: string | null;
  /**
   * Content read into shared memory (a batch's buffer) is given back with this once its bytes were written
   * (FramedConnection.send's onWritten) and nothing refers to them any more; at most once. Content never released
   * is simply collected. Absent for content that owns its memory.
   */
  readonly release?: () => void;
}

export async function readWholeFile(path: Buffer, expectedSize: number): Promise<FileContent> {
  const hash = new ContentHasher();
  const pieces: Buffer[] = [];
  let size = 0;
  let error: string | null = null;
  let fd: number | null = null;
  try {
    fd = await openAsync(path, READ_FLAGS);
    if (!(await fstatAsync(fd)).isFile()) throw new Error('no longer a regular file');
    for (;;) {
      const remaining = expectedSize - size;
      const buffer = Buffer.allocUnsafe(remaining > 0 ? remaining + 1 : GROWTH_READ_BYTES);
      const bytesRead = await readAsync(fd, buffer, size);
      if (bytesRead === 0) break;
      const piece = buffer.subarray(0, bytesRead);
      pieces.push(piece);
      hash.update(piece);
      size += bytesRead;
      // A short read of a regular file means its end was reached.
      if (bytesRead < buffer.length) break;
    }
  } catch (caught) {
    error = readErrorMessage(caught);
  } finally {
    if (fd !== null) await closeAsync(fd).catch(() => undefined);
  }
  return { pieces, size, sha256: hash.digest(), error };
}

export function readErrorMessage(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `vanished before it could be read: ${errorMessage(error)}`;
  if (code === 'ELOOP') return 'replaced by a symlink since the walk (not followed)';
  return `cannot read: ${errorMessage(error)}`;
}
