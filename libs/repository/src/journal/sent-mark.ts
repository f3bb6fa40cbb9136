import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ByteReader, ByteWriter, DecodeError } from '../binary';
import { isErrno, writeFileAtomic } from '../durable-fs';
import { RepositoryInputError } from '../errors';
import { assertUuid } from '../ids';
import { type SentMark } from '../model';
import { MAX_JOURNAL_NAME_BYTES, MAX_JOURNAL_PATH_BYTES } from './journal-codec';

/**
 * How far a run's attempts got sending content, beside its journal as runs/<runId>.sent (replaced atomically):
 *
 *   "BRTHSENT" | u32 version | u32 crc32(body) | body: bytes dir | bytes name | u8 has offset | [u64 offset]
 *
 * It is a statistic (what a later attempt sends again), not a resume point: a missing, torn or damaged file reads
 * as "unknown" (null), never as an error that would stop a backup.
 */
const MAGIC = Buffer.from('BRTHSENT', 'latin1');
const VERSION = 1;
const HEADER_BYTES = 16;

export function encodeSentMark(mark: SentMark): Buffer {
  if (!Buffer.isBuffer(mark.dir) || mark.dir.length === 0 || mark.dir.length > MAX_JOURNAL_PATH_BYTES) {
    throw new RepositoryInputError(`sent mark: dir must be 1..${MAX_JOURNAL_PATH_BYTES} bytes`);
  }
  if (!Buffer.isBuffer(mark.name) || mark.name.length === 0 || mark.name.length > MAX_JOURNAL_NAME_BYTES) {
    throw new RepositoryInputError(`sent mark: name must be 1..${MAX_JOURNAL_NAME_BYTES} bytes`);
  }
  if (mark.offset !== null && mark.offset < 0n) throw new RepositoryInputError('sent mark: offset must not be negative');
  const body = new ByteWriter(32 + mark.dir.length + mark.name.length);
  body.bytes(mark.dir);
  body.bytes(mark.name);
  body.u8(mark.offset === null ? 0 : 1);
  if (mark.offset !== null) body.u64(mark.offset);
  const bytes = body.finish();
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32BE(VERSION, 8);
  header.writeUInt32BE(crc32(bytes), 12);
  return Buffer.concat([header, bytes]);
}

/** The mark, or null for anything that is not an intact version-1 mark. */
export function decodeSentMark(bytes: Buffer): SentMark | null {
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, 8).equals(MAGIC) || bytes.readUInt32BE(8) !== VERSION) return null;
  const body = bytes.subarray(HEADER_BYTES);
  if (crc32(body) !== bytes.readUInt32BE(12)) return null;
  try {
    const reader = new ByteReader(body);
    const dir = reader.bytes('dir', MAX_JOURNAL_PATH_BYTES);
    const name = reader.bytes('name', MAX_JOURNAL_NAME_BYTES);
    const flag = reader.u8();
    if (flag > 1 || dir.length === 0 || name.length === 0) return null;
    const offset = flag === 1 ? reader.u64() : null;
    reader.end();
    return { dir, name, offset };
  } catch (error) {
    if (error instanceof DecodeError) return null;
    throw error;
  }
}

export class SentMarkStore {
  constructor(
    private readonly runsDir: string,
    private readonly tmpDir: string,
  ) {}

  async read(runId: string): Promise<SentMark | null> {
    assertUuid('runId', runId);
    try {
      return decodeSentMark(await readFile(this.pathOf(runId)));
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return null;
      throw error;
    }
  }

  async write(runId: string, mark: SentMark): Promise<void> {
    assertUuid('runId', runId);
    await writeFileAtomic(this.tmpDir, this.pathOf(runId), encodeSentMark(mark));
  }

  async remove(runId: string): Promise<void> {
    assertUuid('runId', runId);
    await rm(this.pathOf(runId), { force: true });
  }

  private pathOf(runId: string): string {
    return join(this.runsDir, `${runId}.sent`);
  }
}
