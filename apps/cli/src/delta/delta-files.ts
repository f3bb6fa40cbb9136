import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CliError } from '../errors/cli-error';

/** Largest signature file read: 1 TiB in 1 MiB blocks signs to about 16 MiB, so 256 MiB is never legitimate. */
export const MAX_SIGNATURE_FILE_BYTES = 256 * 1024 * 1024;

/** Reads a whole small file (a signature), refusing what cannot be one. */
export async function readSignatureFile(path: string): Promise<Buffer> {
  const info = await stat(path).catch((error: unknown) => {
    throw fileError('cannot read signature', path, error);
  });
  if (!info.isFile()) throw new CliError(`cannot read signature ${path}: not a regular file`);
  if (info.size > MAX_SIGNATURE_FILE_BYTES) throw new CliError(`${path} is ${info.size} bytes, too large to be a signature`);
  const handle = await open(path, 'r').catch((error: unknown) => {
    throw fileError('cannot read signature', path, error);
  });
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Chunks of a file for the streaming decoders (1 MiB reads). */
export async function* readFileChunks(path: string): AsyncGenerator<Buffer> {
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (error) {
    throw fileError('cannot read', path, error);
  } finally {
    stream.destroy();
  }
}

/** Fails with a one-line reason when `path` is not a readable regular file. */
export async function requireReadableFile(path: string, role: string): Promise<void> {
  const info = await stat(path).catch((error: unknown) => {
    throw fileError(`cannot read ${role}`, path, error);
  });
  if (!info.isFile()) throw new CliError(`cannot read ${role} ${path}: not a regular file`);
}

/** Appends one chunk to the output; the chunk may be reused by the caller once the promise resolves. */
export type ChunkWriter = (chunk: Uint8Array) => Promise<void>;

/**
 * Writes what `produce` hands to its writer to `path` atomically: into a temporary file beside it, synced, then
 * renamed over it. When `produce` fails (a corrupt delta, a hash mismatch), the temporary file is removed and
 * `path` is left untouched. Returns the bytes written.
 */
export async function writeFileAtomically(path: string, produce: (write: ChunkWriter) => Promise<void>): Promise<number> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o644).catch((error: unknown) => {
    throw fileError('cannot write', path, error);
  });
  let written = 0;
  try {
    await produce(async (chunk) => {
      await handle.write(chunk);
      written += chunk.length;
    });
    await handle.sync();
    await handle.close();
    await rename(temporary, path);
    return written;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/** "cannot read basis /x: no such file or directory" from a Node fs error. */
export function fileError(what: string, path: string, error: unknown): CliError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'a parent is not a directory',
    ENOSPC: 'no space left on the device',
  };
  const reason = (code !== undefined ? reasons[code] : undefined) ?? (error instanceof Error ? error.message : String(error));
  return new CliError(`${what} ${path}: ${reason}`);
}
