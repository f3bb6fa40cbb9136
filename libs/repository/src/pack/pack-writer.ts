import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ensureDirDurable, fsyncDir, writeAll } from '../durable-fs';
import { type ObjectId } from '../model';
import { encodePackHeader, type ObjectKind, type PackEntry, PACK_HEADER_BYTES, RECORD_HEADER_BYTES, writeRecordHeader } from './pack-format';

/** Records are gathered into segments of this size and written with one write call each. */
const SEGMENT_BYTES = 4 * 1024 * 1024;
/**
 * Data of at least this size is written from the caller's buffer instead of being copied into a segment: a file's
 * content as the receiver got it (a view of the frame it arrived in), whether a 1 MiB chunk or a small file's few
 * KiB. Copying it was a memory pass, and a fresh segment's page faults, per byte stored (in the benchmark's first
 * backup, 0.2-0.9 s of the receiver's CPU for the 30,000 small files, depending on what a page fault costs the
 * machine). Smaller data is copied: an iovec of its own would cost more than the copy.
 */
const BY_REFERENCE_BYTES = 512;
/** Queued buffers written by one writev, at most (Linux's IOV_MAX: two per record written by reference). */
const WRITEV_MAX_BUFFERS = 1024;

interface Segment {
  readonly start: number;
  readonly buf: Buffer;
  /** Memory a buffer queued by reference keeps alive until written (its whole ArrayBuffer); 0 for a segment's. */
  readonly pinned: number;
}

interface Waiter {
  readonly offset: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Bytes of a record's data, given whole or in parts. */
export function dataBytes(data: Buffer | readonly Buffer[]): number {
  if (Buffer.isBuffer(data)) return data.length;
  let length = 0;
  for (const part of data) length += part.length;
  return length;
}

/**
 * The pack currently being appended to. Appends are synchronous: record headers and small data are copied into
 * an in-memory segment; segments are written in order by one background loop with positional writes and writev,
 * so a burst of small blobs costs a few syscalls per MiB. Data of BY_REFERENCE_BYTES or more is not copied: its
 * buffer is queued as it is, behind the segment slice holding its record header, and written with it in one writev
 * (the caller must leave it unchanged). Records not yet written are served from memory.
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
  /** Sum of the queued buffers' `pinned`: a small blob may be a view of a much larger buffer (a basis chunk). */
  private pinnedBytes = 0;
  /**
   * The memory behind the last buffer queued by reference: the next view of it (a small file of the same socket
   * read) pins nothing more.
   */
  private lastPinned: ArrayBufferLike | null = null;
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

  /**
   * Appends one record; returns its entry (data offset). Synchronous: ids are indexed before any await. Data of
   * BY_REFERENCE_BYTES or more given as one buffer is kept by reference until written: it must not be modified
   * meanwhile. Data given in parts (a tree's runs of entries) is copied into a segment, whatever its size, so one
   * record is always written by one queued buffer or at once behind its header.
   */
  append(kind: ObjectKind, id: ObjectId, data: Buffer | readonly Buffer[]): PackEntry {
    if (Buffer.isBuffer(data) && data.length >= BY_REFERENCE_BYTES) return this.appendByReference(kind, id, data);
    const parts: readonly Buffer[] = Buffer.isBuffer(data) ? [data] : data;
    const length = dataBytes(data);
    const recordBytes = RECORD_HEADER_BYTES + length;
    if (this.segmentUsed + recordBytes > this.segment.length) {
      this.cutSegment();
      if (recordBytes > this.segment.length) this.segment = Buffer.allocUnsafe(Math.max(SEGMENT_BYTES, recordBytes));
    }
    writeRecordHeader(this.segment, this.segmentUsed, kind, id, length);
    let at = this.segmentUsed + RECORD_HEADER_BYTES;
    for (const part of parts) at += part.copy(this.segment, at);
    const entry: PackEntry = { kind, id, offset: this.appendEnd + RECORD_HEADER_BYTES, length };
    this.segmentUsed += recordBytes;
    this.appendEnd += recordBytes;
    this.entries.push(entry);
    if (this.segmentUsed >= SEGMENT_BYTES) this.cutSegment();
    return entry;
  }

  private appendByReference(kind: ObjectKind, id: ObjectId, data: Buffer): PackEntry {
    if (this.segmentUsed + RECORD_HEADER_BYTES > this.segment.length) this.cutSegment();
    writeRecordHeader(this.segment, this.segmentUsed, kind, id, data.length);
    this.segmentUsed += RECORD_HEADER_BYTES;
    this.appendEnd += RECORD_HEADER_BYTES;
    // The header leaves in the segment cut here, the data right behind it as its own queued buffer.
    this.cutSegment(false);
    const entry: PackEntry = { kind, id, offset: this.appendEnd, length: data.length };
    const pinned = data.buffer === this.lastPinned ? 0 : data.buffer.byteLength;
    this.lastPinned = data.buffer;
    this.queue.push({ start: this.segmentStart, buf: data, pinned });
    this.pinnedBytes += pinned;
    this.segmentStart += data.length;
    this.appendEnd += data.length;
    this.entries.push(entry);
    // Written once a segment's worth waits (or on sync and backpressure), as copied records are: a write per small
    // blob would cost an asynchronous call each. Also once a segment's worth of memory is kept alive by the queued
    // views, so a few hundred bytes taken from a 1 MiB buffer (the end of a delta's copy) cannot hold many MiB.
    if (this.appendEnd - this.writtenEnd >= SEGMENT_BYTES || this.pinnedBytes >= SEGMENT_BYTES) this.pump();
    return entry;
  }

  /** A copy of data not yet written to the file, or null when it must be read from the file. */
  readPending(offset: number, length: number, target?: Buffer): Buffer | null {
    if (offset >= this.segmentStart && offset + length <= this.segmentStart + this.segmentUsed) {
      const at = offset - this.segmentStart;
      return copyOut(this.segment.subarray(at, at + length), target);
    }
    // Queued buffers are contiguous in file order (two per record written by reference): the last one starting at or
    // before `offset` is the only one that can hold the record.
    let low = 0;
    let high = this.queue.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if ((this.queue[middle] as Segment).start <= offset) low = middle;
      else high = middle - 1;
    }
    const segment = this.queue[low];
    if (segment !== undefined && offset >= segment.start && offset + length <= segment.start + segment.buf.length) {
      const at = offset - segment.start;
      return copyOut(segment.buf.subarray(at, at + length), target);
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

  private cutSegment(pump = true): void {
    if (this.segmentUsed === 0) return;
    const buf = this.segment.subarray(0, this.segmentUsed);
    this.queue.push({ start: this.segmentStart, buf, pinned: 0 });
    this.segmentStart += this.segmentUsed;
    this.segment = this.segment.subarray(this.segmentUsed);
    this.segmentUsed = 0;
    if (this.segment.length < RECORD_HEADER_BYTES + 4096) this.segment = Buffer.allocUnsafe(SEGMENT_BYTES);
    if (pump) this.pump();
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
    while (this.queue.length > 0) {
      // Queued buffers are contiguous in the file: those at the head go out in one writev.
      const batch = this.queue.slice(0, WRITEV_MAX_BUFFERS);
      const start = (batch[0] as Segment).start;
      let total = 0;
      for (const segment of batch) total += segment.buf.length;
      let written = 0;
      if (batch.length > 1) ({ bytesWritten: written } = await this.handle.writev(batch.map((segment) => segment.buf), start));
      // A short writev (or a single buffer) is finished buffer by buffer.
      for (const segment of batch) {
        const end = segment.start + segment.buf.length;
        if (start + written < end) {
          const skip = Math.max(0, start + written - segment.start);
          await writeAll(this.handle, segment.buf.subarray(skip), segment.start + skip);
        }
      }
      this.queue.splice(0, batch.length);
      for (const segment of batch) this.pinnedBytes -= segment.pinned;
      this.writtenEnd = start + total;
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

/** A copy of pending bytes (they are not kept once written): into `target` when given, else a new buffer. */
function copyOut(bytes: Buffer, target: Buffer | undefined): Buffer {
  if (target === undefined) return Buffer.from(bytes);
  bytes.copy(target, 0);
  return target.subarray(0, bytes.length);
}
