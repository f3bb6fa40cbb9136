/**
 * Sends one changed file as a delta against the receiver's signature of its previous version: the file is
 * read once, streaming (libs/delta keeps about 4 MiB plus the signature's table), and the encoded delta goes
 * out in FileData frames of at most 1 MiB within the byte credit, then FileEnd with the new file's size and
 * content hash. A file that cannot be opened or read to the end is reported in FileEnd, as for whole content.
 */
import { decodeSignature, delta, encodeDelta, type ByteSource, type DeltaToken, type Signature } from '@berth/delta';
import { createHash } from 'node:crypto';
import { type FileHandle } from 'node:fs/promises';
import { protocolError } from '../receiver/session-errors';
import { type CreditWindow } from './credit-window';
import { FILE_DATA_MAX_BYTES, openRegularFile, sendWithinCredit, type FileSendResult, type FileSendTarget, type SendMessage } from './file-sender';
import { readErrorMessage } from './file-reader';
import { MessageType } from '@berth/wire';

const EMPTY_SHA256 = createHash('sha256').digest();

/** What the receiver sent of a file's previous version: its encoded signature, and (v8) its content chunks' ids. */
export interface DeltaBasis {
  readonly signature: Buffer;
  readonly basisChunks: Buffer | null;
}

export async function sendDelta(
  target: FileSendTarget,
  basis: DeltaBasis,
  credit: CreditWindow,
  send: SendMessage,
  onBytesSent: (bytes: number) => void,
): Promise<FileSendResult> {
  let signature: Signature;
  try {
    signature = decodeSignature(basis.signature);
  } catch (error) {
    throw protocolError(`the signature of entry ${target.index} of chunk ${target.seq} is unusable: ${(error as Error).message}`);
  }
  let end: { length: number; sha256: Buffer } | null = null;
  const reading: { error: string | null } = { error: null };
  let handle: FileHandle | null = null;
  try {
    handle = await openRegularFile(target.path);
  } catch (caught) {
    reading.error = readErrorMessage(caught);
  }
  try {
    if (handle !== null) {
      // A read error ends the input early: the delta still completes (and is dropped by the receiver, told by
      // FileEnd's error), so whatever is thrown here is a failure to send, which ends the session.
      // The content hash, not the library's default BLAKE3: the end digest is also FileEnd's.
      // The basis's chunk ids let the delta copy the chunks it finds unchanged without hashing their blocks.
      const options = { hash: 'content' as const, ...(basis.basisChunks === null ? {} : { basisChunks: basis.basisChunks }) };
      const tokens = keepEnd(delta(signature, fileSource(handle, reading), options), (token) => (end = { length: token.length, sha256: Buffer.from(token.digest) }));
      for await (const frame of encodeDelta(tokens, { maxFrameBytes: FILE_DATA_MAX_BYTES })) await sendWithinCredit(target, frame, credit, send, onBytesSent);
    }
  } finally {
    await handle?.close().catch(() => undefined);
  }
  const error = reading.error;
  const done = end as { length: number; sha256: Buffer } | null;
  const size = error === null && done !== null ? done.length : 0;
  const sha256 = error === null && done !== null ? done.sha256 : EMPTY_SHA256;
  await send({ type: MessageType.FileEnd, seq: target.seq, index: target.index, size: BigInt(size), sha256, error });
  return { size: BigInt(size), error };
}

async function* keepEnd(tokens: AsyncIterable<DeltaToken>, onEnd: (token: Extract<DeltaToken, { kind: 'end' }>) => void): AsyncGenerator<DeltaToken> {
  for await (const token of tokens) {
    if (token.kind === 'end') onEnd(token);
    yield token;
  }
}

/**
 * The file as the delta's input: positioned reads straight into the delta's own buffer, so no read buffer is
 * allocated (and later collected) per MiB and no bytes are copied out of one. A read error ends the input (0)
 * and is kept for FileEnd; the handle is the caller's to close.
 */
function fileSource(handle: FileHandle, reading: { error: string | null }): ByteSource {
  let position = 0;
  return {
    knownLength: undefined,
    async read(target: Uint8Array, offset: number, length: number): Promise<number> {
      if (reading.error !== null) return 0;
      try {
        const { bytesRead } = await handle.read(target, offset, length, position);
        position += bytesRead;
        return bytesRead;
      } catch (caught) {
        reading.error = readErrorMessage(caught);
        return 0;
      }
    },
    close: () => Promise.resolve(),
  };
}
