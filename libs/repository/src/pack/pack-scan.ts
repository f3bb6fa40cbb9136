import { type FileHandle } from 'node:fs/promises';
import { readFully } from '../durable-fs';
import { sha256 } from '../ids';
import { MAX_TREE_BYTES } from '../tree/tree-codec';
import { CONTENT_CHUNK_BYTES } from '../model';
import { ObjectKind, type PackEntry, PACK_HEADER_BYTES, packHeaderProblem, parseRecordHeader, type RecordHeader, RECORD_HEADER_BYTES } from './pack-format';

const WINDOW_BYTES = 8 * 1024 * 1024;

/** A stretch of a pack that holds no intact record, followed by at least one that is intact. */
export interface DamagedSpan {
  readonly offset: number;
  readonly bytes: number;
  readonly problem: string;
}

export interface ScanResult {
  /** Every intact record (its data matches its id), in file order. */
  readonly entries: PackEntry[];
  /** Damaged stretches between intact records: kept in the file, not indexed. */
  readonly damaged: DamagedSpan[];
  /** End of the last intact record: everything after it is a torn or damaged tail. */
  readonly validEnd: number;
  readonly fileBytes: number;
  /** Why the tail after `validEnd` is not records (a torn write, leftovers), or null when there is no tail. */
  readonly tailProblem: string | null;
}

/**
 * Reads a pack record by record, checking each header's CRC and each record's data against its id. A record is
 * kept when its data matches its id, wherever it lies: objects are content-addressed, so an intact record is
 * trustworthy whatever is damaged before it. A record whose header is intact but whose data is not is skipped by
 * its length; after a header that cannot be parsed the scan looks, byte by byte, for the next intact record (a
 * header whose CRC holds and whose data matches its id). What follows the last intact record is a torn tail.
 * One damaged record therefore loses that record alone, never the acknowledged records written after it.
 */
export async function scanPack(handle: FileHandle): Promise<ScanResult> {
  const { size: fileBytes } = await handle.stat();
  const reader = new WindowReader(handle, fileBytes);
  const entries: PackEntry[] = [];
  const damaged: DamagedSpan[] = [];
  let validEnd = 0;
  let at = PACK_HEADER_BYTES;
  /** Where the current stretch without intact records began, and why, when the scan is in one. */
  let broken: { offset: number; problem: string } | null = null;
  const headerProblem = packHeaderProblem(await reader.read(0, PACK_HEADER_BYTES));
  if (headerProblem === null) validEnd = PACK_HEADER_BYTES;
  else broken = { offset: 0, problem: headerProblem };

  while (at < fileBytes) {
    const record = await readRecord(reader, at, fileBytes);
    if (record.entry !== null) {
      if (broken !== null) damaged.push({ offset: broken.offset, bytes: at - broken.offset, problem: broken.problem });
      broken = null;
      entries.push(record.entry);
      at = record.entry.offset + record.entry.length;
      validEnd = at;
      continue;
    }
    broken ??= { offset: at, problem: record.problem };
    if (record.skipTo !== null) {
      at = record.skipTo;
      continue;
    }
    const next = await findRecord(reader, at + 1, fileBytes);
    if (next === null) break;
    at = next;
  }
  return { entries, damaged, validEnd, fileBytes, tailProblem: broken?.problem ?? null };
}

type ReadRecord =
  | { readonly entry: PackEntry; readonly problem: null; readonly skipTo: null }
  /** Not an intact record; `skipTo` is where the next record starts when the header is intact (only its data is not). */
  | { readonly entry: null; readonly problem: string; readonly skipTo: number | null };

async function readRecord(reader: WindowReader, at: number, fileBytes: number): Promise<ReadRecord> {
  const header = parseRecordHeader(await reader.read(at, RECORD_HEADER_BYTES));
  if (typeof header === 'string') return { entry: null, problem: `${header} at byte ${at}`, skipTo: null };
  const dataStart = at + RECORD_HEADER_BYTES;
  const beyond = lengthProblem(header, dataStart, fileBytes);
  if (beyond !== null) return { entry: null, problem: `record at byte ${at} claims ${header.length} bytes, beyond ${beyond}`, skipTo: null };
  const data = await reader.read(dataStart, header.length);
  if (!sha256(data).equals(header.id)) {
    return { entry: null, problem: `record at byte ${at} does not match its id ${header.id.toString('hex')}`, skipTo: dataStart + header.length };
  }
  return { entry: { kind: header.kind, id: header.id, offset: dataStart, length: header.length }, problem: null, skipTo: null };
}

function lengthProblem(header: RecordHeader, dataStart: number, fileBytes: number): string | null {
  if (header.length > (header.kind === ObjectKind.Blob ? CONTENT_CHUNK_BYTES : MAX_TREE_BYTES)) return 'the limit';
  if (dataStart + header.length > fileBytes) return 'the end of the file';
  return null;
}

/**
 * The offset of the first intact record at or after `from`, or null. Cheap tests first (a known kind, zero
 * flags: two bytes), then the header's CRC, then the data's SHA-256, so a false start costs almost nothing and
 * an accepted one is certain.
 */
async function findRecord(reader: WindowReader, from: number, fileBytes: number): Promise<number | null> {
  for (let start = from; start + RECORD_HEADER_BYTES <= fileBytes; ) {
    const window = await reader.read(start, Math.min(WINDOW_BYTES, fileBytes - start));
    const last = window.length - RECORD_HEADER_BYTES;
    for (let i = 0; i <= last; i++) {
      const kind = window[i];
      if ((kind !== ObjectKind.Blob && kind !== ObjectKind.Tree) || window[i + 1] !== 0) continue;
      const record = await readRecord(reader, start + i, fileBytes);
      if (record.entry !== null) return start + i;
    }
    start += last + 1;
  }
  return null;
}

/** Sequential reads through a large window, so scanning costs a few big reads rather than two per record. */
class WindowReader {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly fileBytes: number,
  ) {}

  /** Up to `length` bytes at `position` (fewer at the end of the file). The buffer stays valid after later reads. */
  async read(position: number, length: number): Promise<Buffer> {
    const end = Math.min(position + length, this.fileBytes);
    if (position >= this.windowStart && end <= this.windowStart + this.window.length) {
      return this.window.subarray(position - this.windowStart, end - this.windowStart);
    }
    if (length > WINDOW_BYTES) return readFully(this.handle, end - position, position);
    this.window = await readFully(this.handle, Math.min(WINDOW_BYTES, this.fileBytes - position), position);
    this.windowStart = position;
    return this.window.subarray(0, end - position);
  }
}
