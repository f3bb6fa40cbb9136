import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ensureDirDurable, fsyncDir, writeAll } from '../durable-fs';
import { type ObjectId } from '../model';
import { encodePackHeader, type ObjectKind, type PackEntry, PACK_HEADER_BYTES, RECORD_HEADER_BYTES, writeRecordHeader } from './pack-format';

/** Records are gathered into segments of this size and written with one write call each. */
const SEGMENT_BYTES = 4 * 1024 * 1024;

interface Segment {
  readonly start: number;
  readonly buf: Buffer;
}

interface Waiter {
  readonly offset: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The pack currently being appended to. Appends are synchronous copies into an in-memory segment; full
 * segments are written in order by one background loop with positional writes, so a burst of small blobs
 * costs one write syscall per 4 MiB. Records not yet written are served from memory.
 *
 * Nothing is written to this pack before `after` (the previous pack's seal) resolves: the previous pack is
 * then fsync'd, so whatever survives a crash in this pack implies the previous one survived whole, and a
 * scan that truncates at the first damaged record keeps a prefix of everything ever appended.
 */
export class PackWriter {
  readonly entries: PackEntry[] = [];
  /** Logical end: bytes appended so far (header included). */
  appendEnd = 0;
  private writtenEnd = 0;
  private syncedEnd = 0;
  private dirsSynced = false;
  private segment: Buffer;
  private segmentStart = 0;
  private segmentUsed = 0;
  private readonly queue: Segment[] = [];
  private waiters: Waiter[] = [];
  private handle: FileHandle | null = null;
  private writing: Promise<void> | null = null;
  private failure: Error | null = null;

  constructor(
    readonly path: string,
    private readonly after: Promise<void>,
  ) {
    this.segment = Buffer.allocUnsafe(SEGMENT_BYTES);
    const header = encodePackHeader();
    header.copy(this.segment, 0);
    this.segmentUsed = PACK_HEADER_BYTES;
    this.appendEnd = PACK_HEADER_BYTES;
  }

  /** Bytes appended but not yet written to the file. */
  get unwrittenBytes(): number {
    return this.appendEnd - this.writtenEnd;
  }

  get hasUnsyncedData(): boolean {
    return this.syncedEnd < this.appendEnd || !this.dirsSynced;
  }

  /** Appends one record; returns its entry (data offset). Synchronous: ids are indexed before any await. */
  append(kind: ObjectKind, id: ObjectId, data: Buffer): PackEntry {
    const recordBytes = RECORD_HEADER_BYTES + data.length;
    if (this.segmentUsed + recordBytes > this.segment.length) {
      this.cutSegment();
      if (recordBytes > this.segment.length) this.segment = Buffer.allocUnsafe(Math.max(SEGMENT_BYTES, recordBytes));
    }
    writeRecordHeader(this.segment, this.segmentUsed, kind, id, data.length);
    data.copy(this.segment, this.segmentUsed + RECORD_HEADER_BYTES);
    const entry: PackEntry = { kind, id, offset: this.appendEnd + RECORD_HEADER_BYTES, length: data.length };
    this.segmentUsed += recordBytes;
    this.appendEnd += recordBytes;
    this.entries.push(entry);
    if (this.segmentUsed >= SEGMENT_BYTES) this.cutSegment();
    return entry;
  }

  /** A copy of data not yet written to the file, or null when it must be read from the file. */
  readPending(offset: number, length: number): Buffer | null {
    if (offset >= this.segmentStart && offset + length <= this.segmentStart + this.segmentUsed) {
      const at = offset - this.segmentStart;
      return Buffer.from(this.segment.subarray(at, at + length));
    }
    for (const segment of this.queue) {
      if (offset >= segment.start && offset + length <= segment.start + segment.buf.length) {
        const at = offset - segment.start;
        return Buffer.from(segment.buf.subarray(at, at + length));
      }
    }
    return null;
  }

  /** Resolves once no more than `maxBytes` are waiting to be written (backpressure for producers). */
  async waitForRoom(maxBytes: number): Promise<void> {
    if (this.unwrittenBytes <= maxBytes) return;
    this.cutSegment();
    await this.waitWritten(this.appendEnd - maxBytes);
  }

  /** Writes everything appended so far and fdatasyncs it; on the first sync also the directory entries. */
  async sync(): Promise<void> {
    const target = this.appendEnd;
    this.cutSegment();
    await this.waitWritten(target);
    const handle = this.handle;
    if (handle && this.syncedEnd < target) {
      await handle.datasync();
      this.syncedEnd = Math.max(this.syncedEnd, target);
    }
    if (!this.dirsSynced) {
      await fsyncDir(dirname(this.path));
      this.dirsSynced = true;
    }
  }

  /** Syncs and closes the file; the pack is then complete and may be indexed. */
  async seal(): Promise<void> {
    await this.sync();
    await this.handle?.close();
    this.handle = null;
  }

  /** Closes without syncing, after a failure. */
  async abandon(): Promise<void> {
    await this.writing;
    await this.handle?.close().catch(() => undefined);
    this.handle = null;
  }

  private cutSegment(): void {
    if (this.segmentUsed === 0) return;
    const buf = this.segment.subarray(0, this.segmentUsed);
    this.queue.push({ start: this.segmentStart, buf });
    this.segmentStart += this.segmentUsed;
    this.segment = this.segment.subarray(this.segmentUsed);
    this.segmentUsed = 0;
    if (this.segment.length < RECORD_HEADER_BYTES + 4096) this.segment = Buffer.allocUnsafe(SEGMENT_BYTES);
    this.pump();
  }

  private waitWritten(offset: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.writtenEnd >= offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ offset, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.writing || this.queue.length === 0 || this.failure) return;
    this.writing = this.writeQueue().then(
      () => {
        this.writing = null;
        this.pump();
      },
      (error: unknown) => {
        this.writing = null;
        const failure = error instanceof Error ? error : new Error(String(error));
        this.failure = failure;
        for (const waiter of this.waiters) waiter.reject(failure);
        this.waiters = [];
      },
    );
  }

  private async writeQueue(): Promise<void> {
    await this.after;
    if (!this.handle) {
      // A new shard directory is made durable in its parent here; the pack's own entry at the first sync().
      await ensureDirDurable(dirname(this.path));
      this.handle = await open(this.path, 'wx', 0o644);
    }
    for (let segment = this.queue[0]; segment; segment = this.queue[0]) {
      await writeAll(this.handle, segment.buf, segment.start);
      this.queue.shift();
      this.writtenEnd = segment.start + segment.buf.length;
      this.releaseWaiters();
    }
  }

  private releaseWaiters(): void {
    const ready = this.waiters.filter((w) => w.offset <= this.writtenEnd);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.offset > this.writtenEnd);
    for (const waiter of ready) waiter.resolve();
  }
}
