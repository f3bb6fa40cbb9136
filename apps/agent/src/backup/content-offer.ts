/**
 * Dedup before data, the agent's half. A large file is first offered by its first 1 MiB chunk only (protocol 5):
 * when the repository does not hold that chunk it holds neither the file nor a leading part of it, so the content
 * is sent at once, hashed as it goes, and the first byte leaves after 1 MiB is hashed instead of the whole file.
 * Only when the first chunk is held is the file read once more to hash all its 1 MiB chunks (the repository's
 * blob ids, which name the file by their chunk-list hash), and offered in full: the receiver answers whether it holds them all, or how many
 * leading ones.
 */
import { createHash } from 'node:crypto';
import { type FileHandle } from 'node:fs/promises';
import { CONTENT_CHUNK_BYTES, ContentHasher } from '@berth/delta';
import { chunkBuffers } from './chunk-buffers';
import { openRegularFile } from './file-sender';

export interface ContentHashes {
  readonly size: bigint;
  readonly sha256: Buffer;
  readonly chunks: readonly Buffer[];
}

/** A large file's size and the hash of its first chunk: what a first-chunk offer names. */
export interface FirstChunk {
  readonly size: bigint;
  readonly chunk: Buffer;
}

/**
 * The first chunk's hash and the file's size, or null when the file cannot be read or is no longer longer than one
 * chunk (it is then sent without an offer, as small files are).
 */
export async function hashFirstChunk(path: Buffer): Promise<FirstChunk | null> {
  let handle: FileHandle | null = null;
  try {
    handle = await openRegularFile(path);
    const { size } = await handle.stat();
    if (size <= CONTENT_CHUNK_BYTES) return null;
    const buffer = chunkBuffers.take();
    try {
      if ((await readChunk(handle, buffer, 0)) < CONTENT_CHUNK_BYTES) return null;
      return { size: BigInt(size), chunk: createHash('sha256').update(buffer).digest() };
    } finally {
      chunkBuffers.give(buffer);
    }
  } catch {
    return null;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Fills `buffer` (one chunk) from `position`; fewer bytes only at the end of the file. */
async function readChunk(handle: FileHandle, buffer: Buffer, position: number): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** Hashes of the file as it is now, or null when it cannot be read (the whole-content path then reports it). */
export async function hashContent(path: Buffer): Promise<ContentHashes | null> {
  let handle: FileHandle | null = null;
  try {
    handle = await openRegularFile(path);
    const hasher = new ContentHasher();
    const buffer = chunkBuffers.take();
    try {
      for (;;) {
        const filled = await readChunk(handle, buffer, hasher.bytes);
        if (filled === 0) break;
        hasher.update(buffer.subarray(0, filled));
        if (filled < CONTENT_CHUNK_BYTES) break;
      }
    } finally {
      chunkBuffers.give(buffer);
    }
    const sha256 = hasher.digest();
    return { size: BigInt(hasher.bytes), sha256, chunks: [...hasher.chunkIds] };
  } catch {
    return null;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
