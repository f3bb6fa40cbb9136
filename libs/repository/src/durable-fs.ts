import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Makes a directory's entries (files created, renamed or removed in it) durable. */
export async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates one directory level; when it was new, its parent is fsync'd so the new entry survives a crash. */
export async function ensureDirDurable(path: string): Promise<boolean> {
  try {
    await mkdir(path);
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return false;
    throw error;
  }
  await fsyncDir(dirname(path));
  return true;
}

/** A file written and fsync'd in a temporary folder, not yet in place (see stageFile). */
export interface StagedFile {
  /** Renames it over its destination, then fsyncs the destination's directory: from then on it is there, durably. */
  commit(): Promise<void>;
  /** Removes it instead. */
  abort(): Promise<void>;
}

/** A StagedFile with nothing to put in place (the destination already holds what it would have). */
export const NOTHING_STAGED: StagedFile = { commit: () => Promise.resolve(), abort: () => Promise.resolve() };

/**
 * The first half of writeFileAtomic: `data` is written to a temporary file in `tmpDir` (same filesystem) and
 * fsync'd; commit() then puts it in place. Between the two, neither a reader nor a crash sees it at `finalPath`.
 */
export async function stageFile(tmpDir: string, finalPath: string, data: Uint8Array): Promise<StagedFile> {
  const tmpPath = join(tmpDir, `${basename(finalPath)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(tmpPath, 'wx', 0o644);
    try {
      await writeAll(handle, data, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await rm(tmpPath, { force: true });
    throw error;
  }
  return {
    commit: async () => {
      try {
        await rename(tmpPath, finalPath);
      } catch (error) {
        await rm(tmpPath, { force: true });
        throw error;
      }
      await fsyncDir(dirname(finalPath));
    },
    abort: () => rm(tmpPath, { force: true }),
  };
}

/**
 * Writes `data` to `finalPath` atomically: a temporary file in `tmpDir` (same filesystem) is written,
 * fsync'd and renamed over the destination, then the destination's directory is fsync'd. A crash leaves
 * either the old state or the new one, plus at most a leftover in `tmpDir`.
 */
export async function writeFileAtomic(tmpDir: string, finalPath: string, data: Uint8Array): Promise<void> {
  await (await stageFile(tmpDir, finalPath, data)).commit();
}

export async function writeAll(handle: { write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> }, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** Reads `length` bytes at `position` into `target` (at least `length` bytes long) or a new buffer; fewer at the end of the file. */
export async function readFully(
  handle: { read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> },
  length: number,
  position: number,
  target?: Buffer,
): Promise<Buffer> {
  const buffer = target ?? Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) return buffer.subarray(0, done);
    done += bytesRead;
  }
  return buffer;
}

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
