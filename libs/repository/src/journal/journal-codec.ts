import { crc32 } from 'node:zlib';
import { ByteReader, ByteWriter, DecodeError } from '../binary';
import { RepositoryInputError } from '../errors';
import { OBJECT_ID_BYTES } from '../ids';
import { type JournalRecord } from '../model';

/**
 * Run journal, version 1:
 *
 *   header (16 bytes): "BRTHJRNL" | u32 version | u32 reserved (0)
 *   record: u32 body length | u32 crc32(body) | body
 *   body:   u8 record type | payload
 *
 * Record types: 1 = directory committed (bytes dir, 32-byte tree id, varint files, dirs, bytes); 2 = one chunk
 * of a directory committed (bytes dir, 32-byte id of a tree of that chunk's entries, varint files, dirs, bytes
 * of those entries, bytes name of the chunk's last entry). The type byte leaves room for what resume needs next
 * (a committed part of a large file); a reader that meets a type it does not know refuses the journal rather
 * than resume from a wrong point.
 */
export const JOURNAL_MAGIC = Buffer.from('BRTHJRNL', 'latin1');
export const JOURNAL_FORMAT_VERSION = 1;
export const JOURNAL_HEADER_BYTES = 16;
export const JOURNAL_RECORD_HEADER_BYTES = 8;
export const MAX_JOURNAL_PATH_BYTES = 64 * 1024;
export const MAX_JOURNAL_NAME_BYTES = 255;
export const MAX_JOURNAL_BODY_BYTES = MAX_JOURNAL_PATH_BYTES + MAX_JOURNAL_NAME_BYTES + 128;

export const JournalRecordType = {
  DirCommitted: 1,
  DirChunkCommitted: 2,
} as const;

export function encodeJournalHeader(): Buffer {
  const header = Buffer.alloc(JOURNAL_HEADER_BYTES);
  JOURNAL_MAGIC.copy(header, 0);
  header.writeUInt32BE(JOURNAL_FORMAT_VERSION, 8);
  return header;
}

export function journalHeaderProblem(bytes: Buffer): string | null {
  if (bytes.length < JOURNAL_HEADER_BYTES) return 'journal header is torn';
  if (!bytes.subarray(0, 8).equals(JOURNAL_MAGIC)) return 'not a journal (bad magic)';
  const version = bytes.readUInt32BE(8);
  if (version !== JOURNAL_FORMAT_VERSION) return `unknown journal format version ${version}`;
  return null;
}

export function encodeJournalRecords(records: readonly JournalRecord[]): Buffer {
  const parts: Buffer[] = [];
  for (const [i, record] of records.entries()) {
    const problem = recordProblem(record);
    if (problem !== null) throw new RepositoryInputError(`journal record ${i}: ${problem}`);
    const body = new ByteWriter(64 + record.dir.length + (record.partialThrough?.length ?? 0));
    body.u8(record.partialThrough === undefined ? JournalRecordType.DirCommitted : JournalRecordType.DirChunkCommitted);
    body.bytes(record.dir);
    body.raw(record.tree);
    body.uint(record.files);
    body.uint(record.dirs);
    body.uint(record.bytes);
    if (record.partialThrough !== undefined) body.bytes(record.partialThrough);
    const bytes = body.finish();
    const header = Buffer.allocUnsafe(JOURNAL_RECORD_HEADER_BYTES);
    header.writeUInt32BE(bytes.length, 0);
    header.writeUInt32BE(crc32(bytes), 4);
    parts.push(header, bytes);
  }
  return Buffer.concat(parts);
}

export interface JournalParse {
  readonly records: JournalRecord[];
  /** End of the last intact record. */
  readonly validEnd: number;
  /** Why parsing stopped before the end (a torn or damaged tail), or null. */
  readonly tornTail: string | null;
}

/**
 * Parses a whole journal file (header already checked). A record whose length runs past the end or whose
 * checksum fails ends the parse there: it is the torn tail of a crashed append. A record with a good checksum
 * that cannot be understood is a newer or damaged format and raises DecodeError.
 */
export function parseJournal(bytes: Buffer): JournalParse {
  const records: JournalRecord[] = [];
  let at = JOURNAL_HEADER_BYTES;
  while (at < bytes.length) {
    if (bytes.length - at < JOURNAL_RECORD_HEADER_BYTES) return { records, validEnd: at, tornTail: `torn record header at byte ${at}` };
    const length = bytes.readUInt32BE(at);
    const bodyStart = at + JOURNAL_RECORD_HEADER_BYTES;
    if (length > MAX_JOURNAL_BODY_BYTES || bodyStart + length > bytes.length) {
      return { records, validEnd: at, tornTail: `record at byte ${at} claims ${length} bytes, beyond the end` };
    }
    const body = bytes.subarray(bodyStart, bodyStart + length);
    if (crc32(body) !== bytes.readUInt32BE(at + 4)) return { records, validEnd: at, tornTail: `record at byte ${at} fails its checksum` };
    records.push(decodeBody(body, at));
    at = bodyStart + length;
  }
  return { records, validEnd: at, tornTail: null };
}

function decodeBody(body: Buffer, at: number): JournalRecord {
  const reader = new ByteReader(body);
  const type = reader.u8();
  if (type !== JournalRecordType.DirCommitted && type !== JournalRecordType.DirChunkCommitted) {
    throw new DecodeError(`record at byte ${at} has unknown type ${type}`);
  }
  const dir = reader.bytes('dir', MAX_JOURNAL_PATH_BYTES);
  const tree = Buffer.from(reader.raw(OBJECT_ID_BYTES));
  const files = reader.uint();
  const dirs = reader.uint();
  const bytes = reader.uint();
  if (type === JournalRecordType.DirCommitted) {
    reader.end();
    return { dir, tree, files, dirs, bytes };
  }
  const partialThrough = reader.bytes('partialThrough', MAX_JOURNAL_NAME_BYTES);
  reader.end();
  if (partialThrough.length === 0) throw new DecodeError(`record at byte ${at}: empty partialThrough name`);
  return { dir, tree, files, dirs, bytes, partialThrough };
}

function recordProblem(record: JournalRecord): string | null {
  if (typeof record !== 'object' || record === null) return 'is not an object';
  if (!Buffer.isBuffer(record.dir) || record.dir.length === 0 || record.dir.length > MAX_JOURNAL_PATH_BYTES) {
    return `dir must be 1..${MAX_JOURNAL_PATH_BYTES} bytes`;
  }
  if (record.dir.includes(0)) return 'dir contains a NUL byte';
  if (!Buffer.isBuffer(record.tree) || record.tree.length !== OBJECT_ID_BYTES) return `tree must be a ${OBJECT_ID_BYTES}-byte id`;
  if (record.partialThrough !== undefined) {
    const name = record.partialThrough;
    if (!Buffer.isBuffer(name) || name.length === 0 || name.length > MAX_JOURNAL_NAME_BYTES) return `partialThrough must be 1..${MAX_JOURNAL_NAME_BYTES} bytes`;
  }
  for (const field of ['files', 'dirs', 'bytes'] as const) {
    if (!Number.isSafeInteger(record[field]) || record[field] < 0) return `${field} must be a non-negative safe integer, got ${String(record[field])}`;
  }
  return null;
}
