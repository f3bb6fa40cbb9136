/**
 * Streams one regular file as FileData frames (at most 1 MiB each, and never more than the byte credit
 * left), then FileEnd with the size actually read and its content hash. The file is never loaded whole, never
 * followed through a symlink, and a FIFO that replaced it since the walk cannot block the open.
 * A file that cannot be opened or read to the end is not a failure of the run: FileEnd carries the
 * error, the receiver drops the entry, and the caller records it. Failures to send (the session is
 * gone) do end the transfer: they propagate.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { CONTENT_CHUNK_BYTES, ContentHasher } from '@berth/delta';
import { MessageType, type Message } from '@berth/wire';
import { chunkBuffers } from './chunk-buffers';
import { type CreditWindow } from './credit-window';
import { READ_FLAGS, readErrorMessage, type FileContent } from './file-reader';

export const FILE_DATA_MAX_BYTES = 1024 * 1024;
/** Read size once the file is longer than lstat said (it is growing). */
const GROWTH_READ_BYTES = 64 * 1024;

export interface FileSendResult {
  readonly size: bigint;
  /** Why the content is incomplete, or null. */
  readonly error: string | null;
}

export interface FileSendTarget {
  readonly seq: number;
  readonly index: number;
  readonly path: Buffer;
  /** Size seen by lstat: sizes the reads, not a limit. */
  readonly expectedSize: bigint;
}

/** FramedConnection.send: `onWritten` is called once the frame's data may be reused. */
export type SendMessage = (message: Message, onWritten?: () => void) => Promise<void>;

/**
 * Sends the file's content from its start, or (`held`: the ids of its leading CONTENT_CHUNK_BYTES chunks the
 * receiver holds) from the end of those chunks: they are read and hashed again, not sent, and FileEnd still carries
 * the whole file's size and content hash. A held chunk that no longer matches means the file changed since it was
 * offered: FileEnd then reports that error (the receiver drops the entry).
 */
export async function sendFile(
  target: FileSendTarget,
  credit: CreditWindow,
  send: SendMessage,
  onBytesSent: (bytes: number) => void,
  held: readonly Buffer[] | null = null,
): Promise<FileSendResult> {
  const hash = new ContentHasher();
  let size = 0;
  let error: string | null = null;
  let handle: FileHandle | null = null;
  try {
    try {
      handle = await openRegularFile(target.path);
    } catch (caught) {
      error = readErrorMessage(caught);
    }
    if (handle !== null && held !== null) {
      const skipped = await hashHeldChunks(handle, held, hash);
      if (typeof skipped === 'string') {
        error = skipped;
        await handle.close().catch(() => undefined);
        handle = null;
      } else {
        size = skipped;
      }
    }
    const expected = Number(target.expectedSize);
    while (handle !== null) {
      // A pooled buffer, back in the pool once the connection has written what was sent from it.
      const owned = chunkBuffers.take();
      const remaining = expected - size;
      const length = Math.min(remaining > 0 ? remaining + 1 : GROWTH_READ_BYTES, FILE_DATA_MAX_BYTES, owned.length);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(owned, 0, length, size));
      } catch (caught) {
        chunkBuffers.give(owned);
        error = readErrorMessage(caught);
        break;
      }
      if (bytesRead === 0) {
        chunkBuffers.give(owned);
        break;
      }
      const data = owned.subarray(0, bytesRead);
      hash.update(data);
      size += bytesRead;
      await sendWithinCredit(target, data, credit, send, onBytesSent, () => chunkBuffers.give(owned));
      // A short read of a regular file means its end was reached.
      if (bytesRead < length) break;
    }
  } finally {
    await handle?.close().catch(() => undefined);
  }
  await send({ type: MessageType.FileEnd, seq: target.seq, index: target.index, size: BigInt(size), sha256: hash.digest(), error });
  return { size: BigInt(size), error };
}

/** Reads the held leading chunks into `hash`, checking each against its id; their length, or why they differ. */
async function hashHeldChunks(handle: FileHandle, chunks: readonly Buffer[], hash: ContentHasher): Promise<number | string> {
  const buffer = chunkBuffers.take();
  try {
    return await hashHeldChunksInto(buffer, handle, chunks, hash);
  } finally {
    chunkBuffers.give(buffer);
  }
}

async function hashHeldChunksInto(buffer: Buffer, handle: FileHandle, chunks: readonly Buffer[], hash: ContentHasher): Promise<number | string> {
  let size = 0;
  for (const expected of chunks) {
    let filled = 0;
    try {
      while (filled < CONTENT_CHUNK_BYTES) {
        const { bytesRead } = await handle.read(buffer, filled, CONTENT_CHUNK_BYTES - filled, size + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
    } catch (caught) {
      return readErrorMessage(caught);
    }
    if (filled < CONTENT_CHUNK_BYTES || !(hash.update(buffer).chunkIds.at(-1) as Buffer).equals(expected)) {
      return 'changed while being backed up (its start no longer matches what was offered)';
    }
    size += CONTENT_CHUNK_BYTES;
  }
  return size;
}

export async function openRegularFile(path: Buffer): Promise<FileHandle> {
  const handle = await open(path, READ_FLAGS);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error('no longer a regular file');
    return handle;
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Sends `data` as FileData frames within the byte credit. `onWritten` goes with the last frame: frames are written in
 * order, so it is called once the connection is done with all of `data`.
 */
export async function sendWithinCredit(
  target: FileSendTarget,
  data: Buffer,
  credit: CreditWindow,
  send: SendMessage,
  onBytesSent: (bytes: number) => void,
  onWritten?: () => void,
): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const allowed = await credit.takeBytes(data.length - offset);
    const end = offset + allowed;
    await send({ type: MessageType.FileData, seq: target.seq, index: target.index, data: data.subarray(offset, end) }, end === data.length ? onWritten : undefined);
    offset = end;
    onBytesSent(allowed);
  }
}

/**
 * Sends content read ahead (see ReadAhead), in frames of at most 1 MiB within the credit, then FileEnd. The content
 * is released once FileEnd was written: frames leave in order, so every frame of its bytes is written by then.
 */
export async function sendContent(target: FileSendTarget, content: FileContent, credit: CreditWindow, send: SendMessage, onBytesSent: (bytes: number) => void): Promise<FileSendResult> {
  for (const piece of content.pieces) {
    for (let offset = 0; offset < piece.length; offset += FILE_DATA_MAX_BYTES) {
      await sendWithinCredit(target, piece.subarray(offset, Math.min(offset + FILE_DATA_MAX_BYTES, piece.length)), credit, send, onBytesSent);
    }
  }
  await send({ type: MessageType.FileEnd, seq: target.seq, index: target.index, size: BigInt(content.size), sha256: content.sha256, error: content.error }, content.release);
  return { size: BigInt(content.size), error: content.error };
}
