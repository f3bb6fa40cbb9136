import { CONTENT_CHUNK_BYTES, ContentHasher } from '@berth/delta';
import { createReadStream } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { copyFile, open } from 'node:fs/promises';

export const MiB = 1024 * 1024;
const WRITE_CHUNK = 4 * MiB;

/** Writes `length` random bytes to `path`, 4 MiB at a time. */
export async function writeRandomFile(path: string, length: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    const chunk = Buffer.allocUnsafe(WRITE_CHUNK);
    for (let offset = 0; offset < length; offset += WRITE_CHUNK) {
      const size = Math.min(WRITE_CHUNK, length - offset);
      randomFillSync(chunk, 0, size);
      await handle.write(chunk, 0, size, offset);
    }
  } finally {
    await handle.close();
  }
}

/** Deterministic positions: the same edits on every run (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A copy of `basis` with `pieces` random 4 KiB pieces overwritten at the given offsets. */
export async function writeEditedCopy(basis: string, path: string, offsets: readonly number[], pieceLength: number): Promise<void> {
  await copyFile(basis, path);
  const handle = await open(path, 'r+');
  try {
    const piece = Buffer.allocUnsafe(pieceLength);
    for (const offset of offsets) {
      randomFillSync(piece);
      await handle.write(piece, 0, pieceLength, offset);
    }
  } finally {
    await handle.close();
  }
}

/** `count` offsets spread at random over a file, each leaving room for a piece. */
export function scatteredOffsets(fileLength: number, pieceLength: number, count: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => Math.floor(random() * (fileLength - pieceLength)));
}

/** The ids of a file's 1 MiB content chunks, back to back: what a receiver sends a protocol 8 agent with a signature. */
export async function contentChunkIds(path: string): Promise<Buffer> {
  const hasher = new ContentHasher();
  for await (const piece of createReadStream(path, { highWaterMark: CONTENT_CHUNK_BYTES })) hasher.update(piece as Buffer);
  hasher.digest();
  return Buffer.concat(hasher.chunkIds);
}
