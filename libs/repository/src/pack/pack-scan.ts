import { type FileHandle } from 'node:fs/promises';
import { readFully } from '../durable-fs';
import { sha256 } from '../ids';
import { MAX_TREE_BYTES } from '../tree/tree-codec';
import { CONTENT_CHUNK_BYTES } from '../model';
import { ObjectKind, type PackEntry, PACK_HEADER_BYTES, packHeaderProblem, parseRecordHeader, RECORD_HEADER_BYTES } from './pack-format';

const WINDOW_BYTES = 8 * 1024 * 1024;

export interface ScanResult {
  readonly entries: PackEntry[];
  /** End of the last good record: everything after it is a torn or damaged tail. */
  readonly validEnd: number;
  readonly fileBytes: number;
  /** Why the scan stopped before the end of the file, or null. */
  readonly problem: string | null;
}

/**
 * Reads a pack record by record, checking each header's CRC and each record's data against its id. Stops at
 * the first record that is torn or damaged: records are appended in order and the previous pack is synced
 * before this one is written, so what comes before that point is a consistent prefix.
 */
export async function scanPack(handle: FileHandle): Promise<ScanResult> {
  const { size: fileBytes } = await handle.stat();
  const reader = new WindowReader(handle, fileBytes);
  const headerProblem = packHeaderProblem(await reader.read(0, PACK_HEADER_BYTES));
  if (headerProblem !== null) return { entries: [], validEnd: 0, fileBytes, problem: headerProblem };
  const entries: PackEntry[] = [];
  let at = PACK_HEADER_BYTES;
  while (at < fileBytes) {
    const header = parseRecordHeader(await reader.read(at, RECORD_HEADER_BYTES));
    if (typeof header === 'string') return { entries, validEnd: at, fileBytes, problem: `${header} at byte ${at}` };
    const limit = header.kind === ObjectKind.Blob ? CONTENT_CHUNK_BYTES : MAX_TREE_BYTES;
    const dataStart = at + RECORD_HEADER_BYTES;
    if (header.length > limit || dataStart + header.length > fileBytes) {
      return { entries, validEnd: at, fileBytes, problem: `record at byte ${at} claims ${header.length} bytes, beyond ${header.length > limit ? 'the limit' : 'the end of the file'}` };
    }
    const data = await reader.read(dataStart, header.length);
    if (!sha256(data).equals(header.id)) return { entries, validEnd: at, fileBytes, problem: `record at byte ${at} does not match its id ${header.id.toString('hex')}` };
    entries.push({ kind: header.kind, id: header.id, offset: dataStart, length: header.length });
    at = dataStart + header.length;
  }
  return { entries, validEnd: at, fileBytes, problem: null };
}

/** Sequential reads through a large window, so scanning costs a few big reads rather than two per record. */
class WindowReader {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly fileBytes: number,
  ) {}

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
