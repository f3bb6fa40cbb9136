/**
 * Dedup before data, the agent's half: a large file is read once to hash its 1 MiB chunks (the repository's
 * blob ids) and the whole file; the receiver answers whether it holds them all. Reading twice is cheap next
 * to sending: page cache and SHA-256 at about 1.5 GB/s, against 12 MB/s on a 100 Mbit link.
 */
import { createHash } from 'node:crypto';
import { type FileHandle } from 'node:fs/promises';
import { openRegularFile } from './file-sender';

/** The repository's content chunk size (libs/repository CONTENT_CHUNK_BYTES): offered ids must be its blob ids. */
export const OFFER_CHUNK_BYTES = 1024 * 1024;

export interface ContentHashes {
  readonly size: bigint;
  readonly sha256: Buffer;
  readonly chunks: readonly Buffer[];
}

/** Hashes of the file as it is now, or null when it cannot be read (the whole-content path then reports it). */
export async function hashContent(path: Buffer): Promise<ContentHashes | null> {
  let handle: FileHandle | null = null;
  try {
    handle = await openRegularFile(path);
    const whole = createHash('sha256');
    const chunks: Buffer[] = [];
    const buffer = Buffer.allocUnsafe(OFFER_CHUNK_BYTES);
    let size = 0;
    for (;;) {
      let filled = 0;
      while (filled < OFFER_CHUNK_BYTES) {
        const { bytesRead } = await handle.read(buffer, filled, OFFER_CHUNK_BYTES - filled, size + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      if (filled === 0) break;
      const chunk = buffer.subarray(0, filled);
      whole.update(chunk);
      chunks.push(createHash('sha256').update(chunk).digest());
      size += filled;
      if (filled < OFFER_CHUNK_BYTES) break;
    }
    return { size: BigInt(size), sha256: whole.digest(), chunks };
  } catch {
    return null;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
